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

export async function loadLiveState(db: Knex, userId: string): Promise<LiveState> {
  const user = await db('users').where({ id: userId }).first('base_currency');
  const tombstone = user ? undefined : await db('deleted_users').where({ user_hash: userHash(userId) }).first('user_hash');
  const registration = await db('snaptrade_users').where({ user_id: userId }).first('registered_at');
  const connectionRows = await db('brokerage_connections')
    .where({ user_id: userId })
    .select('id', 'provider', 'external_id', 'brokerage_name', 'status');
  const connectionKeys = new Map<string, string>(connectionRows.map((c) => [c.id as string, providerKey(c.provider, c.external_id)]));
  const accountRows = await db('accounts').where({ user_id: userId });
  const accountKeys = new Map<string, string>(accountRows.map((a) => [a.id as string, providerKey(a.provider, a.external_id)]));
  const holdingRows = await db('holdings as h')
    .join('securities as s', 's.id', 'h.security_id')
    .where('h.user_id', userId)
    .select('s.identity_key', 's.ticker', 'h.currency', 'h.quantity', 'h.average_cost', 'h.cost_basis', 'h.account_count', 'h.accounts');
  const baseCurrency = (user?.base_currency as string | undefined)?.trim() ?? DEFAULT_BASE_CURRENCY;
  const comparable: ComparableState = {
    connections: new Map(),
    accounts: new Map(),
    holdings: new Map(),
    orders: new Map(),
    settings: new Map([[SETTINGS_KEY, { baseCurrency }]]),
  };
  for (const row of await db('orders').where({ user_id: userId })) {
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
  for (const h of holdingRows) {
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
  return {
    exists: Boolean(user),
    tombstoned: !user && Boolean(tombstone),
    baseCurrency,
    fx: await loadFxTable(db),
    snaptradeRegisteredAt: registration ? (registration.registered_at as Date).toISOString() : null,
    accountKeys,
    comparable,
  };
}
