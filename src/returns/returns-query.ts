import type { RedisClient as Redis } from '../runtime/redis-client.ts';
import { loadFxTable } from '../../actors/portfolio/portfolio-repository.ts';
import { readPortfolio } from '../../actors/portfolio/portfolio-read-model.ts';
import type { StreamKeys } from '../../streams/keys.ts';
import type { Knex } from '../db/knex.ts';
import { planHistory, type HistoryRange } from '../history/history-range.ts';
import { readAccountHistory, readHistory } from '../history/value-history-store.ts';
import { ApiError } from '../http/errors.ts';
import { convert } from '../portfolio/currency.ts';
import { convertAtDayRate } from '../portfolio/dated-fx.ts';
import { loadDatedFx } from '../market/fx-rate-store.ts';
import { add, dec, str, ZERO, type Decimal } from '../portfolio/decimal.ts';
import { currencyGainOf } from '../realtime/purchase-fx.ts';
import { normalizeTicker } from '../portfolio/security-identity.ts';
import { TRANSFER_MATCH_DAYS, type ActivityForReturns, type ReturnsScope } from './external-cash-flows.ts';
import { rangeReturns, type RangeReturns } from './range-returns.ts';
import type { TradeForRealized } from './realized-pl.ts';

/**
 * `GET /api/portfolio/returns` (I/O around the pure `rangeReturns`): the range's value points
 * (`readHistory`, the same points as `GET /api/portfolio/history`) plus the portfolio valued now as
 * the last one, the user's activities around the range (transfer legs a few days outside it too,
 * to pair them), the stored daily FX rates for activities in another currency (each at its day's
 * rate), and the current holdings for the unrealized P/L. An account's figures come from its
 * holdings and cash lines (its P/L at the price its brokerage last reported), its value points from
 * its daily closes (`account_daily_closes`; none within a day, so `1D` and `1W` have no account
 * returns, said in the marks).
 */
export interface ReturnsAnswer extends RangeReturns {
  range: HistoryRange;
  baseCurrency: string;
  accountId: string | null;
}

const DAY_MS = 86_400_000;

interface TradeRow {
  account_id: string;
  provider_activity_id: string;
  type: string;
  symbol: string | null;
  universal_symbol_id: string | null;
  units: string;
  price: string | null;
  currency: string | null;
  trade_date: Date;
}

/**
 * A stored trade for `realizedPl`: its security by SnapTrade's universal symbol id, else its ticker
 * (an activity without either is a security of its own, so a sale of it is never valued).
 */
function tradeForRealized(row: TradeRow): TradeForRealized {
  const security = row.universal_symbol_id !== null ? `id:${row.universal_symbol_id.trim().toLowerCase()}` : row.symbol !== null ? `ticker:${normalizeTicker(row.symbol)}` : `unknown:${row.provider_activity_id}`;
  return { accountId: row.account_id, security, type: row.type, units: row.units, price: row.price, currency: row.currency, at: row.trade_date, id: row.provider_activity_id };
}

export async function readReturns(db: Knex, redis: Redis, keys: StreamKeys, userId: string, range: HistoryRange, accountId: string | undefined, now: Date): Promise<ReturnsAnswer> {
  const { snapshot, totals } = await readPortfolio(db, redis, keys, userId);
  const baseCurrency = snapshot.baseCurrency;
  if (accountId !== undefined && !snapshot.accounts.some((account) => account.id === accountId)) {
    throw new ApiError('FS_NOT_FOUND', 'no such account');
  }
  const scope: ReturnsScope = accountId === undefined ? { kind: 'portfolio' } : { kind: 'account', accountId };
  const plan = planHistory(range, now);
  const rangeStart = plan.source === 'intraday' ? plan.from : new Date(plan.fromDay ? `${plan.fromDay}T00:00:00Z` : 0);

  const history =
    scope.kind === 'portfolio'
      ? await readHistory(db, userId, range, baseCurrency, now)
      : await readAccountHistory(db, userId, scope.accountId, range, baseCurrency, now);
  const points = history.map((point) => ({ at: new Date(point.at), value: point.totalValue }));
  if (scope.kind === 'portfolio') points.push({ at: now, value: totals.totalValue });
  const from = new Date(Math.min(points[0]?.at.getTime() ?? rangeStart.getTime(), rangeStart.getTime()) - TRANSFER_MATCH_DAYS * DAY_MS);

  const [rows, tradeRows, known, fx] = await Promise.all([
    db('activities')
      .where({ user_id: userId })
      .andWhere('trade_date', '>', from)
      .andWhere('trade_date', '<=', new Date(now.getTime() + TRANSFER_MATCH_DAYS * DAY_MS))
      .whereIn('type', ['deposit', 'withdrawal', 'transfer', 'dividend', 'interest'])
      .select('account_id', 'type', db.raw('amount::text AS amount'), 'currency', 'trade_date'),
    // Every trade up to now, however old: a sale's cost is the average of all the buys before it.
    db('activities')
      .where({ user_id: userId })
      .modify((q) => (accountId === undefined ? q : q.where({ account_id: accountId })))
      .andWhere('trade_date', '<=', now)
      .whereIn('type', ['buy', 'sell', 'split', 'transfer', 'other'])
      .whereNotNull('units')
      .select('account_id', 'provider_activity_id', 'type', 'symbol', 'universal_symbol_id', db.raw('units::text AS units'), db.raw('price::text AS price'), 'currency', 'trade_date') as Promise<TradeRow[]>,
    db('activities')
      .where({ user_id: userId })
      .modify((q) => (accountId === undefined ? q : q.where({ account_id: accountId })))
      .distinct('account_id')
      .pluck('account_id') as Promise<string[]>,
    loadFxTable(db),
  ]);
  const withActivities = new Set(known);
  const accountsWithoutActivities = snapshot.accounts
    .filter((account) => account.status !== 'closed' && (accountId === undefined || account.id === accountId) && !withActivities.has(account.id))
    .map((account) => `${account.institution} ${account.name}`);
  const activities: ActivityForReturns[] | null = withActivities.size > 0
    ? (rows as Array<{ account_id: string; type: ActivityForReturns['type']; amount: string | null; currency: string | null; trade_date: Date }>).map((row) => ({
        accountId: row.account_id,
        type: row.type,
        amount: row.amount,
        currency: row.currency,
        at: row.trade_date,
      }))
    : null;
  // Today's figures at today's rates; an activity at the rate of its day (a CAD deposit of March is
  // worth what it was worth in March, whatever the rate did since), or today's when it is older than
  // every stored day (the engine keeps rates from the day it first ran).
  const toBase = (amount: Decimal, currency: string): Decimal | null => convert(fx, amount, currency, baseCurrency).value;
  const trades = tradeRows.map(tradeForRealized);
  const currencies = new Set<string>([baseCurrency]);
  for (const activity of [...(activities ?? []), ...trades]) if (activity.currency !== null) currencies.add(activity.currency);
  const activityToBase = convertAtDayRate(await loadDatedFx(db, currencies), baseCurrency, fx);

  let currentValue = totals.totalValue;
  // The portfolio's P/L against its cost at the purchase days' rates where the purchases are known
  // (the sum of the holdings rows and the dashboard's header); totals alone are at today's rate.
  let unrealizedPl: string | null = totals.unrealizedPnl === null ? null : str(add(dec(totals.unrealizedPnl), dec(currencyGainOf(snapshot.holdings))));
  if (scope.kind === 'account') {
    // The account's part of each holding, its cash, and the unrealized P/L of its positions with a
    // known cost at the price its brokerage last reported (the portfolio's P/L is at live prices).
    let value: Decimal = ZERO;
    let pl: Decimal = ZERO;
    for (const holding of snapshot.holdings) {
      for (const share of holding.accounts) {
        if (share.accountId === accountId && share.marketValue !== null) value = add(value, toBase(dec(share.marketValue), holding.currency) ?? ZERO);
      }
    }
    const [cash, positions] = (await Promise.all([
      db('cash_balances').where({ user_id: userId, account_id: accountId }).select('currency', db.raw('amount::text AS amount')),
      db('account_positions')
        .where({ user_id: userId, account_id: accountId })
        .whereNotNull('price')
        .whereNotNull('average_cost')
        .groupBy('currency')
        .select('currency', db.raw('sum((price - average_cost) * quantity)::text AS amount')),
    ])) as Array<Array<{ currency: string; amount: string }>>;
    for (const line of cash!) value = add(value, toBase(dec(line.amount), line.currency) ?? ZERO);
    for (const line of positions!) pl = add(pl, toBase(dec(line.amount), line.currency) ?? ZERO);
    currentValue = value.toString();
    unrealizedPl = pl.toString();
    // The account valued now is its last point, after its daily closes.
    points.push({ at: now, value: currentValue });
  }

  const figures = rangeReturns({ scope, points, rangeStart, now, activities, accountsWithoutActivities, toBase: activityToBase, currentValue, unrealizedPl, trades });
  return { range, baseCurrency, accountId: accountId ?? null, ...figures };
}
