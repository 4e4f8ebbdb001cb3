import { aggregateHoldings, dec, type AccountPositions, type FxTable } from '../portfolio/index.ts';
import { settle, type PortfolioProjection } from '../../actors/portfolio/portfolio-projection.ts';
import type { OrderRecord } from '../trading/order-state.ts';

/**
 * The facts a replay compares, in one shape for both sides: the live projection (rows in
 * Postgres) and the rebuilt one (the fold of the stream). Keys are `provider:externalId` for
 * connections and accounts and the canonical identity key for holdings. Holdings are compared on
 * what the events determine (quantity, cost, listing currency, the accounts holding them and how
 * much each); prices and market values move with every tick and FX refresh, so they are not. The
 * user's settings (the base currency) are one entry, key `user`.
 */
export type ComparableConnection = {
  status: string;
  brokerageName: string | null;
};

export type ComparableAccount = {
  connection: string;
  name: string | null;
  institution: string;
  currency: string;
  positionsAsOf: string | null;
};

export type ComparableHolding = {
  symbol: string;
  currency: string;
  quantity: string;
  averageCost: string | null;
  costBasis: string | null;
  accountCount: number;
  /** `accountKey=quantity` per account, sorted, joined with `; `. */
  accounts: string;
};

/** An order by our order id: what its events decide (not the request's own echo fields). */
export type ComparableOrder = {
  account: string;
  symbol: string;
  side: string;
  quantity: string | null;
  status: string;
  filledQuantity: string;
  averageFillPrice: string | null;
  brokerageOrderId: string | null;
};

/** The user's settings (one entry, key `user`): what `settings.changed` events decide. */
export type ComparableSettings = {
  baseCurrency: string;
};

export interface ComparableState {
  connections: Map<string, ComparableConnection>;
  accounts: Map<string, ComparableAccount>;
  holdings: Map<string, ComparableHolding>;
  orders: Map<string, ComparableOrder>;
  settings: Map<string, ComparableSettings>;
}

/** The key of the one settings entry. */
export const SETTINGS_KEY = 'user';

/** An order's fields in comparable form; `account` is mapped from a row id to a provider key when it is one. */
export function comparableOrder(order: OrderRecord, accountKeys: ReadonlyMap<string, string>): ComparableOrder {
  return {
    account: accountKeys.get(order.accountId) ?? order.accountId,
    symbol: order.symbol,
    side: order.side,
    quantity: comparableDecimal(order.quantity),
    status: order.status,
    filledQuantity: comparableDecimal(order.filledQuantity)!,
    averageFillPrice: comparableDecimal(order.averageFillPrice),
    brokerageOrderId: order.brokerageOrderId,
  };
}

export interface FieldChange {
  field: string;
  live: unknown;
  rebuilt: unknown;
}

export interface EntityDiff<T> {
  /** In the rebuilt state, missing live. */
  added: { key: string; rebuilt: T }[];
  /** Live, missing from the rebuilt state. */
  removed: { key: string; live: T }[];
  changed: { key: string; fields: FieldChange[] }[];
}

export interface PortfolioDiff {
  holdings: EntityDiff<ComparableHolding>;
  accounts: EntityDiff<ComparableAccount>;
  connections: EntityDiff<ComparableConnection>;
  orders: EntityDiff<ComparableOrder>;
  settings: EntityDiff<ComparableSettings>;
}

/** Postgres keeps 12 decimal places: both sides are compared at that scale. */
export function comparableDecimal(value: string | number | null | undefined): string | null {
  if (value === null || value === undefined) return null;
  return dec(value).round(12, 1).toString();
}

/** The rebuilt projection in comparable form; holdings aggregated with the given FX table. */
export function comparableProjection(
  projection: PortfolioProjection,
  options: { baseCurrency: string; fx: FxTable; accountKeys?: ReadonlyMap<string, string> },
): ComparableState {
  settle(projection);
  const connections = new Map<string, ComparableConnection>();
  for (const [key, c] of projection.connections) connections.set(key, { status: c.status, brokerageName: c.brokerageName });
  const accounts = new Map<string, ComparableAccount>();
  const byAccount = new Map<string, AccountPositions>();
  for (const [key, a] of projection.accounts) {
    accounts.set(key, {
      connection: a.connection,
      name: a.name,
      institution: a.institution,
      currency: a.currency,
      positionsAsOf: a.positionsAsOf,
    });
    const positions = projection.positions.get(key);
    if (positions) {
      byAccount.set(key, { institution: a.institution, currency: a.currency, ...positions });
    }
  }
  const portfolio = aggregateHoldings(byAccount, { baseCurrency: options.baseCurrency, fx: options.fx });
  const holdings = new Map<string, ComparableHolding>();
  for (const h of portfolio.holdings.values()) {
    holdings.set(h.identityKey, {
      symbol: h.security.ticker,
      currency: h.currency,
      quantity: comparableDecimal(h.quantity)!,
      averageCost: comparableDecimal(h.averageCost),
      costBasis: comparableDecimal(h.costBasis),
      accountCount: h.accountCount,
      accounts: accountShares(h.accounts.map((a) => ({ account: a.accountId, quantity: a.quantity }))),
    });
  }
  const orders = new Map<string, ComparableOrder>();
  for (const order of projection.orders.values()) orders.set(order.id, comparableOrder(order, options.accountKeys ?? new Map()));
  const settings = new Map([[SETTINGS_KEY, { baseCurrency: projection.baseCurrency }]]);
  return { connections, accounts, holdings, orders, settings };
}

export function accountShares(shares: readonly { account: string; quantity: string | number }[]): string {
  return shares
    .map((s) => `${s.account}=${comparableDecimal(s.quantity)}`)
    .sort()
    .join('; ');
}

function diffMaps<T extends object>(live: ReadonlyMap<string, T>, rebuilt: ReadonlyMap<string, T>): EntityDiff<T> {
  const diff: EntityDiff<T> = { added: [], removed: [], changed: [] };
  for (const [key, value] of rebuilt) {
    const before = live.get(key);
    if (!before) {
      diff.added.push({ key, rebuilt: value });
      continue;
    }
    const fields: FieldChange[] = [];
    for (const field of Object.keys(value) as (keyof T & string)[]) {
      if (before[field] !== value[field]) fields.push({ field, live: before[field], rebuilt: value[field] });
    }
    if (fields.length) diff.changed.push({ key, fields });
  }
  for (const [key, value] of live) if (!rebuilt.has(key)) diff.removed.push({ key, live: value });
  const byKey = (a: { key: string }, b: { key: string }) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
  diff.added.sort(byKey);
  diff.removed.sort(byKey);
  diff.changed.sort(byKey);
  return diff;
}

/** What differs between the live and the rebuilt state; empty lists when they match. */
export function diffPortfolios(live: ComparableState, rebuilt: ComparableState): PortfolioDiff {
  return {
    holdings: diffMaps(live.holdings, rebuilt.holdings),
    accounts: diffMaps(live.accounts, rebuilt.accounts),
    connections: diffMaps(live.connections, rebuilt.connections),
    orders: diffMaps(live.orders, rebuilt.orders),
    settings: diffMaps(live.settings, rebuilt.settings),
  };
}

export function diffCount(diff: PortfolioDiff): number {
  let n = 0;
  for (const part of [diff.holdings, diff.accounts, diff.connections, diff.orders, diff.settings]) n += part.added.length + part.removed.length + part.changed.length;
  return n;
}
