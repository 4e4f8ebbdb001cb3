import type { Knex } from '../db/knex.ts';
import type { FxTable } from '../portfolio/index.ts';
import { loadFxTable } from '../../actors/portfolio/portfolio-repository.ts';
import { providerKey } from '../../actors/portfolio/portfolio-projection.ts';
import { accountShares, comparableDecimal, comparableOrder, SETTINGS_KEY, type ComparableState } from './portfolio-diff.ts';
import { DEFAULT_BASE_CURRENCY } from '../users/settings-event.ts';
import { orderFromRow } from '../trading/order-queries.ts';
import { userHash } from '../users/user-hash.ts';

/** The user's committed projection in Postgres, in the shape a replay compares. */
export interface LiveState {
  exists: boolean;
  /** No users row and a deletion tombstone: deleted here. */
  tombstoned: boolean;
  baseCurrency: string;
  fx: FxTable;
  /** When the current SnapTrade registration was made (a fact of the fold, see ProjectionFacts). */
  snaptradeRegisteredAt: string | null;
  /** Account row id -> provider key (removed accounts included: old holdings rows may name them). */
  accountKeys: Map<string, string>;
  comparable: ComparableState;
}

/** Users loaded per batch of queries (each query binds one parameter per user; Postgres takes at most 65,535). */
const BATCH = 1_000;

export async function loadLiveState(db: Knex, userId: string): Promise<LiveState> {
  return (await loadLiveStates(db, [userId])).get(userId)!;
}

/**
 * The live states of many users with a handful of queries per batch of users (not a handful per
 * user): what the dry run of a whole partition reads in its snapshot.
 */
export async function loadLiveStates(db: Knex, userIds: readonly string[]): Promise<Map<string, LiveState>> {
  const out = new Map<string, LiveState>();
  const fx = await loadFxTable(db);
  for (let i = 0; i < userIds.length; i += BATCH) {
    for (const [user, live] of await loadBatch(db, userIds.slice(i, i + BATCH), fx)) out.set(user, live);
  }
  return out;
}

/** Rows grouped by their user. */
function byUser<T extends { user_id: string }>(rows: readonly T[]): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const row of rows) {
    const list = out.get(row.user_id);
    if (list) list.push(row);
    else out.set(row.user_id, [row]);
  }
  return out;
}

async function loadBatch(db: Knex, userIds: readonly string[], fx: FxTable): Promise<Map<string, LiveState>> {
  const ids = [...new Set(userIds)];
  const users = new Map(((await db('users').whereIn('id', ids).select('id', 'base_currency')) as { id: string; base_currency: string | null }[]).map((u) => [u.id, u]));
  const hashes = new Map(ids.filter((id) => !users.has(id)).map((id) => [userHash(id), id]));
  const tombstones = new Set(hashes.size ? ((await db('deleted_users').whereIn('user_hash', [...hashes.keys()]).pluck('user_hash')) as string[]).map((h) => hashes.get(h)!) : []);
  const registrations = new Map(((await db('snaptrade_users').whereIn('user_id', ids).select('user_id', 'registered_at')) as { user_id: string; registered_at: Date }[]).map((r) => [r.user_id, r.registered_at]));
  const connections = byUser(await db('brokerage_connections').whereIn('user_id', ids).select('user_id', 'id', 'provider', 'external_id', 'brokerage_name', 'status'));
  const accounts = byUser(await db('accounts').whereIn('user_id', ids));
  const holdings = byUser(
    await db('holdings as h')
      .join('securities as s', 's.id', 'h.security_id')
      .whereIn('h.user_id', ids)
      .select('h.user_id', 's.identity_key', 's.ticker', 'h.currency', 'h.quantity', 'h.average_cost', 'h.cost_basis', 'h.account_count', 'h.accounts'),
  );
  const orders = byUser(await db('orders').whereIn('user_id', ids));
  const out = new Map<string, LiveState>();
  for (const userId of ids) {
    const user = users.get(userId);
    const connectionRows = connections.get(userId) ?? [];
    const accountRows = accounts.get(userId) ?? [];
    const connectionKeys = new Map<string, string>(connectionRows.map((c) => [c.id as string, providerKey(c.provider, c.external_id)]));
    const accountKeys = new Map<string, string>(accountRows.map((a) => [a.id as string, providerKey(a.provider, a.external_id)]));
    const baseCurrency = user?.base_currency?.trim() ?? DEFAULT_BASE_CURRENCY;
    const comparable: ComparableState = {
      connections: new Map(),
      accounts: new Map(),
      holdings: new Map(),
      orders: new Map(),
      settings: new Map([[SETTINGS_KEY, { baseCurrency }]]),
    };
    for (const row of orders.get(userId) ?? []) {
      const order = orderFromRow(row);
      comparable.orders.set(order.id, comparableOrder(order, accountKeys));
    }
    for (const c of connectionRows) {
      comparable.connections.set(providerKey(c.provider, c.external_id), { status: c.status, brokerageName: c.brokerage_name ?? null });
    }
    for (const a of accountRows) {
      if (a.status === 'removed') continue;
      comparable.accounts.set(providerKey(a.provider, a.external_id), {
        connection: connectionKeys.get(a.connection_id) ?? `unknown:${a.connection_id as string}`,
        name: a.name ?? null,
        institution: a.institution_name,
        currency: (a.currency as string).trim(),
        positionsAsOf: a.positions_as_of ? (a.positions_as_of as Date).toISOString() : null,
      });
    }
    for (const h of holdings.get(userId) ?? []) {
      const shares = (h.accounts as { accountId: string; quantity: string }[]).map((s) => ({
        account: accountKeys.get(s.accountId) ?? `unknown:${s.accountId}`,
        quantity: s.quantity,
      }));
      comparable.holdings.set(h.identity_key, {
        symbol: h.ticker,
        currency: (h.currency as string).trim(),
        quantity: comparableDecimal(h.quantity)!,
        averageCost: comparableDecimal(h.average_cost),
        costBasis: comparableDecimal(h.cost_basis),
        accountCount: h.account_count,
        accounts: accountShares(shares),
      });
    }
    const registeredAt = registrations.get(userId);
    out.set(userId, {
      exists: Boolean(user),
      tombstoned: !user && tombstones.has(userId),
      baseCurrency,
      fx,
      snaptradeRegisteredAt: registeredAt ? registeredAt.toISOString() : null,
      accountKeys,
      comparable,
    });
  }
  return out;
}
