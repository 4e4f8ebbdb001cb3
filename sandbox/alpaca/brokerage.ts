import { timingSafeEqual } from 'node:crypto';
import type { PriceBook, SandboxTick } from '../market/price-book.types.ts';
import { createRandom, seededUuid } from '../market/seeded-random.ts';
import { findAlpacaAsset } from './assets.ts';
import { parseDecimal, roundQty, roundTo } from './decimal.ts';
import { AlpacaApiError } from './errors.ts';
import { activityIdTime, marketDate } from './market-calendar.ts';

/**
 * The sandbox's Alpaca brokerage: accounts (each with its own key pair), cash, long positions,
 * orders and fills. No I/O: the REST routes and the trade_updates stream sit on top of it.
 * Fills happen at the price book's current price (market orders at once, limit and stop
 * orders when a tick crosses their price), and each state change is announced as a
 * trade update for that account. Every fill and every cash movement is also kept as an
 * account activity (Alpaca's `FILL`, `CSD`, `CSW`), the record `/v2/account/activities` serves.
 */

export type OrderSide = 'buy' | 'sell';
export type OrderType = 'market' | 'limit' | 'stop' | 'stop_limit';
export type TimeInForce = 'day' | 'gtc' | 'opg' | 'cls' | 'ioc' | 'fok';
export type OrderStatus = 'new' | 'partially_filled' | 'filled' | 'canceled' | 'rejected';
export type TradeUpdateEvent = 'new' | 'fill' | 'partial_fill' | 'canceled' | 'rejected';

const ORDER_SIDES: readonly string[] = ['buy', 'sell'];
const ORDER_TYPES: readonly string[] = ['market', 'limit', 'stop', 'stop_limit'];
const TIMES_IN_FORCE: readonly string[] = ['day', 'gtc', 'opg', 'cls', 'ioc', 'fok'];
const FINAL_STATUSES: readonly OrderStatus[] = ['filled', 'canceled', 'rejected'];

export interface SandboxOrder {
  id: string;
  clientOrderId: string;
  accountId: string;
  symbol: string;
  assetId: string;
  side: OrderSide;
  type: OrderType;
  timeInForce: TimeInForce;
  /** Ordered quantity; undefined for a notional order (its quantity is decided at the fill). */
  qty?: number;
  notional?: number;
  limitPrice?: number;
  stopPrice?: number;
  extendedHours: boolean;
  status: OrderStatus;
  filledQty: number;
  filledAvgPrice?: number;
  /** A stop or stop-limit order whose stop price has been reached. */
  stopTriggered: boolean;
  createdAt: Date;
  updatedAt: Date;
  submittedAt: Date;
  filledAt?: Date;
  canceledAt?: Date;
  /** When the exchange rejected it (a scripted rejection). */
  failedAt?: Date;
}

export interface SandboxPosition {
  symbol: string;
  assetId: string;
  qty: number;
  costBasis: number;
}

/** An execution, as Alpaca's `FILL` activity reports it. */
export interface SandboxFillActivity {
  activityType: 'FILL';
  /** `YYYYMMDDHHMMSSmmm::<execution id>` (New York time), Alpaca's activity id format. */
  id: string;
  at: Date;
  orderId: string;
  symbol: string;
  side: OrderSide;
  /** fill or partial_fill */
  type: 'fill' | 'partial_fill';
  price: number;
  qty: number;
  /** Filled quantity of the order after this execution. */
  cumQty: number;
  leavesQty: number;
  orderStatus: OrderStatus;
}

/** A cash deposit (`CSD`, also the account's opening cash) or withdrawal (`CSW`). */
export interface SandboxCashActivity {
  activityType: 'CSD' | 'CSW';
  id: string;
  at: Date;
  /** Signed: positive for a deposit, negative for a withdrawal. */
  netAmount: number;
}

export type SandboxActivity = SandboxFillActivity | SandboxCashActivity;

/** Alpaca's activity types (the SDK's `ActivityType`); the sandbox produces FILL, CSD and CSW. */
export const ACTIVITY_TYPES: readonly string[] = [
  'FILL', 'TRANS', 'MISC', 'ACATC', 'ACATS', 'CFEE', 'CGD', 'CSD', 'CSW', 'DIV', 'DIVCGL', 'DIVCGS',
  'DIVFEE', 'DIVFT', 'DIVNRA', 'DIVROC', 'DIVTW', 'DIVTXEX', 'FEE', 'INT', 'INTNRA', 'INTTW', 'JNL',
  'JNLC', 'JNLS', 'MA', 'NC', 'OPASN', 'OPCA', 'OPCSH', 'OPEXC', 'OPEXP', 'OPTRD', 'PTC', 'PTR',
  'REORG', 'SPIN', 'SPLIT', 'FOPT',
];

export interface ActivityFilter {
  /** Only these activity types. */
  types?: readonly string[];
  category?: 'trade_activity' | 'non_trade_activity';
  /** Only activities of this New York date (`YYYY-MM-DD`). */
  date?: string;
  after?: Date;
  until?: Date;
  /** @default 'desc' */
  direction?: 'asc' | 'desc';
  /** Most activities to return. @default all */
  pageSize?: number;
  /** The id of the last activity of the previous page: continue past it in `direction`. */
  pageToken?: string;
}

export interface SandboxAccount {
  id: string;
  accountNumber: string;
  keyId: string;
  secretKey: string;
  cash: number;
  createdAt: Date;
  positions: Map<string, SandboxPosition>;
  orders: Map<string, SandboxOrder>;
  orderIdByClientOrderId: Map<string, string>;
  /** Fills and cash movements, oldest first. */
  activities: SandboxActivity[];
}

/** A trade update for one account, as the trade_updates stream announces it. */
export interface SandboxTradeUpdate {
  accountId: string;
  event: TradeUpdateEvent;
  /** Snapshot of the order after the event. */
  order: SandboxOrder;
  at: Date;
  /** Set on fill and partial_fill. */
  executionId?: string;
  price?: number;
  qty?: number;
  /** Position quantity after the fill (signed). */
  positionQty?: number;
  /** Why the order was rejected (event `rejected`). */
  reason?: string;
}

export interface CreateAccountInput {
  keyId?: string;
  secretKey?: string;
  /** Starting cash in USD. @default 100000 */
  cash?: number;
}

export interface PositionInput {
  symbol: string;
  qty: number;
  /** Average entry price; the current price when absent. */
  avgEntryPrice?: number;
}

export interface OrderFilter {
  /** open (default), closed or all. */
  status?: string;
  limit?: number;
  direction?: 'asc' | 'desc';
  symbols?: string[];
  side?: string;
  after?: Date;
  until?: Date;
  /** Only orders submitted after / before the order with this id (of the same account). */
  afterOrderId?: string;
  beforeOrderId?: string;
  /** Asset classes; every sandbox order is `us_equity`. */
  assetClasses?: string[];
}

export interface BrokerageOptions {
  priceBook: PriceBook;
  /** Seed for account ids, generated keys and order ids. */
  seed: number;
  /**
   * Most shares a resting (limit/stop) order fills per tick; larger orders fill in parts with
   * `partial_fill` updates. Market orders always fill whole.
   * @default Infinity
   */
  maxFillQtyPerTick?: number;
  now?: () => Date;
}

const KEY_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
const SECRET_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const QTY_EPSILON = 1e-9;

function randomString(random: () => number, alphabet: string, length: number): string {
  let out = '';
  for (let i = 0; i < length; i++) out += alphabet[Math.floor(random() * alphabet.length)];
  return out;
}

function sameSecret(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

function invalid(message: string): AlpacaApiError {
  return new AlpacaApiError('INVALID_ORDER', message);
}

function isFinal(order: SandboxOrder): boolean {
  return FINAL_STATUSES.includes(order.status);
}

function remainingQty(order: SandboxOrder): number {
  return order.qty === undefined ? 0 : roundQty(order.qty - order.filledQty);
}

export class AlpacaBrokerage {
  private readonly book: PriceBook;
  private readonly seed: number;
  private maxFillQtyPerTick: number;
  private readonly now: () => Date;
  /** Trading hours as scripted (`setTradingScript`): closed, orders wait for the open. */
  private marketOpen = true;
  /** Orders still to be rejected after acceptance, and the reason given. */
  private rejects = { count: 0, reason: 'rejected by the exchange (scripted)' };
  private readonly accountsById = new Map<string, SandboxAccount>();
  private readonly accountsByKeyId = new Map<string, SandboxAccount>();
  /** Resting orders by symbol, so a tick only looks at the orders it can fill. */
  private readonly openOrdersBySymbol = new Map<string, Set<SandboxOrder>>();
  private readonly listeners = new Set<(update: SandboxTradeUpdate) => void>();
  private orderSeq = 0;
  private executionSeq = 0;
  private cashActivitySeq = 0;

  constructor(options: BrokerageOptions) {
    this.book = options.priceBook;
    this.seed = options.seed;
    this.maxFillQtyPerTick = options.maxFillQtyPerTick ?? Number.POSITIVE_INFINITY;
    this.now = options.now ?? (() => new Date());
  }

  // --- accounts -------------------------------------------------------------------------

  createAccount(input: CreateAccountInput = {}): SandboxAccount {
    const index = this.accountsById.size;
    const random = createRandom(this.seed, 'alpaca-account', index);
    const keyId = input.keyId ?? `PK${randomString(random, KEY_ALPHABET, 18)}`;
    const secretKey = input.secretKey ?? randomString(random, SECRET_ALPHABET, 40);
    if (this.accountsByKeyId.has(keyId)) throw new RangeError(`an account already uses key id ${keyId}`);
    const cash = input.cash ?? 100_000;
    if (!Number.isFinite(cash) || cash < 0) throw new RangeError('cash must be a non-negative number');
    const account: SandboxAccount = {
      id: seededUuid(this.seed, 'alpaca-account', keyId),
      accountNumber: `PA${String(Math.floor(random() * 1e10)).padStart(10, '0')}`,
      keyId,
      secretKey,
      cash: roundTo(cash, 2),
      createdAt: this.now(),
      positions: new Map(),
      orders: new Map(),
      orderIdByClientOrderId: new Map(),
      activities: [],
    };
    this.accountsById.set(account.id, account);
    this.accountsByKeyId.set(keyId, account);
    // The opening cash arrived as a deposit.
    if (account.cash > 0) this.recordCash(account, account.cash, account.createdAt);
    return account;
  }

  /** The account whose key pair this is, or undefined (constant-time secret comparison). */
  authenticate(keyId: string | undefined, secretKey: string | undefined): SandboxAccount | undefined {
    if (!keyId || !secretKey) return undefined;
    const account = this.accountsByKeyId.get(keyId);
    return account && sameSecret(account.secretKey, secretKey) ? account : undefined;
  }

  /** Find by account id or key id. */
  account(idOrKeyId: string): SandboxAccount | undefined {
    return this.accountsById.get(idOrKeyId) ?? this.accountsByKeyId.get(idOrKeyId);
  }

  accounts(): SandboxAccount[] {
    return [...this.accountsById.values()];
  }

  private requireAccount(idOrKeyId: string): SandboxAccount {
    const account = this.account(idOrKeyId);
    if (!account) throw new RangeError(`unknown Alpaca sandbox account ${idOrKeyId}`);
    return account;
  }

  /** Deposit (or, negative, withdraw) cash. Returns the new cash balance. */
  fund(idOrKeyId: string, amount: number): number {
    const account = this.requireAccount(idOrKeyId);
    if (!Number.isFinite(amount)) throw new RangeError('amount must be a finite number');
    if (account.cash + amount < 0) throw new RangeError('withdrawal exceeds cash');
    account.cash = roundTo(account.cash + amount, 2);
    const moved = roundTo(amount, 2);
    if (moved !== 0) this.recordCash(account, moved, this.now());
    return account.cash;
  }

  private recordCash(account: SandboxAccount, netAmount: number, at: Date): void {
    const uuid = seededUuid(this.seed, 'alpaca-cash-activity', ++this.cashActivitySeq);
    account.activities.push({ activityType: netAmount > 0 ? 'CSD' : 'CSW', id: `${activityIdTime(at)}::${uuid}`, at, netAmount });
  }

  /**
   * `GET /v2/account/activities`: the account's activities, newest first unless `asc`. A page
   * token is the id of an activity: the page continues after it in the chosen direction.
   */
  listActivities(account: SandboxAccount, filter: ActivityFilter = {}): SandboxActivity[] {
    const all = account.activities;
    let tokenIndex: number | undefined;
    if (filter.pageToken !== undefined) {
      tokenIndex = all.findIndex((a) => a.id === filter.pageToken);
      if (tokenIndex < 0) throw new AlpacaApiError('MALFORMED_REQUEST', 'invalid page_token');
    }
    const desc = (filter.direction ?? 'desc') === 'desc';
    const types = filter.types && filter.types.length > 0 ? new Set(filter.types) : undefined;
    const limit = filter.pageSize ?? Number.POSITIVE_INFINITY;
    const out: SandboxActivity[] = [];
    for (let n = 0; n < all.length && out.length < limit; n++) {
      const index = desc ? all.length - 1 - n : n;
      const activity = all[index]!;
      if (tokenIndex !== undefined && (desc ? index >= tokenIndex : index <= tokenIndex)) continue;
      if (types && !types.has(activity.activityType)) continue;
      if (filter.category && (activity.activityType === 'FILL') !== (filter.category === 'trade_activity')) continue;
      if (filter.date !== undefined && marketDate(activity.at) !== filter.date) continue;
      if (filter.after && activity.at <= filter.after) continue;
      if (filter.until && activity.at >= filter.until) continue;
      out.push(activity);
    }
    return out;
  }

  /** Replace the account's positions (control API); cash is left as it is. */
  setPositions(idOrKeyId: string, positions: readonly PositionInput[]): void {
    const account = this.requireAccount(idOrKeyId);
    const next = new Map<string, SandboxPosition>();
    for (const input of positions) {
      const security = findAlpacaAsset(this.book, input.symbol);
      if (!security) throw new RangeError(`${input.symbol} is not an Alpaca asset in the sandbox`);
      if (!Number.isFinite(input.qty) || input.qty < 0) throw new RangeError(`qty for ${input.symbol} must be >= 0`);
      if (input.qty === 0) continue;
      const price = input.avgEntryPrice ?? this.book.quote(security.symbol)!.price;
      next.set(security.symbol, {
        symbol: security.symbol,
        assetId: security.alpacaAssetId,
        qty: roundQty(input.qty),
        costBasis: roundTo(input.qty * price, 6),
      });
    }
    account.positions = next;
  }

  /** Cash minus what open buy orders have reserved. */
  buyingPower(account: SandboxAccount): number {
    let reserved = 0;
    for (const order of account.orders.values()) {
      if (isFinal(order) || order.side !== 'buy') continue;
      const price = order.limitPrice ?? order.stopPrice ?? this.book.quote(order.symbol)?.price ?? 0;
      reserved += remainingQty(order) * price;
    }
    return Math.max(0, roundTo(account.cash - reserved, 2));
  }

  /** Shares of the position not reserved by open sell orders. */
  qtyAvailable(account: SandboxAccount, symbol: string): number {
    const held = account.positions.get(symbol)?.qty ?? 0;
    let reserved = 0;
    for (const order of account.orders.values()) {
      if (!isFinal(order) && order.side === 'sell' && order.symbol === symbol) reserved += remainingQty(order);
    }
    return Math.max(0, roundQty(held - reserved));
  }

  // --- orders ---------------------------------------------------------------------------

  onTradeUpdate(listener: (update: SandboxTradeUpdate) => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /**
   * Scripts what real Alpaca does and a plain sandbox would not: closed market hours (the clock
   * says closed; orders wait for the open: market orders rest, `ioc`/`fok` are canceled, ticks
   * fill nothing; reopening fills what waits at the current price), exchange rejections after
   * acceptance (the next `count` orders answer `new`, then a `rejected` trade update follows),
   * and partial fills (`maxFillQtyPerTick`: resting orders fill at most that many shares a tick).
   */
  setTradingScript(script: { marketOpen?: boolean; rejectNext?: { count: number; reason?: string }; maxFillQtyPerTick?: number | null }): void {
    if (script.rejectNext) this.rejects = { count: script.rejectNext.count, reason: script.rejectNext.reason ?? this.rejects.reason };
    if (script.maxFillQtyPerTick !== undefined) this.maxFillQtyPerTick = script.maxFillQtyPerTick ?? Number.POSITIVE_INFINITY;
    if (script.marketOpen !== undefined && script.marketOpen !== this.marketOpen) {
      this.marketOpen = script.marketOpen;
      if (this.marketOpen) {
        for (const [symbol, open] of [...this.openOrdersBySymbol]) {
          const price = this.book.quote(symbol)?.price;
          if (price === undefined) continue;
          for (const order of [...open]) {
            const account = this.accountsById.get(order.accountId);
            if (account) this.execute(account, order, price, order.type !== 'market');
          }
        }
      }
    }
  }

  tradingScript(): { marketOpen: boolean; rejectNext: { count: number; reason: string }; maxFillQtyPerTick: number | null } {
    return {
      marketOpen: this.marketOpen,
      rejectNext: { ...this.rejects },
      maxFillQtyPerTick: Number.isFinite(this.maxFillQtyPerTick) ? this.maxFillQtyPerTick : null,
    };
  }

  isMarketOpen(): boolean {
    return this.marketOpen;
  }

  /** `POST /v2/orders`: validate, accept, and fill what can be filled now. */
  submitOrder(account: SandboxAccount, body: Record<string, unknown>): SandboxOrder {
    const symbol = typeof body.symbol === 'string' ? body.symbol.trim() : '';
    if (!symbol) throw invalid('symbol is required');
    const security = findAlpacaAsset(this.book, symbol);
    if (!security) throw invalid(`asset "${symbol}" not found`);
    const side = String(body.side ?? '');
    if (!ORDER_SIDES.includes(side)) throw invalid('side must be buy or sell');
    const type = String(body.type ?? body.order_type ?? '');
    if (type === 'trailing_stop') throw invalid('trailing_stop orders are not supported by the sandbox');
    if (!ORDER_TYPES.includes(type)) throw invalid(`invalid order type "${type}"`);
    const timeInForce = String(body.time_in_force ?? '');
    if (!TIMES_IN_FORCE.includes(timeInForce)) throw invalid('invalid time_in_force');
    const qty = parseDecimal(body.qty);
    const notional = parseDecimal(body.notional);
    if (qty !== undefined && notional !== undefined) throw invalid('only one of qty or notional may be specified');
    if (qty === undefined && notional === undefined) throw invalid('qty or notional is required');
    if (qty !== undefined && !(qty > 0)) throw invalid('qty must be > 0');
    if (notional !== undefined && !(notional > 0)) throw invalid('notional must be > 0');
    if (notional !== undefined && (type !== 'market' || timeInForce !== 'day')) {
      throw invalid('notional orders must be market orders with time_in_force day');
    }
    const limitPrice = parseDecimal(body.limit_price);
    const stopPrice = parseDecimal(body.stop_price);
    if ((type === 'limit' || type === 'stop_limit') && limitPrice === undefined) throw invalid('limit_price is required');
    if ((type === 'stop' || type === 'stop_limit') && stopPrice === undefined) throw invalid('stop_price is required');
    if (limitPrice !== undefined && !(limitPrice > 0)) throw invalid('limit_price must be > 0');
    if (stopPrice !== undefined && !(stopPrice > 0)) throw invalid('stop_price must be > 0');
    if (type === 'market' && (limitPrice !== undefined || stopPrice !== undefined)) {
      throw invalid('market orders must not have limit_price or stop_price');
    }
    let clientOrderId: string | undefined;
    if (body.client_order_id !== undefined && body.client_order_id !== null) {
      clientOrderId = String(body.client_order_id);
      if (clientOrderId.length === 0 || clientOrderId.length > 128) throw invalid('client_order_id must be 1 to 128 characters');
      if (account.orderIdByClientOrderId.has(clientOrderId)) throw invalid('client_order_id must be unique');
    }

    const price = this.book.quote(security.symbol)!.price;
    if (side === 'buy') {
      const cost = notional ?? qty! * (limitPrice ?? stopPrice ?? price);
      const buyingPower = this.buyingPower(account);
      if (cost > buyingPower + 1e-6) throw new AlpacaApiError('FORBIDDEN', 'insufficient buying power');
    } else {
      const wanted = qty ?? roundQty(notional! / price);
      const available = this.qtyAvailable(account, security.symbol);
      if (wanted > available + QTY_EPSILON) {
        throw new AlpacaApiError(
          'FORBIDDEN',
          `insufficient qty available for order (requested: ${wanted}, available: ${available})`,
        );
      }
    }

    const at = this.now();
    const id = seededUuid(this.seed, 'alpaca-order', ++this.orderSeq);
    const order: SandboxOrder = {
      id,
      clientOrderId: clientOrderId ?? seededUuid(this.seed, 'alpaca-client-order', this.orderSeq),
      accountId: account.id,
      symbol: security.symbol,
      assetId: security.alpacaAssetId,
      side: side as OrderSide,
      type: type as OrderType,
      timeInForce: timeInForce as TimeInForce,
      qty: qty === undefined ? undefined : roundQty(qty),
      notional: notional === undefined ? undefined : roundTo(notional, 2),
      limitPrice,
      stopPrice,
      extendedHours: body.extended_hours === true,
      status: 'new',
      filledQty: 0,
      stopTriggered: false,
      createdAt: at,
      updatedAt: at,
      submittedAt: at,
    };
    account.orders.set(order.id, order);
    account.orderIdByClientOrderId.set(order.clientOrderId, order.id);
    this.emit({ accountId: account.id, event: 'new', order: { ...order }, at });

    if (this.rejects.count > 0) {
      // Accepted now, rejected by the exchange a moment later (a trade update tells).
      this.rejects.count -= 1;
      const reason = this.rejects.reason;
      setTimeout(() => this.reject(account, order, reason), 20).unref();
      return { ...order };
    }
    if (!this.marketOpen) {
      if (order.timeInForce === 'ioc' || order.timeInForce === 'fok') this.cancel(account, order);
      else this.rest(order);
      return order;
    }
    this.execute(account, order, price, false);
    if (!isFinal(order)) {
      if (order.timeInForce === 'ioc' || order.timeInForce === 'fok') {
        this.cancel(account, order);
      } else {
        this.rest(order);
      }
    }
    return order;
  }

  /** `DELETE /v2/orders/{id}`. */
  cancelOrder(account: SandboxAccount, orderId: string): SandboxOrder {
    const order = account.orders.get(orderId);
    if (!order) throw new AlpacaApiError('NOT_FOUND', 'order not found');
    if (isFinal(order)) throw new AlpacaApiError('NOT_CANCELABLE', `order is already in "${order.status}" state`);
    this.cancel(account, order);
    return order;
  }

  /** `DELETE /v2/orders`: cancel every open order of the account; returns them. */
  cancelAllOrders(account: SandboxAccount): SandboxOrder[] {
    const open = [...account.orders.values()].filter((order) => !isFinal(order));
    for (const order of open) this.cancel(account, order);
    return open;
  }

  /**
   * `DELETE /v2/positions/{symbol}`: a market sell of the whole position, or of `qty` shares,
   * or of `percentage` percent of it. Shares held back by open sell orders cannot be sold (403).
   */
  closePosition(account: SandboxAccount, symbol: string, options: { qty?: number; percentage?: number } = {}): SandboxOrder {
    const position = account.positions.get(symbol);
    if (!position) throw new AlpacaApiError('NOT_FOUND', 'position not found');
    const { qty, percentage } = options;
    if (qty !== undefined && percentage !== undefined) throw invalid('only one of qty or percentage may be specified');
    if (qty !== undefined && !(qty > 0)) throw invalid('qty must be > 0');
    if (percentage !== undefined && !(percentage > 0 && percentage <= 100)) throw invalid('percentage must be in (0, 100]');
    const sellQty = qty ?? roundQty((position.qty * (percentage ?? 100)) / 100);
    return this.submitOrder(account, { symbol, side: 'sell', type: 'market', time_in_force: 'day', qty: String(sellQty) });
  }

  orderByClientOrderId(account: SandboxAccount, clientOrderId: string): SandboxOrder | undefined {
    const id = account.orderIdByClientOrderId.get(clientOrderId);
    return id === undefined ? undefined : account.orders.get(id);
  }

  listOrders(account: SandboxAccount, filter: OrderFilter = {}): SandboxOrder[] {
    const status = filter.status ?? 'open';
    const symbols = filter.symbols && filter.symbols.length > 0 ? new Set(filter.symbols) : undefined;
    if (filter.assetClasses && filter.assetClasses.length > 0 && !filter.assetClasses.includes('us_equity')) return [];
    const all = [...account.orders.values()];
    const indexOf = (orderId: string): number => {
      const index = all.findIndex((order) => order.id === orderId);
      if (index < 0) throw new AlpacaApiError('NOT_FOUND', `order not found for ${orderId}`);
      return index;
    };
    const afterIndex = filter.afterOrderId === undefined ? -1 : indexOf(filter.afterOrderId);
    const beforeIndex = filter.beforeOrderId === undefined ? all.length : indexOf(filter.beforeOrderId);
    const selected = all.filter((order, index) => {
      if (index <= afterIndex || index >= beforeIndex) return false;
      if (status === 'open' && isFinal(order)) return false;
      if (status === 'closed' && !isFinal(order)) return false;
      if (symbols && !symbols.has(order.symbol)) return false;
      if (filter.side && order.side !== filter.side) return false;
      if (filter.after && order.submittedAt <= filter.after) return false;
      if (filter.until && order.submittedAt >= filter.until) return false;
      return true;
    });
    // Insertion order is submission order; ties on the clock keep it.
    if ((filter.direction ?? 'desc') === 'desc') selected.reverse();
    return selected.slice(0, Math.min(Math.max(filter.limit ?? 50, 1), 500));
  }

  /** Fill resting orders a tick crosses (none while the market is closed). */
  handleTick(tick: SandboxTick): void {
    if (!this.marketOpen) return;
    const open = this.openOrdersBySymbol.get(tick.symbol);
    if (!open || open.size === 0) return;
    for (const order of [...open]) {
      const account = this.accountsById.get(order.accountId);
      if (!account) continue;
      this.execute(account, order, tick.price, true);
    }
  }

  // --- matching -------------------------------------------------------------------------

  private rest(order: SandboxOrder): void {
    let open = this.openOrdersBySymbol.get(order.symbol);
    if (!open) {
      open = new Set();
      this.openOrdersBySymbol.set(order.symbol, open);
    }
    open.add(order);
  }

  private unrest(order: SandboxOrder): void {
    const open = this.openOrdersBySymbol.get(order.symbol);
    open?.delete(order);
    if (open && open.size === 0) this.openOrdersBySymbol.delete(order.symbol);
  }

  /** Fill what the order can take at `price`; `fromTick` caps resting fills per tick. */
  private execute(account: SandboxAccount, order: SandboxOrder, price: number, fromTick: boolean): void {
    if (isFinal(order)) return;
    if ((order.type === 'stop' || order.type === 'stop_limit') && !order.stopTriggered) {
      const reached = order.side === 'buy' ? price >= order.stopPrice! : price <= order.stopPrice!;
      if (!reached) return;
      order.stopTriggered = true;
    }
    const actsAsMarket = order.type === 'market' || order.type === 'stop';
    if (!actsAsMarket) {
      const crosses = order.side === 'buy' ? price <= order.limitPrice! : price >= order.limitPrice!;
      if (!crosses) return;
    }
    let qty = order.qty === undefined ? roundQty(order.notional! / price) : remainingQty(order);
    if (fromTick || order.type !== 'market') qty = Math.min(qty, this.maxFillQtyPerTick);
    if (order.side === 'sell') qty = Math.min(qty, account.positions.get(order.symbol)?.qty ?? 0);
    qty = roundQty(qty);
    if (qty <= 0) return;
    this.fill(account, order, qty, price);
  }

  private fill(account: SandboxAccount, order: SandboxOrder, qty: number, price: number): void {
    const at = this.now();
    const value = qty * price;
    const existing = account.positions.get(order.symbol);
    if (order.side === 'buy') {
      account.cash = roundTo(account.cash - value, 6);
      if (existing) {
        existing.qty = roundQty(existing.qty + qty);
        existing.costBasis = roundTo(existing.costBasis + value, 6);
      } else {
        account.positions.set(order.symbol, { symbol: order.symbol, assetId: order.assetId, qty, costBasis: roundTo(value, 6) });
      }
    } else if (existing) {
      account.cash = roundTo(account.cash + value, 6);
      const left = roundQty(existing.qty - qty);
      if (left <= QTY_EPSILON) {
        account.positions.delete(order.symbol);
      } else {
        existing.costBasis = roundTo((existing.costBasis * left) / existing.qty, 6);
        existing.qty = left;
      }
    }
    const filledBefore = order.filledQty;
    order.filledQty = roundQty(filledBefore + qty);
    order.filledAvgPrice = roundTo(((order.filledAvgPrice ?? 0) * filledBefore + value) / order.filledQty, 6);
    if (order.qty === undefined) order.qty = order.filledQty;
    const done = remainingQty(order) <= QTY_EPSILON;
    order.status = done ? 'filled' : 'partially_filled';
    order.updatedAt = at;
    if (done) {
      order.filledAt = at;
      this.unrest(order);
    }
    const executionId = seededUuid(this.seed, 'alpaca-execution', ++this.executionSeq);
    account.activities.push({
      activityType: 'FILL',
      id: `${activityIdTime(at)}::${executionId}`,
      at,
      orderId: order.id,
      symbol: order.symbol,
      side: order.side,
      type: done ? 'fill' : 'partial_fill',
      price,
      qty,
      cumQty: order.filledQty,
      leavesQty: remainingQty(order),
      orderStatus: order.status,
    });
    this.emit({
      accountId: account.id,
      event: done ? 'fill' : 'partial_fill',
      order: { ...order },
      at,
      executionId,
      price,
      qty,
      positionQty: account.positions.get(order.symbol)?.qty ?? 0,
    });
  }

  private reject(account: SandboxAccount, order: SandboxOrder, reason: string): void {
    if (isFinal(order)) return;
    const at = this.now();
    order.status = 'rejected';
    order.failedAt = at;
    order.updatedAt = at;
    this.unrest(order);
    this.emit({ accountId: account.id, event: 'rejected', order: { ...order }, at, reason });
  }

  private cancel(account: SandboxAccount, order: SandboxOrder): void {
    const at = this.now();
    order.status = 'canceled';
    order.canceledAt = at;
    order.updatedAt = at;
    this.unrest(order);
    this.emit({ accountId: account.id, event: 'canceled', order: { ...order }, at });
  }

  private emit(update: SandboxTradeUpdate): void {
    for (const listener of [...this.listeners]) listener(update);
  }
}
