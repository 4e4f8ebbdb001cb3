import type { Logger } from '../../src/logging/logger.ts';
import type { PriceBook } from '../market/price-book.types.ts';
import { createRandom, type Random } from '../market/seeded-random.ts';
import { holdingsUpdatedDetails, tradeUpdateDetails } from '../snaptrade/webhook-events.ts';
import { generateHistory, tradeActivity } from './activity-history.ts';
import { findBrokerage } from './brokerages.ts';
import { ExchangeRates } from './currencies.ts';
import { generateHoldings } from './holdings-generator.ts';
import {
  ScenarioStore,
  type AccountInput,
  type ActivityInput,
  type SandboxAccount,
  type SandboxActivity,
  type SandboxAuthorization,
  type SandboxOrder,
  type SandboxPosition,
  type SandboxUser,
} from './scenario-store.ts';

/**
 * The scenario engine: the sandbox's brokerage behaviour on top of the store. It connects
 * brokerages (with seeded holdings), breaks and fixes connections, refreshes, changes holdings,
 * executes orders against the price book, and sends the webhooks SnapTrade sends for each of
 * those. The SnapTrade HTTP handlers, the connection portal and the control API all call it,
 * so the three behave the same way.
 */
export interface WebhookSink {
  send(eventType: string, userId: string, fields?: Record<string, unknown>): { webhookId: string };
}

export interface ScenarioEngineOptions {
  seed: number;
  priceBook: PriceBook;
  webhooks: WebhookSink;
  logger: Logger;
  /** Delay between a refresh request and its ACCOUNT_HOLDINGS_UPDATED webhooks. @default 100 */
  refreshDelayMs?: number;
  /** Minimum time between two refreshes of one connection (429 `throttled` below it). @default 0 */
  refreshCooldownMs?: number;
  /** Delay between a trade fill and its ACCOUNT_HOLDINGS_UPDATED webhook. @default 100 */
  tradeSyncDelayMs?: number;
}

export interface ConnectOptions {
  /** Accounts to create; the seeded scenario picks them when absent. */
  accounts?: AccountInput[];
  type?: 'read' | 'trade';
  /** Holdings answer 425 (and ACCOUNT_HOLDINGS_UPDATED waits) for this long. @default 0 */
  populatingForMs?: number;
  /** Send the connection webhooks. @default true */
  webhooks?: boolean;
}

export class TradeRejected extends Error {}

/** SnapTrade's documented `connectionAttemptedResult` values, SUCCESS aside. */
export const FAILED_ATTEMPT_RESULTS = [
  'AUTH_EXPIRED',
  'INVALID_AUTH_CODE',
  'AUTH_NOT_IN_PROGRESS',
  'DIFFERENT_ACCOUNT',
  'UNCAUGHT_ERROR',
  'INVALID_CREDENTIALS',
  'INVALID_MFA_CODE',
  'NO_DATA',
] as const;
export type FailedAttemptResult = (typeof FAILED_ATTEMPT_RESULTS)[number];

export class ScenarioEngine {
  readonly store: ScenarioStore;
  readonly rates = new ExchangeRates();
  readonly priceBook: PriceBook;
  private readonly timers = new Set<NodeJS.Timeout>();
  private autoTimer: NodeJS.Timeout | undefined;
  private readonly autoRandom: Random;
  private readonly unsubscribeTicks: () => void;
  refreshDelayMs: number;
  refreshCooldownMs: number;
  private readonly tradeSyncDelayMs: number;

  constructor(private readonly options: ScenarioEngineOptions) {
    this.store = new ScenarioStore(options.seed);
    this.priceBook = options.priceBook;
    this.refreshDelayMs = options.refreshDelayMs ?? 100;
    this.refreshCooldownMs = options.refreshCooldownMs ?? 0;
    this.tradeSyncDelayMs = options.tradeSyncDelayMs ?? 100;
    this.autoRandom = createRandom(options.seed, 'auto-holdings');
    this.unsubscribeTicks = this.priceBook.onTick((tick) => this.fillRestingOrders(tick.symbol, tick.price));
  }

  private get webhooks(): WebhookSink {
    return this.options.webhooks;
  }

  // --- prices ----------------------------------------------------------------------------

  price(symbol: string): number | undefined {
    return this.priceBook.quote(symbol)?.price;
  }

  /** Amount in `from` currency expressed in `to` currency at the current sandbox rate. */
  convert(amount: number, from: string, to: string): number {
    if (from === to) return amount;
    const rate = this.rates.rate(from, to);
    if (rate === undefined) throw new RangeError(`no exchange rate ${from}-${to}`);
    return amount * rate;
  }

  /** Total value of an account (positions + cash) in the account's currency. */
  accountValue(account: SandboxAccount): number {
    let total = 0;
    for (const [currency, amount] of account.cash) total += this.convert(amount, currency, account.currency);
    for (const position of account.positions.values()) {
      const security = this.priceBook.security(position.symbol);
      const price = this.price(position.symbol) ?? position.averageCost;
      total += this.convert(position.units * price, security?.currency ?? account.currency, account.currency);
    }
    return Math.round(total * 100) / 100;
  }

  // --- users -----------------------------------------------------------------------------

  registerUser(userId: string): SandboxUser {
    const user = this.store.registerUser(userId);
    this.webhooks.send('USER_REGISTERED', userId);
    return user;
  }

  deleteUser(userId: string): boolean {
    const deleted = this.store.deleteUser(userId);
    if (deleted) this.webhooks.send('USER_DELETED', userId);
    return deleted;
  }

  // --- connections -----------------------------------------------------------------------

  /** Connect a brokerage for a user, as finishing the connection portal does. */
  connect(userId: string, brokerageSlug: string, options: ConnectOptions = {}): {
    authorization: SandboxAuthorization;
    accounts: SandboxAccount[];
  } {
    if (!this.store.users.has(userId)) throw new RangeError(`unknown user ${userId}`);
    const brokerage = findBrokerage(brokerageSlug);
    if (!brokerage) throw new RangeError(`unknown brokerage ${brokerageSlug}`);
    const connectionIndex = this.store.connectionCount(userId, brokerage.slug);
    const authorization = this.store.createAuthorization(userId, brokerage.slug, {
      type: options.type,
      populatingForMs: options.populatingForMs,
    });
    const inputs: AccountInput[] =
      options.accounts ??
      brokerage.accountTypes.map((type, accountIndex) => {
        const holdings = generateHoldings({
          seed: this.options.seed,
          userId,
          brokerageSlug: brokerage.slug,
          accountIndex,
          connectionIndex,
          accountCurrency: type.currency,
          securities: this.priceBook.securities(),
          priceOf: (symbol) => this.price(symbol),
        });
        return { name: type.name, rawType: type.rawType, currency: type.currency, ...holdings };
      });
    for (const input of inputs) for (const p of input.positions ?? []) this.requireSecurity(p.symbol);
    const accounts = inputs.map((input) => this.store.addAccount(authorization, input));
    for (const account of accounts) this.seedActivityHistory(account);

    if (options.webhooks !== false) {
      this.webhooks.send('CONNECTION_ATTEMPTED', userId, {
        connectionAttemptedResult: 'SUCCESS',
        brokerageId: brokerage.id,
      });
      this.webhooks.send('CONNECTION_ADDED', userId, {
        brokerageId: brokerage.id,
        brokerageAuthorizationId: authorization.id,
      });
      for (const account of accounts) {
        this.webhooks.send('NEW_ACCOUNT_AVAILABLE', userId, {
          accountId: account.id,
          brokerageAuthorizationId: authorization.id,
        });
      }
      // The initial sync finishes when the data is populated: then holdings and transactions.
      this.later(options.populatingForMs ?? 0, () => {
        for (const account of this.store.accountsOfAuthorization(authorization.id)) {
          this.holdingsUpdated(account);
          this.webhooks.send('ACCOUNT_TRANSACTIONS_INITIAL_UPDATE', userId, {
            accountId: account.id,
            brokerageAuthorizationId: authorization.id,
          });
        }
      });
    }
    this.options.logger.info(
      { userId, brokerage: brokerage.slug, authorizationId: authorization.id, accounts: accounts.length },
      'brokerage connected',
    );
    return { authorization, accounts };
  }

  /**
   * A failed portal attempt: CONNECTION_ATTEMPTED with the documented result (a wrong password is
   * INVALID_CREDENTIALS), then CONNECTION_FAILED.
   */
  failConnection(userId: string, brokerageSlug: string, result: FailedAttemptResult = 'INVALID_CREDENTIALS'): void {
    const brokerage = findBrokerage(brokerageSlug);
    if (!brokerage) throw new RangeError(`unknown brokerage ${brokerageSlug}`);
    this.webhooks.send('CONNECTION_ATTEMPTED', userId, {
      connectionAttemptedResult: result,
      brokerageId: brokerage.id,
    });
    this.webhooks.send('CONNECTION_FAILED', userId);
  }

  /** The connection stops working (credentials expired...): 402/3003 and CONNECTION_BROKEN. */
  breakConnection(authorizationId: string, notify = true): SandboxAuthorization {
    const auth = this.requireAuthorization(authorizationId);
    auth.disabled = true;
    auth.disabledAt = new Date();
    if (notify) this.webhooks.send('CONNECTION_BROKEN', auth.userId, { brokerageAuthorizationId: auth.id });
    return auth;
  }

  /** The user reconnected: the connection works again, CONNECTION_FIXED, then a holdings sync. */
  fixConnection(authorizationId: string, notify = true): SandboxAuthorization {
    const auth = this.requireAuthorization(authorizationId);
    auth.disabled = false;
    auth.disabledAt = null;
    if (notify) {
      this.webhooks.send('CONNECTION_FIXED', auth.userId, { brokerageAuthorizationId: auth.id });
      for (const account of this.store.accountsOfAuthorization(auth.id)) this.holdingsUpdated(account);
    }
    return auth;
  }

  removeConnection(authorizationId: string): void {
    const auth = this.requireAuthorization(authorizationId);
    this.store.removeAuthorization(authorizationId);
    this.webhooks.send('CONNECTION_DELETED', auth.userId, {
      brokerageId: auth.brokerage.id,
      brokerageAuthorizationId: auth.id,
    });
  }

  /** `POST /authorizations/{id}/refresh`: a sync later, then ACCOUNT_HOLDINGS_UPDATED per account. */
  refresh(authorizationId: string): 'scheduled' | 'too_soon' {
    const auth = this.requireAuthorization(authorizationId);
    const now = Date.now();
    if (auth.lastRefreshAt && now - auth.lastRefreshAt.getTime() < this.refreshCooldownMs) return 'too_soon';
    auth.lastRefreshAt = new Date(now);
    this.later(this.refreshDelayMs, () => {
      for (const account of this.store.accountsOfAuthorization(auth.id)) {
        account.holdingsSyncedAt = new Date();
        this.holdingsUpdated(account);
      }
    });
    return 'scheduled';
  }

  // --- holdings --------------------------------------------------------------------------

  /** ACCOUNT_HOLDINGS_UPDATED for an account (SnapTrade sends it after every sync). */
  holdingsUpdated(account: SandboxAccount, success = true): { webhookId: string } {
    const auth = this.store.authorizations.get(account.authorizationId);
    const ok = success && !(auth?.disabled ?? false);
    return this.webhooks.send('ACCOUNT_HOLDINGS_UPDATED', account.userId, {
      accountId: account.id,
      brokerageId: account.brokerage.id,
      brokerageAuthorizationId: account.authorizationId,
      details: holdingsUpdatedDetails(ok, ok ? null : 'Unable to sync with brokerage account.'),
    });
  }

  /** TRADE_UPDATE: an order of the account changed (filled, canceled, rejected), with its record. */
  tradeUpdated(account: SandboxAccount, order: SandboxOrder): { webhookId: string } {
    const security = this.priceBook.security(order.symbol);
    return this.webhooks.send('TRADE_UPDATE', account.userId, {
      accountId: account.id,
      brokerageId: account.brokerage.id,
      brokerageAuthorizationId: account.authorizationId,
      details: tradeUpdateDetails({
        brokerageOrderId: order.brokerageOrderId,
        status: order.status,
        action: order.action,
        orderType: order.orderType,
        timeInForce: order.timeInForce,
        symbol: order.symbol,
        description: security?.description ?? order.symbol,
        figi: security?.figi ?? null,
        mic: security?.exchangeMic ?? null,
        currency: security?.currency ?? account.currency,
        units: order.units,
        filledUnits: order.filledUnits,
        executionPrice: order.executionPrice,
        limitPrice: order.limitPrice,
        stopPrice: order.stopPrice,
        placedAt: order.placedAt,
        executedAt: order.executedAt,
      }),
    });
  }

  setPositions(accountId: string, positions: SandboxPosition[], cash?: Record<string, number>, notify = true): SandboxAccount {
    for (const p of positions) this.requireSecurity(p.symbol);
    const account = this.store.setPositions(accountId, positions, cash);
    if (notify) this.holdingsUpdated(account);
    return account;
  }

  upsertPosition(accountId: string, position: SandboxPosition, notify = true): SandboxAccount {
    this.requireSecurity(position.symbol);
    const account = this.store.upsertPosition(accountId, position);
    if (notify) this.holdingsUpdated(account);
    return account;
  }

  setCash(accountId: string, currency: string, amount: number, notify = true): SandboxAccount {
    const account = this.store.setCash(accountId, currency, amount);
    if (notify) this.holdingsUpdated(account);
    return account;
  }

  /**
   * Auto mode: every `intervalMs` one seeded-random account changes (units of a position move,
   * a position is bought or sold out) and sends ACCOUNT_HOLDINGS_UPDATED. 0 stops it.
   */
  setAutoHoldings(intervalMs: number): void {
    if (this.autoTimer) clearInterval(this.autoTimer);
    this.autoTimer = undefined;
    if (intervalMs > 0) this.autoTimer = setInterval(() => this.autoStep(), intervalMs);
  }

  /** One auto-mode change; returns the account changed, if any. */
  autoStep(): SandboxAccount | undefined {
    const accounts = [...this.store.accounts.values()].filter(
      (a) => !this.store.authorizations.get(a.authorizationId)?.disabled,
    );
    if (accounts.length === 0) return undefined;
    const account = accounts[Math.floor(this.autoRandom() * accounts.length)]!;
    const positions = [...account.positions.values()];
    const roll = this.autoRandom();
    if (positions.length === 0 || roll < 0.2) {
      const candidates = this.priceBook.securities().filter((s) => !s.symbol.startsWith('SYN'));
      const security = candidates[Math.floor(this.autoRandom() * candidates.length)];
      if (!security) return undefined;
      const price = this.price(security.symbol) ?? 1;
      const existing = account.positions.get(security.symbol);
      this.store.upsertPosition(account.id, {
        symbol: security.symbol,
        units: (existing?.units ?? 0) + 1 + Math.floor(this.autoRandom() * 20),
        averageCost: existing?.averageCost ?? price,
      });
    } else {
      const position = positions[Math.floor(this.autoRandom() * positions.length)]!;
      const change = Math.max(1, Math.round(position.units * (0.05 + this.autoRandom() * 0.25)));
      const units = roll < 0.3 ? 0 : roll < 0.65 ? position.units + change : Math.max(1, position.units - change);
      this.store.upsertPosition(account.id, { ...position, units });
    }
    this.holdingsUpdated(account);
    return account;
  }

  // --- activities (transactions) --------------------------------------------------------

  /**
   * Record an activity the brokerage reports (a dividend, a contribution, a fee...), then
   * ACCOUNT_TRANSACTIONS_UPDATED as SnapTrade sends when new transactions land. Holdings stay
   * as they are unless `applyToCash`, which adds the amount to the cash of its currency.
   */
  recordActivity(
    accountId: string,
    input: ActivityInput,
    options: { notify?: boolean; applyToCash?: boolean } = {},
  ): SandboxActivity {
    const account = this.store.requireAccount(accountId);
    if (input.symbol) this.requireSecurity(input.symbol);
    const activity = this.store.addActivity(account.id, input);
    if (options.applyToCash && activity.amount !== null) {
      account.cash.set(activity.currency, round2((account.cash.get(activity.currency) ?? 0) + activity.amount));
    }
    if (options.notify !== false) this.transactionsUpdated(account);
    return activity;
  }

  /** ACCOUNT_TRANSACTIONS_UPDATED for an account (new activities are available). */
  transactionsUpdated(account: SandboxAccount): { webhookId: string } {
    return this.webhooks.send('ACCOUNT_TRANSACTIONS_UPDATED', account.userId, {
      accountId: account.id,
      brokerageAuthorizationId: account.authorizationId,
    });
  }

  /** The seeded past of a newly connected account: buys of its positions, dividends, cash in. */
  private seedActivityHistory(account: SandboxAccount): void {
    const history = generateHistory({
      seed: this.options.seed,
      accountId: account.id,
      positions: [...account.positions.values()],
      cash: account.cash,
      currencyOf: (symbol) => this.priceBook.security(symbol)?.currency ?? account.currency,
      now: account.createdAt,
    });
    for (const activity of history) this.store.addActivity(account.id, activity);
  }

  // --- trading ---------------------------------------------------------------------------

  /** Place an order; market orders (and marketable limits) fill now at the book price. */
  placeOrder(input: {
    accountId: string;
    symbol: string;
    action: 'BUY' | 'SELL';
    orderType: SandboxOrder['orderType'];
    timeInForce: string;
    units: number;
    limitPrice: number | null;
    stopPrice: number | null;
    clientOrderId?: string | null;
  }): SandboxOrder {
    const account = this.store.requireAccount(input.accountId);
    this.requireSecurity(input.symbol);
    if (!(input.units > 0)) throw new TradeRejected('units must be greater than 0');
    if ((input.orderType === 'Limit' || input.orderType === 'StopLimit') && !(input.limitPrice && input.limitPrice > 0)) {
      throw new TradeRejected('a limit order needs a price');
    }
    const now = new Date();
    const order: SandboxOrder = {
      brokerageOrderId: String(100_000_000 + this.store.next('order')),
      accountId: account.id,
      symbol: input.symbol,
      action: input.action,
      orderType: input.orderType,
      timeInForce: input.timeInForce,
      units: input.units,
      limitPrice: input.limitPrice,
      stopPrice: input.stopPrice,
      status: 'ACCEPTED',
      filledUnits: 0,
      executionPrice: null,
      placedAt: now,
      updatedAt: now,
      executedAt: null,
      clientOrderId: input.clientOrderId ?? null,
    };
    const price = this.price(input.symbol)!;
    if (this.marketable(order, price)) this.fill(account, order, price);
    this.store.orders.set(order.brokerageOrderId, order);
    return order;
  }

  cancelOrder(accountId: string, brokerageOrderId: string): SandboxOrder {
    const order = this.store.orders.get(brokerageOrderId);
    if (!order || order.accountId !== accountId) throw new RangeError(`unknown order ${brokerageOrderId}`);
    if (order.status !== 'ACCEPTED') throw new TradeRejected(`order ${brokerageOrderId} is ${order.status}`);
    order.status = 'CANCELED';
    order.updatedAt = new Date();
    const account = this.store.requireAccount(accountId);
    this.later(this.tradeSyncDelayMs, () => {
      if (this.store.accounts.has(account.id)) this.tradeUpdated(account, order);
    });
    return order;
  }

  /** Cash the order would leave in the account's currency (negative: not enough). */
  remainingCashAfter(account: SandboxAccount, symbol: string, action: 'BUY' | 'SELL', units: number, price: number): number {
    const currency = this.priceBook.security(symbol)?.currency ?? account.currency;
    const signed = (action === 'BUY' ? -1 : 1) * units * price;
    let cash = 0;
    for (const [c, amount] of account.cash) cash += this.convert(amount, c, account.currency);
    return Math.round((cash + this.convert(signed, currency, account.currency)) * 100) / 100;
  }

  private marketable(order: SandboxOrder, price: number): boolean {
    if (order.orderType === 'Market') return true;
    if (order.orderType === 'Limit') {
      return order.action === 'BUY' ? price <= order.limitPrice! : price >= order.limitPrice!;
    }
    if (order.orderType === 'Stop') {
      return order.action === 'BUY' ? price >= (order.stopPrice ?? 0) : price <= (order.stopPrice ?? Infinity);
    }
    return false;
  }

  private fill(account: SandboxAccount, order: SandboxOrder, price: number): void {
    const security = this.priceBook.security(order.symbol);
    const currency = security?.currency ?? account.currency;
    const existing = account.positions.get(order.symbol);
    const cost = order.units * price;
    if (order.action === 'SELL' && (existing?.units ?? 0) < order.units) {
      throw new TradeRejected(`cannot sell ${order.units} ${order.symbol}: ${existing?.units ?? 0} held`);
    }
    if (order.action === 'BUY') {
      if (this.remainingCashAfter(account, order.symbol, 'BUY', order.units, price) < 0) {
        throw new TradeRejected('Insufficient buying power');
      }
      // Pay from cash in the security's currency first, then convert the rest from the account's.
      const local = account.cash.get(currency) ?? 0;
      const fromLocal = Math.min(Math.max(local, 0), cost);
      account.cash.set(currency, round2(local - fromLocal));
      if (cost - fromLocal > 0) {
        const base = account.cash.get(account.currency) ?? 0;
        account.cash.set(account.currency, round2(base - this.convert(cost - fromLocal, currency, account.currency)));
      }
      const units = (existing?.units ?? 0) + order.units;
      const averageCost = ((existing?.units ?? 0) * (existing?.averageCost ?? 0) + cost) / units;
      account.positions.set(order.symbol, { symbol: order.symbol, units, averageCost: round4(averageCost) });
    } else {
      account.cash.set(currency, round2((account.cash.get(currency) ?? 0) + cost));
      const units = existing!.units - order.units;
      if (units === 0) account.positions.delete(order.symbol);
      else account.positions.set(order.symbol, { ...existing!, units });
    }
    const now = new Date();
    order.status = 'EXECUTED';
    order.filledUnits = order.units;
    order.executionPrice = price;
    order.executedAt = now;
    order.updatedAt = now;
    account.holdingsSyncedAt = now;
    this.store.addActivity(account.id, tradeActivity(order, price, currency, now));
    this.later(this.tradeSyncDelayMs, () => {
      if (!this.store.accounts.has(account.id)) return;
      this.tradeUpdated(account, order);
      this.holdingsUpdated(account);
      this.transactionsUpdated(account);
    });
  }

  private fillRestingOrders(symbol: string, price: number): void {
    for (const order of this.store.orders.values()) {
      if (order.symbol !== symbol || order.status !== 'ACCEPTED' || !this.marketable(order, price)) continue;
      const account = this.store.accounts.get(order.accountId);
      if (!account) continue;
      try {
        this.fill(account, order, price);
      } catch (err) {
        order.status = 'REJECTED';
        order.updatedAt = new Date();
        this.tradeUpdated(account, order);
        this.options.logger.info({ order: order.brokerageOrderId, reason: (err as Error).message }, 'resting order rejected');
      }
    }
  }

  // --- helpers ---------------------------------------------------------------------------

  requireAuthorization(authorizationId: string): SandboxAuthorization {
    const auth = this.store.authorizations.get(authorizationId);
    if (!auth) throw new RangeError(`unknown authorization ${authorizationId}`);
    return auth;
  }

  private requireSecurity(symbol: string): void {
    if (!this.priceBook.security(symbol)) throw new RangeError(`unknown security ${symbol}`);
  }

  /** Run later unless the engine closes first. */
  later(delayMs: number, run: () => void): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      try {
        run();
      } catch (err) {
        this.options.logger.error({ err }, 'scheduled scenario step failed');
      }
    }, delayMs);
    this.timers.add(timer);
  }

  /** Forget every user, connection and order (prices and rates stay). */
  reset(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    this.store.clear();
  }

  close(): void {
    this.setAutoHoldings(0);
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    this.unsubscribeTicks();
  }
}

function round2(n: number): number {
  return Math.round(n * 100) / 100;
}

function round4(n: number): number {
  return Math.round(n * 10_000) / 10_000;
}
