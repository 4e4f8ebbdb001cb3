import type { Knex } from '../db/knex.ts';
import { ApiError } from '../http/errors.ts';
import { canonical } from '../portfolio/decimal.ts';
import type { ActivityType, ActivityView, NormalizedActivity } from './activity.ts';

/**
 * The `activities` rows: how a normalised activity is written (by the actor, `activity-projection.ts`)
 * and read back (the API), and the user's activities newest first, filtered and keyset-paged
 * on (trade_date, account_id, provider_activity_id): stable while activities are added.
 */

type Row = Record<string, unknown>;

const decimalOrNull = (value: unknown): string | null => (value === null || value === undefined ? null : canonical(String(value)));

function dayText(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  // A `date` column comes back as a local-midnight Date from node-postgres; its local day is the day.
  if (value instanceof Date) {
    const pad = (n: number) => String(n).padStart(2, '0');
    return `${value.getFullYear()}-${pad(value.getMonth() + 1)}-${pad(value.getDate())}`;
  }
  return String(value).slice(0, 10);
}

export function activityFromRow(row: Row): ActivityView {
  return {
    accountId: row.account_id as string,
    provider: row.provider as ActivityView['provider'],
    providerActivityId: row.provider_activity_id as string,
    type: row.type as ActivityType,
    providerType: row.provider_type as string,
    tradeDate: (row.trade_date instanceof Date ? row.trade_date : new Date(String(row.trade_date))).toISOString(),
    settlementDate: dayText(row.settlement_date),
    symbol: (row.symbol as string | null) ?? null,
    universalSymbolId: (row.universal_symbol_id as string | null) ?? null,
    units: decimalOrNull(row.units),
    price: decimalOrNull(row.price),
    amount: decimalOrNull(row.amount),
    fee: decimalOrNull(row.fee),
    currency: row.currency === null || row.currency === undefined ? null : String(row.currency).trim(),
    amountSymbol: (row.amount_symbol as string | null) ?? null,
    description: (row.description as string | null) ?? null,
    externalReferenceId: (row.external_reference_id as string | null) ?? null,
  };
}

/** The row a normalised activity of `accountId` is stored as. */
export function activityToRow(userId: string, accountId: string, provider: ActivityView['provider'], a: NormalizedActivity): Row {
  return {
    account_id: accountId,
    user_id: userId,
    provider,
    provider_activity_id: a.providerActivityId,
    type: a.type,
    provider_type: a.providerType,
    trade_date: a.tradeDate,
    settlement_date: a.settlementDate,
    symbol: a.symbol,
    universal_symbol_id: a.universalSymbolId,
    units: a.units,
    price: a.price,
    amount: a.amount,
    fee: a.fee,
    currency: a.currency,
    amount_symbol: a.amountSymbol,
    description: a.description,
    external_reference_id: a.externalReferenceId,
  };
}

export interface ActivityListFilter {
  accountId?: string | undefined;
  type?: readonly ActivityType[] | undefined;
  /** Inclusive: activities on or after this day (`YYYY-MM-DD`, UTC). */
  from?: string | undefined;
  /** Inclusive: activities on or before this day (`YYYY-MM-DD`, UTC). */
  to?: string | undefined;
  limit: number;
  cursor?: string | undefined;
}

interface Cursor {
  tradeDate: string;
  accountId: string;
  providerActivityId: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const BAD_CURSOR = 'cursor: not a cursor this API gave (use nextCursor as it came)';

function encodeCursor(cursor: Cursor): string {
  return Buffer.from(JSON.stringify([cursor.tradeDate, cursor.accountId, cursor.providerActivityId]), 'utf8').toString('base64url');
}

function decodeCursor(text: string): Cursor {
  let parts: unknown;
  try {
    parts = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    throw new ApiError('FS_VALIDATION', BAD_CURSOR);
  }
  if (!Array.isArray(parts) || parts.length !== 3 || !parts.every((p) => typeof p === 'string')) throw new ApiError('FS_VALIDATION', BAD_CURSOR);
  const [tradeDate, accountId, providerActivityId] = parts as [string, string, string];
  if (Number.isNaN(Date.parse(tradeDate)) || !UUID.test(accountId) || providerActivityId === '') throw new ApiError('FS_VALIDATION', BAD_CURSOR);
  return { tradeDate, accountId, providerActivityId };
}

/** The user's activities, newest first (then by account and provider id), one page. */
export async function listActivities(
  db: Knex,
  userId: string,
  filter: ActivityListFilter,
): Promise<{ activities: ActivityView[]; nextCursor: string | null }> {
  const query = db('activities').where({ user_id: userId });
  if (filter.accountId) query.where({ account_id: filter.accountId });
  if (filter.type?.length) query.whereIn('type', filter.type);
  if (filter.from) query.where('trade_date', '>=', `${filter.from}T00:00:00Z`);
  if (filter.to) query.whereRaw(`trade_date < ((?::date + 1)::timestamp AT TIME ZONE 'UTC')`, [filter.to]);
  if (filter.cursor) {
    const c = decodeCursor(filter.cursor);
    query.whereRaw('(trade_date, account_id, provider_activity_id) < (?::timestamptz, ?::uuid, ?)', [c.tradeDate, c.accountId, c.providerActivityId]);
  }
  // The cursor keeps Postgres's own text of trade_date: microseconds a JS Date would drop.
  const rows: Row[] = await query
    .select('*', db.raw('trade_date::text AS trade_date_text'))
    .orderBy([
      { column: 'trade_date', order: 'desc' },
      { column: 'account_id', order: 'desc' },
      { column: 'provider_activity_id', order: 'desc' },
    ])
    .limit(filter.limit + 1);
  const page = rows.slice(0, filter.limit);
  const last = page[page.length - 1];
  const nextCursor =
    rows.length > filter.limit && last
      ? encodeCursor({ tradeDate: String(last.trade_date_text), accountId: String(last.account_id), providerActivityId: String(last.provider_activity_id) })
      : null;
  return { activities: page.map(activityFromRow), nextCursor };
}
