import type { Knex } from '../db/knex.ts';
import type { PortfolioTotals } from '../portfolio/index.ts';
import type { HistoryPointUpdate } from '../realtime/events.ts';
import { planHistory, type HistoryRange } from './history-range.ts';

/**
 * The value history in Postgres (migrations/20261203000000_portfolio_value_history.ts): intraday
 * points in `portfolio_snapshots` (one per user per minute), daily closes in
 * `portfolio_daily_closes` (one per user per day), the retention of the intraday points, and the
 * reads of `GET /api/portfolio/history`. Amounts are the base-currency totals as the actor or the
 * read model computed them (exact decimal text).
 */

/** A point as the history endpoint answers it (the socket's point without its currency; `day` on daily closes). */
export type HistoryPoint = Omit<HistoryPointUpdate, 'baseCurrency'> & { day?: string };

export interface ValueRow {
  userId: string;
  at: Date;
  totals: PortfolioTotals;
}

/** The value columns both tables share. */
function valueColumns(totals: PortfolioTotals) {
  return {
    base_currency: totals.baseCurrency,
    total_value: totals.totalValue,
    cash_value: totals.cash,
    invested_value: totals.investedValue,
    cost_basis: totals.costBasis,
    unrealized_pl: totals.unrealizedPnl,
    day_change: totals.dayChange,
  };
}

/** A minute's point per user (a second point in the same minute replaces the first). */
export async function writeIntradayPoints(db: Knex, rows: readonly ValueRow[]): Promise<void> {
  if (rows.length === 0) return;
  await db('portfolio_snapshots')
    .insert(
      rows.map(({ userId, at, totals }) => ({
        user_id: userId,
        taken_at: new Date(Math.floor(at.getTime() / 60_000) * 60_000),
        ...valueColumns(totals),
      })),
    )
    .onConflict(['user_id', 'taken_at'])
    .merge();
}

/** The day's close per user (written again on a rerun of the same day: the newer wins). */
export async function writeDailyCloses(db: Knex, day: string, rows: readonly ValueRow[]): Promise<void> {
  if (rows.length === 0) return;
  await db('portfolio_daily_closes')
    .insert(
      rows.map(({ userId, at, totals }) => ({
        user_id: userId,
        day,
        ...valueColumns(totals),
        holdings_count: totals.holdingsCount,
        day_change_holdings: totals.holdingsCount - totals.holdingsWithoutDayChange,
        taken_at: at,
      })),
    )
    .onConflict(['user_id', 'day'])
    .merge();
}

/** One account's value at a close (`accountValues`), in `baseCurrency`. */
export interface AccountValueRow {
  userId: string;
  accountId: string;
  baseCurrency: string;
  value: string;
  at: Date;
}

/** The day's close of each account (rerunning a day overwrites its rows). */
export async function writeAccountDailyCloses(db: Knex, day: string, rows: readonly AccountValueRow[]): Promise<void> {
  if (rows.length === 0) return;
  await db('account_daily_closes')
    .insert(rows.map((r) => ({ user_id: r.userId, account_id: r.accountId, day, base_currency: r.baseCurrency, total_value: r.value, taken_at: r.at })))
    .onConflict(['user_id', 'account_id', 'day'])
    .merge();
}

/**
 * An account's daily closes in `baseCurrency` over a range, oldest first: its value points for the
 * returns. Only daily ranges have them (an account's value is recorded at the daily close, not each
 * minute): `1D` and `1W` give none.
 */
export async function readAccountHistory(
  db: Knex,
  userId: string,
  accountId: string,
  range: HistoryRange,
  baseCurrency: string,
  now: Date,
): Promise<{ at: string; totalValue: string }[]> {
  const plan = planHistory(range, now);
  if (plan.source === 'intraday') return [];
  const { rows } = (await db.raw(
    `SELECT to_char(taken_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS at, trim_scale(total_value)::text AS "totalValue"
       FROM account_daily_closes
      WHERE user_id = ? AND account_id = ? AND day >= ?::date AND base_currency = ?
      ORDER BY day`,
    [userId, accountId, plan.fromDay ?? '0001-01-01', baseCurrency],
  )) as { rows: { at: string; totalValue: string }[] };
  return rows;
}

/**
 * Keeps the intraday points bounded: thins those older than a day to one per 15 minutes, deletes
 * those older than `retentionDays`. Returns the rows removed.
 */
export async function pruneIntradayPoints(db: Knex, now: Date, retentionDays: number): Promise<number> {
  const dayAgo = new Date(now.getTime() - 86_400_000);
  const cutoff = new Date(now.getTime() - retentionDays * 86_400_000);
  const deleted = await db('portfolio_snapshots').where('taken_at', '<', cutoff).delete();
  const thinned = await db('portfolio_snapshots')
    .where('taken_at', '<', dayAgo)
    .andWhere('taken_at', '>=', cutoff)
    .andWhereRaw(`extract(minute from taken_at)::int % 15 <> 0`)
    .delete();
  return deleted + thinned;
}

/** A point's columns as text from Postgres (no Date or numeric parsing per row on this side). */
const POINT_COLUMNS = `to_char(taken_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS at,
  trim_scale(total_value)::text AS "totalValue", trim_scale(invested_value)::text AS invested,
  trim_scale(cash_value)::text AS cash, trim_scale(cost_basis)::text AS "costBasis",
  trim_scale(unrealized_pl)::text AS "unrealizedPl", trim_scale(day_change)::text AS "dayChange"`;

/** A range of the user's history in `baseCurrency`, oldest first (points in another currency are left out). */
export async function readHistory(db: Knex, userId: string, range: HistoryRange, baseCurrency: string, now: Date): Promise<HistoryPoint[]> {
  const plan = planHistory(range, now);
  if (plan.source === 'intraday') {
    // The last point of each bucket (date_bin from a fixed origin), oldest bucket first.
    // bucketMinutes is the plan's integer, never input: inlined, so DISTINCT ON and ORDER BY match.
    const bucket = `date_bin(interval '${Math.trunc(plan.bucketMinutes)} minutes', taken_at, timestamptz '2000-01-01T00:00:00Z')`;
    const { rows } = (await db.raw(
      `SELECT ${POINT_COLUMNS} FROM (
         SELECT DISTINCT ON (${bucket})
                taken_at, total_value, invested_value, cash_value, cost_basis, unrealized_pl, day_change
           FROM portfolio_snapshots
          WHERE user_id = ? AND base_currency = ? AND taken_at >= ? AND taken_at <= ?
          ORDER BY ${bucket}, taken_at DESC
       ) buckets ORDER BY taken_at`,
      [userId, baseCurrency, plan.from, now],
    )) as { rows: HistoryPoint[] };
    return rows;
  }
  const { rows } = (await db.raw(
    `SELECT ${POINT_COLUMNS}, to_char(day, 'YYYY-MM-DD') AS day
       FROM portfolio_daily_closes
      WHERE user_id = ? AND day >= ?::date AND base_currency = ?
      ORDER BY day`,
    [userId, plan.fromDay ?? '0001-01-01', baseCurrency],
  )) as { rows: HistoryPoint[] };
  return rows;
}

/**
 * The base currencies other than `baseCurrency` that the user's points in the range were taken in:
 * what `readHistory` leaves out since the user changed their base (sorted; empty when none).
 */
export async function otherHistoryCurrencies(db: Knex, userId: string, range: HistoryRange, baseCurrency: string, now: Date): Promise<string[]> {
  const plan = planHistory(range, now);
  const query =
    plan.source === 'intraday'
      ? db('portfolio_snapshots').where({ user_id: userId }).andWhere('taken_at', '>=', plan.from).andWhere('taken_at', '<=', now)
      : db('portfolio_daily_closes').where({ user_id: userId }).andWhere('day', '>=', plan.fromDay ?? '0001-01-01');
  const rows = (await query.andWhereNot({ base_currency: baseCurrency }).distinct('base_currency')) as { base_currency: string }[];
  return rows.map((r) => r.base_currency.trim()).sort();
}
