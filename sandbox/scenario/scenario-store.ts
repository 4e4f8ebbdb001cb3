import { randomBytes } from 'node:crypto';
import { createRandom, seededUuid } from '../market/seeded-random.ts';
import { findBrokerage, type SandboxBrokerage } from './brokerages.ts';

/**
 * The sandbox's world: SnapTrade users, their brokerage authorizations (connections), the
 * accounts of each connection with positions and cash, orders, pending trade impacts, and the
 * activities (transactions) each account reports.
 * In memory, synchronous, no I/O: the HTTP layers and the scenario engine read and change it.
 *
 * Ids are derived from the seed and the order of operations, so the same script against the
 * same seed produces the same ids.
 */
export interface SandboxUser {
  userId: string;
  userSecret: string;
  createdAt: Date;
}

export interface SandboxAuthorization {
  id: string;
  userId: string;
  brokerage: SandboxBrokerage;
  type: 'read' | 'trade';
  createdAt: Date;
  disabled: boolean;
  disabledAt: Date | null;
  lastRefreshAt: Date | null;
  /** Until this time (epoch ms) the connection's holdings answer 425 (initial sync running). */
  populatingUntil: number;
}

export interface SandboxPosition {
  symbol: string;
  units: number;
  /** Average purchase price per unit, in the position's currency. */
  averageCost: number;
}

export interface SandboxAccount {
  id: string;
  userId: string;
  authorizationId: string;
  brokerage: SandboxBrokerage;
  name: string;
  number: string;
  rawType: string;
  currency: string;
  createdAt: Date;
  /** Cash by currency code. */
  cash: Map<string, number>;
  positions: Map<string, SandboxPosition>;
  /** Last time the holdings "synced" (SnapTrade's `sync_status.holdings.last_successful_sync`). */
  holdingsSyncedAt: Date;
}

export type SandboxOrderStatus = 'ACCEPTED' | 'EXECUTED' | 'CANCELED' | 'REJECTED';

export interface SandboxOrder {
  brokerageOrderId: string;
  accountId: string;
  symbol: string;
  action: 'BUY' | 'SELL';
  orderType: 'Market' | 'Limit' | 'Stop' | 'StopLimit';
  timeInForce: string;
  units: number;
  limitPrice: number | null;
  stopPrice: number | null;
  status: SandboxOrderStatus;
  filledUnits: number;
  executionPrice: number | null;
  placedAt: Date;
  updatedAt: Date;
  executedAt: Date | null;
  clientOrderId: string | null;
}

export interface PendingTrade {
  id: string;
  accountId: string;
  userId: string;
  symbol: string;
  action: 'BUY' | 'SELL';
  orderType: 'Market' | 'Limit' | 'Stop' | 'StopLimit';
  timeInForce: string;
  units: number;
  price: number | null;
  stop: number | null;
  expiresAt: number;
}

/**
 * A transaction the brokerage reports for an account (SnapTrade's UniversalActivity): a trade,
 * a dividend, a contribution... Amounts are in `currency`; negative ones take cash out.
 */
export interface SandboxActivity {
  id: string;
  accountId: string;
  /** SnapTrade's activity type: BUY, SELL, DIVIDEND, CONTRIBUTION, WITHDRAWAL, FEE, INTEREST... */
  type: string;
  /** The security, or null for cash-only activities. */
  symbol: string | null;
  units: number;
  price: number;
  amount: number | null;
  fee: number;
  currency: string;
  description: string;
  tradeDate: Date;
  settlementDate: Date;
  /** Groups the activities of one order (the brokerage order id for sandbox fills). */
  externalReferenceId: string | null;
  fxRate: number | null;
}

/** What is needed to record an activity; the rest has defaults (now, no symbol, no fee). */
export interface ActivityInput {
  type: string;
  currency: string;
  amount: number | null;
  symbol?: string | null;
  units?: number;
  price?: number;
  fee?: number;
  description?: string;
  tradeDate?: Date;
  settlementDate?: Date;
  externalReferenceId?: string | null;
  fxRate?: number | null;
}

export interface AccountInput {
  name?: string;
  rawType?: string;
  currency?: string;
  cash?: Record<string, number>;
  positions?: SandboxPosition[];
}

export class ScenarioStore {
  readonly users = new Map<string, SandboxUser>();
  readonly authorizations = new Map<string, SandboxAuthorization>();
  readonly accounts = new Map<string, SandboxAccount>();
  readonly orders = new Map<string, SandboxOrder>();
  readonly pendingTrades = new Map<string, PendingTrade>();
  /** Activities by account id, in the order they were recorded. */
  readonly activities = new Map<string, SandboxActivity[]>();
  /** Per-kind counters that make seeded ids unique and reproducible. */
  private readonly counters = new Map<string, number>();

  constructor(readonly seed: number) {}

  /** Next value of a named counter (0, 1, 2, ...). */
  next(kind: string): number {
    const n = this.counters.get(kind) ?? 0;
    this.counters.set(kind, n + 1);
    return n;
  }

  seededId(kind: string, ...parts: Array<string | number>): string {
    return seededUuid(this.seed, kind, ...parts, this.next(`${kind}:${parts.join(':')}`));
  }

  // --- users -------------------------------------------------------------------------------

  registerUser(userId: string, now = new Date()): SandboxUser {
    const user: SandboxUser = {
      userId,
      // A credential: random even under a fixed seed, so one sandbox's secrets never work on another.
      userSecret: randomBytes(18).toString('base64url'),
      createdAt: now,
    };
    this.users.set(userId, user);
    return user;
  }

  /** A new secret for the user; the old one stops working at once. */
  resetUserSecret(userId: string): SandboxUser {
    const user = this.users.get(userId);
    if (!user) throw new RangeError(`unknown user ${userId}`);
    user.userSecret = randomBytes(18).toString('base64url');
    return user;
  }

  deleteUser(userId: string): boolean {
    if (!this.users.delete(userId)) return false;
    for (const auth of this.authorizationsOf(userId)) this.removeAuthorization(auth.id);
    return true;
  }

  // --- connections and accounts ------------------------------------------------------------

  authorizationsOf(userId: string): SandboxAuthorization[] {
    return [...this.authorizations.values()].filter((a) => a.userId === userId);
  }

  accountsOf(userId: string): SandboxAccount[] {
    return [...this.accounts.values()].filter((a) => a.userId === userId);
  }

  accountsOfAuthorization(authorizationId: string): SandboxAccount[] {
    return [...this.accounts.values()].filter((a) => a.authorizationId === authorizationId);
  }

  /** How many connections this user has made to this brokerage so far (seeds reconnections). */
  connectionCount(userId: string, brokerageSlug: string): number {
    return this.counters.get(`connection:${userId}:${brokerageSlug}`) ?? 0;
  }

  createAuthorization(
    userId: string,
    brokerageSlug: string,
    options: { type?: 'read' | 'trade'; populatingForMs?: number; now?: Date } = {},
  ): SandboxAuthorization {
    const brokerage = findBrokerage(brokerageSlug);
    if (!brokerage) throw new RangeError(`unknown brokerage ${brokerageSlug}`);
    const now = options.now ?? new Date();
    this.next(`connection:${userId}:${brokerage.slug}`);
    const auth: SandboxAuthorization = {
      id: this.seededId('authorization', userId, brokerage.slug),
      userId,
      brokerage,
      type: options.type ?? 'read',
      createdAt: now,
      disabled: false,
      disabledAt: null,
      lastRefreshAt: null,
      populatingUntil: now.getTime() + (options.populatingForMs ?? 0),
    };
    this.authorizations.set(auth.id, auth);
    return auth;
  }

  addAccount(auth: SandboxAuthorization, input: AccountInput, now = new Date()): SandboxAccount {
    const id = this.seededId('account', auth.id);
    const numberRandom = createRandom(this.seed, 'account-number', id);
    const currency = (input.currency ?? auth.brokerage.currency).toUpperCase();
    const account: SandboxAccount = {
      id,
      userId: auth.userId,
      authorizationId: auth.id,
      brokerage: auth.brokerage,
      name: input.name ?? `${auth.brokerage.name} ${input.rawType ?? 'Account'}`,
      number: String(Math.floor(10_000_000 + numberRandom() * 89_999_999)),
      rawType: input.rawType ?? 'Individual',
      currency,
      createdAt: now,
      cash: new Map(Object.entries(input.cash ?? { [currency]: 0 }).map(([c, v]) => [c.toUpperCase(), v])),
      positions: new Map((input.positions ?? []).map((p) => [p.symbol, { ...p }])),
      holdingsSyncedAt: now,
    };
    this.accounts.set(id, account);
    return account;
  }

  removeAuthorization(authorizationId: string): SandboxAccount[] {
    const removed = this.accountsOfAuthorization(authorizationId);
    for (const account of removed) {
      this.accounts.delete(account.id);
      this.activities.delete(account.id);
      for (const [id, order] of this.orders) if (order.accountId === account.id) this.orders.delete(id);
    }
    this.authorizations.delete(authorizationId);
    return removed;
  }

  // --- holdings ----------------------------------------------------------------------------

  /** Replace an account's positions (and optionally its cash). Units of 0 drop a position. */
  setPositions(accountId: string, positions: SandboxPosition[], cash?: Record<string, number>, now = new Date()): SandboxAccount {
    const account = this.requireAccount(accountId);
    account.positions = new Map(positions.filter((p) => p.units !== 0).map((p) => [p.symbol, { ...p }]));
    if (cash) account.cash = new Map(Object.entries(cash).map(([c, v]) => [c.toUpperCase(), v]));
    account.holdingsSyncedAt = now;
    return account;
  }

  /** Add, change or (units 0) remove one position. */
  upsertPosition(accountId: string, position: SandboxPosition, now = new Date()): SandboxAccount {
    const account = this.requireAccount(accountId);
    if (position.units === 0) account.positions.delete(position.symbol);
    else account.positions.set(position.symbol, { ...position });
    account.holdingsSyncedAt = now;
    return account;
  }

  setCash(accountId: string, currency: string, amount: number, now = new Date()): SandboxAccount {
    const account = this.requireAccount(accountId);
    account.cash.set(currency.toUpperCase(), amount);
    account.holdingsSyncedAt = now;
    return account;
  }

  requireAccount(accountId: string): SandboxAccount {
    const account = this.accounts.get(accountId);
    if (!account) throw new RangeError(`unknown account ${accountId}`);
    return account;
  }

  ordersOf(accountId: string): SandboxOrder[] {
    return [...this.orders.values()]
      .filter((o) => o.accountId === accountId)
      .sort((a, b) => b.placedAt.getTime() - a.placedAt.getTime());
  }

  /**
   * An order of the account by its brokerage order id or, failing that, by the client order id
   * it was placed with.
   */
  findOrder(accountId: string, id: string): SandboxOrder | undefined {
    const byId = this.orders.get(id);
    if (byId) return byId.accountId === accountId ? byId : undefined;
    if (!id) return undefined;
    return [...this.orders.values()].find((o) => o.accountId === accountId && o.clientOrderId === id);
  }

  // --- activities --------------------------------------------------------------------------

  addActivity(accountId: string, input: ActivityInput, now = new Date()): SandboxActivity {
    this.requireAccount(accountId);
    const tradeDate = input.tradeDate ?? now;
    const activity: SandboxActivity = {
      id: this.seededId('activity', accountId),
      accountId,
      type: input.type.toUpperCase(),
      symbol: input.symbol ?? null,
      units: input.units ?? 0,
      price: input.price ?? 0,
      amount: input.amount,
      fee: input.fee ?? 0,
      currency: input.currency.toUpperCase(),
      description: input.description ?? input.type.toUpperCase(),
      tradeDate,
      settlementDate:
        input.settlementDate ?? new Date(Date.UTC(tradeDate.getUTCFullYear(), tradeDate.getUTCMonth(), tradeDate.getUTCDate())),
      externalReferenceId: input.externalReferenceId ?? null,
      fxRate: input.fxRate ?? null,
    };
    const list = this.activities.get(accountId) ?? [];
    list.push(activity);
    this.activities.set(accountId, list);
    return activity;
  }

  /** The account's activities, newest first (by trade date). */
  activitiesOf(accountId: string): SandboxActivity[] {
    return [...(this.activities.get(accountId) ?? [])].sort((a, b) => b.tradeDate.getTime() - a.tradeDate.getTime());
  }

  /** Forget everything (users, connections, orders) but keep the seed and id counters fresh. */
  clear(): void {
    this.users.clear();
    this.authorizations.clear();
    this.accounts.clear();
    this.orders.clear();
    this.pendingTrades.clear();
    this.activities.clear();
    this.counters.clear();
  }
}
