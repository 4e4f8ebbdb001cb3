import { randomUUID } from 'node:crypto';
import { SANDBOX_BROKERAGES } from '../scenario/brokerages.ts';
import { TradeRejected, type ScenarioEngine } from '../scenario/scenario-engine.ts';
import { currencyOf } from '../scenario/currencies.ts';
import type {
  PendingTrade,
  SandboxAccount,
  SandboxActivity,
  SandboxOrder,
  SandboxUser,
} from '../scenario/scenario-store.ts';
import { SnaptradeApiError } from './errors.ts';
import type { PortalSessions } from './portal-sessions.ts';
import * as rep from './representations.ts';

/**
 * Handlers of the SnapTrade operations the sandbox emulates, keyed by the spec's operationId.
 * Authentication, rate limiting, faults and request validation have already happened; a handler
 * gets the parsed request and returns a status and body (or throws SnaptradeApiError).
 */
export interface HandlerContext {
  engine: ScenarioEngine;
  portal: PortalSessions;
  publicUrl: string;
  params: Record<string, string>;
  query: Record<string, string | undefined>;
  body: Record<string, unknown> | undefined;
  /** The authenticated SnapTrade user (operations with userId + userSecret). */
  user: SandboxUser | undefined;
}

export interface HandlerResult {
  status: number;
  body?: unknown;
}

export type OperationHandler = (ctx: HandlerContext) => HandlerResult | Promise<HandlerResult>;

/** Deprecated endpoints that answer 410 for new customers, as the real service does. */
export const GONE_OPERATIONS = new Set([
  'AccountInformation_getAllUserHoldings',
  'AccountInformation_getUserHoldings',
  'AccountInformation_getUserAccountPositions',
]);

/** Trades from an impact check can be placed for this long. */
const TRADE_IMPACT_TTL_MS = 5 * 60_000;

/** Most activities one page of `GET /accounts/{id}/activities` holds (SnapTrade's default too). */
const ACTIVITY_PAGE_LIMIT = 1000;
/** Most activities `GET /activities` answers with. */
const ACTIVITIES_MAX = 10_000;
/** Most symbols one quotes request may name. */
const QUOTES_MAX_SYMBOLS = 10;

const ok = (body: unknown): HandlerResult => ({ status: 200, body });

function userOf(ctx: HandlerContext): SandboxUser {
  if (!ctx.user) throw new SnaptradeApiError('INVALID_USER');
  return ctx.user;
}

/** The user's account, or 404; `live` also refuses disabled (402) and populating (425) ones. */
function accountOf(ctx: HandlerContext, accountId: string | undefined, live = false): SandboxAccount {
  const user = userOf(ctx);
  const account = accountId ? ctx.engine.store.accounts.get(accountId) : undefined;
  if (!account || account.userId !== user.userId) throw new SnaptradeApiError('NOT_FOUND');
  if (live) {
    const auth = ctx.engine.store.authorizations.get(account.authorizationId);
    if (auth?.disabled) throw new SnaptradeApiError('CONNECTION_DISABLED');
    if (auth && auth.populatingUntil > Date.now()) throw new SnaptradeApiError('POPULATING');
  }
  return account;
}

/**
 * An account whose transactions can be read: 425 while the connection's initial sync runs; a
 * disabled connection still answers with what was synced before (SnapTrade's cached state).
 */
function syncedAccountOf(ctx: HandlerContext, accountId: string | undefined): SandboxAccount {
  const account = accountOf(ctx, accountId);
  if (!isPopulated(ctx, account)) throw new SnaptradeApiError('POPULATING');
  return account;
}

function isPopulated(ctx: HandlerContext, account: SandboxAccount): boolean {
  const auth = ctx.engine.store.authorizations.get(account.authorizationId);
  return !auth || auth.populatingUntil <= Date.now();
}

/** An order of the account by brokerage order id or by the client order id it was placed with. */
function orderOf(ctx: HandlerContext, account: SandboxAccount, id: string): SandboxOrder {
  const order = ctx.engine.store.findOrder(account.id, id);
  if (!order) throw new SnaptradeApiError('NOT_FOUND', `Order ${id} not found in account ${account.id}`);
  return order;
}

function cancel(ctx: HandlerContext): SandboxOrder {
  const account = accountOf(ctx, ctx.params.accountId, true);
  const order = orderOf(ctx, account, String(ctx.body?.brokerage_order_id ?? ''));
  try {
    return ctx.engine.cancelOrder(account.id, order.brokerageOrderId);
  } catch (err) {
    if (err instanceof TradeRejected) throw new SnaptradeApiError('TRADE_REJECTED', err.message);
    throw err;
  }
}

/** `GET /accounts/{id}/orders[/v2]`: orders of the last `days` (30, at most 90) in a `state`. */
function ordersOf(ctx: HandlerContext): SandboxOrder[] {
  const account = accountOf(ctx, ctx.params.accountId, true);
  const state = ctx.query.state ?? 'all';
  const days = Math.min(Number(ctx.query.days ?? 30), 90);
  const since = Date.now() - days * 86_400_000;
  return ctx.engine.store
    .ordersOf(account.id)
    .filter((o) => o.placedAt.getTime() >= since)
    .filter((o) => state === 'all' || (state === 'open' ? o.status === 'ACCEPTED' : o.status === 'EXECUTED'));
}

/** `GET /accounts/{id}/recentOrders[/v2]`: the last 24 hours, executed only unless `only_executed=false`. */
function recentOrdersOf(ctx: HandlerContext): SandboxOrder[] {
  const account = accountOf(ctx, ctx.params.accountId, true);
  const onlyExecuted = String(ctx.query.only_executed) !== 'false';
  const since = Date.now() - 86_400_000;
  return ctx.engine.store
    .ordersOf(account.id)
    .filter((o) => o.placedAt.getTime() >= since && (!onlyExecuted || o.status === 'EXECUTED'));
}

function csv(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((v) => v.trim())
    .filter((v) => v.length > 0);
}

/** The `startDate`/`endDate` (inclusive, on the trade date) and `type` filters of the activity endpoints. */
function activityFilter(ctx: HandlerContext): (activity: SandboxActivity) => boolean {
  const start = ctx.query.startDate;
  const end = ctx.query.endDate;
  const types = new Set(csv(ctx.query.type).map((t) => t.toUpperCase()));
  return (activity) => {
    const day = activity.tradeDate.toISOString().slice(0, 10);
    return (!start || day >= start) && (!end || day <= end) && (types.size === 0 || types.has(activity.type));
  };
}

/** Securities whose ticker or name contains the text: exact tickers first, then prefixes, then the rest. */
function searchSecurities(ctx: HandlerContext, text: string, limit: number) {
  const needle = text.trim().toLowerCase();
  const rank = (symbol: string, description: string): number => {
    const ticker = symbol.toLowerCase();
    if (ticker === needle || ticker.split('.')[0] === needle) return 0;
    if (ticker.startsWith(needle)) return 1;
    if (ticker.includes(needle)) return 2;
    return description.toLowerCase().includes(needle) ? 3 : -1;
  };
  return ctx.engine.priceBook
    .securities()
    .map((security) => ({ security, rank: rank(security.symbol, security.description) }))
    .filter((r) => r.rank >= 0)
    .sort((a, b) => a.rank - b.rank || a.security.symbol.localeCompare(b.security.symbol))
    .slice(0, limit)
    .map((r) => r.security);
}

function authorizationOf(ctx: HandlerContext) {
  const user = userOf(ctx);
  const auth = ctx.engine.store.authorizations.get(ctx.params.authorizationId ?? '');
  if (!auth || auth.userId !== user.userId) throw new SnaptradeApiError('NOT_FOUND');
  return auth;
}

function securityOf(ctx: HandlerContext, idOrTicker: string | undefined | null) {
  if (!idOrTicker) return undefined;
  const book = ctx.engine.priceBook;
  return book.securityById(idOrTicker) ?? book.security(idOrTicker.toUpperCase());
}

function num(value: unknown): number | null {
  if (value === null || value === undefined || value === '') return null;
  const n = typeof value === 'number' ? value : Number(value);
  return Number.isFinite(n) ? n : null;
}

function placeOrder(ctx: HandlerContext, trade: Omit<PendingTrade, 'id' | 'expiresAt' | 'userId'>, clientOrderId?: string | null) {
  const account = accountOf(ctx, trade.accountId, true);
  try {
    const order = ctx.engine.placeOrder({
      accountId: account.id,
      symbol: trade.symbol,
      action: trade.action,
      orderType: trade.orderType,
      timeInForce: trade.timeInForce,
      units: trade.units,
      limitPrice: trade.orderType === 'Limit' || trade.orderType === 'StopLimit' ? trade.price : null,
      stopPrice: trade.stop,
      clientOrderId: clientOrderId ?? null,
    });
    return ok(rep.orderRecord(ctx.engine, order));
  } catch (err) {
    if (err instanceof TradeRejected) throw new SnaptradeApiError('TRADE_REJECTED', err.message);
    throw err;
  }
}

/** Units of an order form: `units`, or `notional_value` divided by the current price. */
function unitsOf(ctx: HandlerContext, body: Record<string, unknown>, symbol: string): number {
  const units = num(body.units);
  if (units !== null) return units;
  const notional = num(body.notional_value);
  const price = ctx.engine.price(symbol);
  if (notional !== null && price) return Math.floor((notional / price) * 1e6) / 1e6;
  throw new SnaptradeApiError('TRADE_REJECTED', 'units or notional_value is required');
}

export const HANDLERS: Record<string, OperationHandler> = {
  ApiStatus_check: () => ok({ version: 151, timestamp: new Date().toISOString(), online: true }),

  // --- users --------------------------------------------------------------------------
  Authentication_registerSnapTradeUser: (ctx) => {
    const userId = String(ctx.body?.userId ?? '');
    if (!userId) throw new SnaptradeApiError('INVALID_REQUEST', 'userId is required');
    if (ctx.engine.store.users.has(userId)) {
      throw new SnaptradeApiError('USER_EXISTS', `User with the following userId already exist: '${userId}'`);
    }
    const user = ctx.engine.registerUser(userId);
    return ok({ userId: user.userId, userSecret: user.userSecret });
  },
  Authentication_deleteSnapTradeUser: (ctx) => {
    const userId = ctx.query.userId ?? '';
    if (!ctx.engine.deleteUser(userId)) throw new SnaptradeApiError('NOT_FOUND');
    return ok({ status: 'deleted', detail: `User deleted: ${userId}`, userId });
  },
  // The credentials travel in the body here, so the server's query check does not apply.
  Authentication_resetSnapTradeUserSecret: (ctx) => {
    const userId = String(ctx.body?.userId ?? '');
    const user = ctx.engine.store.users.get(userId);
    if (!user || user.userSecret !== String(ctx.body?.userSecret ?? '')) throw new SnaptradeApiError('INVALID_USER');
    const rotated = ctx.engine.store.resetUserSecret(userId);
    return ok({ userId: rotated.userId, userSecret: rotated.userSecret });
  },
  Authentication_listSnapTradeUsers: (ctx) => ok([...ctx.engine.store.users.keys()]),
  Authentication_loginSnapTradeUser: (ctx) => {
    const user = userOf(ctx);
    const body = ctx.body ?? {};
    const broker = typeof body.broker === 'string' ? body.broker : undefined;
    const reconnect = typeof body.reconnect === 'string' ? body.reconnect : undefined;
    if (reconnect) {
      const auth = ctx.engine.store.authorizations.get(reconnect);
      if (!auth || auth.userId !== user.userId) throw new SnaptradeApiError('NOT_FOUND');
    }
    const session = ctx.portal.create({
      userId: user.userId,
      broker,
      reconnect,
      connectionType: (body.connectionType as 'read' | 'trade' | 'trade-if-available' | undefined) ?? 'read',
      customRedirect: typeof body.customRedirect === 'string' ? body.customRedirect : undefined,
    });
    return ok({ redirectURI: ctx.portal.redirectUri(ctx.publicUrl, session), sessionId: session.sessionId });
  },

  // --- connections --------------------------------------------------------------------
  Connections_listBrokerageAuthorizations: (ctx) =>
    ok(ctx.engine.store.authorizationsOf(userOf(ctx).userId).map((a) => rep.authorization(a, ctx.publicUrl))),
  Connections_detailBrokerageAuthorization: (ctx) => ok(rep.authorization(authorizationOf(ctx), ctx.publicUrl)),
  Connections_removeBrokerageAuthorization: (ctx) => {
    ctx.engine.removeConnection(authorizationOf(ctx).id);
    return { status: 204 };
  },
  Connections_refreshBrokerageAuthorization: (ctx) => {
    const auth = authorizationOf(ctx);
    if (auth.disabled) throw new SnaptradeApiError('CONNECTION_DISABLED');
    if (ctx.engine.refresh(auth.id) === 'too_soon') throw new SnaptradeApiError('REFRESH_TOO_SOON');
    return ok({ detail: `Connection ${auth.id} scheduled for refresh` });
  },
  Connections_disableBrokerageAuthorization: (ctx) => {
    const auth = authorizationOf(ctx);
    if (auth.disabled) throw new SnaptradeApiError('ALREADY_DISABLED');
    ctx.engine.breakConnection(auth.id);
    return ok({ detail: `Connection ${auth.id} disabled` });
  },
  Connections_listBrokerageAuthorizationAccounts: (ctx) => {
    const auth = authorizationOf(ctx);
    return ok(ctx.engine.store.accountsOfAuthorization(auth.id).map((a) => rep.account(ctx.engine, a)));
  },

  // --- accounts -----------------------------------------------------------------------
  AccountInformation_listUserAccounts: (ctx) =>
    ok(ctx.engine.store.accountsOf(userOf(ctx).userId).map((a) => rep.account(ctx.engine, a))),
  AccountInformation_getUserAccountDetails: (ctx) => ok(rep.account(ctx.engine, accountOf(ctx, ctx.params.accountId))),
  AccountInformation_getAllAccountPositions: (ctx) =>
    ok(rep.positionsAll(ctx.engine, accountOf(ctx, ctx.params.accountId, true))),
  AccountInformation_getUserAccountBalance: (ctx) => ok(rep.balances(accountOf(ctx, ctx.params.accountId, true))),
  AccountInformation_getUserAccountOrders: (ctx) => ok(ordersOf(ctx).map((o) => rep.orderRecord(ctx.engine, o))),
  AccountInformation_getUserAccountOrdersV2: (ctx) => ok({ orders: ordersOf(ctx).map((o) => rep.orderRecordV2(ctx.engine, o)) }),
  AccountInformation_getUserAccountRecentOrders: (ctx) =>
    ok({ orders: recentOrdersOf(ctx).map((o) => rep.orderRecord(ctx.engine, o)) }),
  AccountInformation_getUserAccountRecentOrdersV2: (ctx) =>
    ok({ orders: recentOrdersOf(ctx).map((o) => rep.orderRecordV2(ctx.engine, o)) }),
  AccountInformation_getUserAccountOrderDetail: (ctx) => {
    const account = accountOf(ctx, ctx.params.accountId, true);
    return ok(rep.orderRecord(ctx.engine, orderOf(ctx, account, String(ctx.body?.brokerage_order_id ?? ''))));
  },
  AccountInformation_getUserAccountOrderDetailV2: (ctx) => {
    const account = accountOf(ctx, ctx.params.accountId, true);
    return ok(rep.orderRecordV2(ctx.engine, orderOf(ctx, account, ctx.params.brokerageOrderId ?? '')));
  },

  // --- activities ---------------------------------------------------------------------
  AccountInformation_getAccountActivities: (ctx) => {
    const account = syncedAccountOf(ctx, ctx.params.accountId);
    const offset = Number(ctx.query.offset ?? 0);
    const limit = Math.min(Number(ctx.query.limit ?? ACTIVITY_PAGE_LIMIT), ACTIVITY_PAGE_LIMIT);
    const matching = ctx.engine.store.activitiesOf(account.id).filter(activityFilter(ctx));
    return ok({
      data: matching.slice(offset, offset + limit).map((x) => rep.accountActivity(ctx.engine, account, x)),
      pagination: { offset, limit, total: matching.length },
    });
  },
  TransactionsAndReporting_getActivities: (ctx) => {
    const user = userOf(ctx);
    const authorizations = new Set(csv(ctx.query.brokerageAuthorizations));
    const accountIds = new Set(csv(ctx.query.accounts));
    // `brokerageAuthorizations` takes precedence over `accounts`, as documented.
    const accounts = ctx.engine.store
      .accountsOf(user.userId)
      .filter((a) =>
        authorizations.size > 0 ? authorizations.has(a.authorizationId) : accountIds.size === 0 || accountIds.has(a.id),
      )
      .filter((a) => isPopulated(ctx, a));
    const keep = activityFilter(ctx);
    const simple = new Map(accounts.map((a) => [a.id, rep.accountSimple(ctx.engine, a)]));
    const rows = accounts
      .flatMap((a) => ctx.engine.store.activitiesOf(a.id).filter(keep).map((x) => ({ a, x })))
      .sort((p, q) => q.x.tradeDate.getTime() - p.x.tradeDate.getTime())
      .slice(0, ACTIVITIES_MAX);
    return ok(rows.map(({ a, x }) => rep.universalActivity(ctx.engine, a, simple.get(a.id)!, x)));
  },

  // --- reference data -----------------------------------------------------------------
  ReferenceData_getSymbolsByTicker: (ctx) => {
    const security = securityOf(ctx, ctx.params.query);
    if (!security) throw new SnaptradeApiError('NOT_FOUND');
    return ok(rep.universalSymbol(security));
  },
  ReferenceData_symbolSearchUserAccount: (ctx) => {
    accountOf(ctx, ctx.params.accountId);
    return ok(searchSecurities(ctx, String(ctx.body?.substring ?? ''), 50).map((s) => rep.universalSymbol(s)));
  },
  // "Only the first 20 results are returned."
  ReferenceData_getSymbols: (ctx) =>
    ok(searchSecurities(ctx, String(ctx.body?.substring ?? ''), 20).map((s) => rep.universalSymbol(s))),
  ReferenceData_getSecurityTypes: (ctx) => ok(rep.securityTypes(ctx.engine.priceBook.securities())),
  ReferenceData_getStockExchanges: (ctx) => ok(rep.exchanges(ctx.engine.priceBook.securities())),
  ReferenceData_getPartnerInfo: (ctx) => ok(rep.partnerInfo(ctx.query.clientId ?? '', SANDBOX_BROKERAGES, ctx.publicUrl)),
  ReferenceData_listAllBrokerageAuthorizationType: (ctx) => {
    const slug = ctx.query.brokerage?.toUpperCase();
    return ok(rep.brokerageAuthorizationTypes(SANDBOX_BROKERAGES.filter((b) => !slug || b.slug === slug)));
  },
  ReferenceData_listAllCurrenciesRates: (ctx) =>
    ok(ctx.engine.rates.pairs().map((p) => ({ src: currencyOf(p.src), dst: currencyOf(p.dst), exchange_rate: p.rate }))),
  ReferenceData_getCurrencyExchangeRatePair: (ctx) => {
    const [src, dst] = (ctx.params.currencyPair ?? '').toUpperCase().split('-');
    const rate = src && dst ? ctx.engine.rates.rate(src, dst) : undefined;
    if (rate === undefined) throw new SnaptradeApiError('NOT_FOUND');
    return ok({ src: currencyOf(src!), dst: currencyOf(dst!), exchange_rate: rate });
  },
  ReferenceData_listAllCurrencies: (ctx) => ok(ctx.engine.rates.codes().map((c) => currencyOf(c))),
  ReferenceData_listAllBrokerages: (ctx) => ok(SANDBOX_BROKERAGES.map((b) => rep.brokerage(b, ctx.publicUrl))),

  // --- trading ------------------------------------------------------------------------
  Trading_getOrderImpact: (ctx) => {
    const body = ctx.body ?? {};
    const user = userOf(ctx);
    const account = accountOf(ctx, String(body.account_id ?? ''), true);
    const security = securityOf(ctx, String(body.universal_symbol_id ?? ''));
    if (!security) throw new SnaptradeApiError('TRADE_REJECTED', 'Unknown universal_symbol_id');
    const trade: PendingTrade = {
      id: randomUUID(),
      accountId: account.id,
      userId: user.userId,
      symbol: security.symbol,
      action: body.action as 'BUY' | 'SELL',
      orderType: body.order_type as PendingTrade['orderType'],
      timeInForce: String(body.time_in_force),
      units: unitsOf(ctx, body, security.symbol),
      price: num(body.price),
      stop: num(body.stop),
      expiresAt: Date.now() + TRADE_IMPACT_TTL_MS,
    };
    ctx.engine.store.pendingTrades.set(trade.id, trade);
    return ok(rep.tradeImpact(ctx.engine, trade));
  },
  Trading_placeOrder: (ctx) => {
    const user = userOf(ctx);
    const trade = ctx.engine.store.pendingTrades.get(ctx.params.tradeId ?? '');
    if (!trade || trade.userId !== user.userId || trade.expiresAt < Date.now()) {
      throw new SnaptradeApiError('TRADE_REJECTED', 'Trade not found or expired; check the order impact again');
    }
    ctx.engine.store.pendingTrades.delete(trade.id);
    return placeOrder(ctx, trade);
  },
  Trading_placeForceOrder: (ctx) => {
    const body = ctx.body ?? {};
    const security =
      securityOf(ctx, typeof body.universal_symbol_id === 'string' ? body.universal_symbol_id : undefined) ??
      securityOf(ctx, typeof body.symbol === 'string' ? body.symbol : undefined);
    if (!security) throw new SnaptradeApiError('TRADE_REJECTED', 'Unknown symbol');
    const action = String(body.action);
    if (action !== 'BUY' && action !== 'SELL') throw new SnaptradeApiError('TRADE_REJECTED', `${action} orders are not supported`);
    return placeOrder(
      ctx,
      {
        accountId: String(body.account_id ?? ''),
        symbol: security.symbol,
        action,
        orderType: body.order_type as PendingTrade['orderType'],
        timeInForce: String(body.time_in_force),
        units: unitsOf(ctx, body, security.symbol),
        price: num(body.price),
        stop: num(body.stop),
      },
      typeof body.client_order_id === 'string' ? body.client_order_id : null,
    );
  },
  Trading_cancelOrder: (ctx) => {
    const order = cancel(ctx);
    return ok({ brokerage_order_id: order.brokerageOrderId, raw_response: { status: 'canceled' } });
  },
  // Deprecated alias of cancelOrder that answers with the order itself.
  Trading_cancelUserAccountOrder: (ctx) => ok(rep.orderRecord(ctx.engine, cancel(ctx))),
  Trading_getUserAccountQuotes: (ctx) => {
    accountOf(ctx, ctx.params.accountId, true);
    const wanted = csv(ctx.query.symbols);
    if (wanted.length === 0) throw new SnaptradeApiError('INVALID_REQUEST', 'symbols is required');
    if (wanted.length > QUOTES_MAX_SYMBOLS) {
      throw new SnaptradeApiError('INVALID_REQUEST', `At most ${QUOTES_MAX_SYMBOLS} symbols may be quoted at once`);
    }
    // `symbols` are universal symbol ids unless use_ticker is true.
    const byTicker = String(ctx.query.use_ticker).toLowerCase() === 'true';
    const book = ctx.engine.priceBook;
    const quotes = wanted.map((value) => {
      const security = byTicker ? book.security(value.toUpperCase()) : book.securityById(value);
      const last = security ? book.quote(security.symbol) : undefined;
      if (!security || !last) {
        throw new SnaptradeApiError(
          'INVALID_REQUEST',
          byTicker
            ? `Unknown ticker ${value}`
            : `Unknown universal symbol id ${value} (set use_ticker=true to quote tickers)`,
        );
      }
      return rep.quote(security, last);
    });
    return ok(quotes);
  },
};
