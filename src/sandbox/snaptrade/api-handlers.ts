import { randomUUID } from 'node:crypto';
import { SANDBOX_BROKERAGES } from '../scenario/brokerages.ts';
import { TradeRejected, type ScenarioEngine } from '../scenario/scenario-engine.ts';
import { currencyOf } from '../scenario/currencies.ts';
import type { PendingTrade, SandboxAccount, SandboxUser } from '../scenario/scenario-store.ts';
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
  AccountInformation_getUserAccountOrders: (ctx) => {
    const account = accountOf(ctx, ctx.params.accountId, true);
    const state = ctx.query.state ?? 'all';
    const days = Math.min(Number(ctx.query.days ?? 30), 90);
    const since = Date.now() - days * 86_400_000;
    const orders = ctx.engine.store
      .ordersOf(account.id)
      .filter((o) => o.placedAt.getTime() >= since)
      .filter((o) => state === 'all' || (state === 'open' ? o.status === 'ACCEPTED' : o.status === 'EXECUTED'));
    return ok(orders.map((o) => rep.orderRecord(ctx.engine, o)));
  },
  AccountInformation_getUserAccountRecentOrders: (ctx) => {
    const account = accountOf(ctx, ctx.params.accountId, true);
    const onlyExecuted = ctx.query.only_executed !== 'false';
    const since = Date.now() - 86_400_000;
    const orders = ctx.engine.store
      .ordersOf(account.id)
      .filter((o) => o.placedAt.getTime() >= since && (!onlyExecuted || o.status === 'EXECUTED'));
    return ok({ orders: orders.map((o) => rep.orderRecord(ctx.engine, o)) });
  },

  // --- reference data -----------------------------------------------------------------
  ReferenceData_getSymbolsByTicker: (ctx) => {
    const security = securityOf(ctx, ctx.params.query);
    if (!security) throw new SnaptradeApiError('NOT_FOUND');
    return ok(rep.universalSymbol(security));
  },
  ReferenceData_symbolSearchUserAccount: (ctx) => {
    accountOf(ctx, ctx.params.accountId);
    const needle = String(ctx.body?.substring ?? '').toLowerCase();
    const found = ctx.engine.priceBook
      .securities()
      .filter((s) => s.symbol.toLowerCase().includes(needle) || s.description.toLowerCase().includes(needle))
      .slice(0, 50);
    return ok(found.map((s) => rep.universalSymbol(s)));
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
    const account = accountOf(ctx, ctx.params.accountId, true);
    const id = String(ctx.body?.brokerage_order_id ?? '');
    try {
      ctx.engine.cancelOrder(account.id, id);
    } catch (err) {
      if (err instanceof TradeRejected) throw new SnaptradeApiError('TRADE_REJECTED', err.message);
      throw new SnaptradeApiError('NOT_FOUND');
    }
    return ok({ brokerage_order_id: id, raw_response: { status: 'canceled' } });
  },
};
