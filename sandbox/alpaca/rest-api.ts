import express, { type NextFunction, type Request, type Response } from 'express';
import type { Logger } from '../../src/logging/logger.ts';
import type { PriceBook } from '../market/price-book.types.ts';
import { assetJson, findAlpacaAsset, isAlpacaAsset } from './assets.ts';
import { ACTIVITY_TYPES, type ActivityFilter, type AlpacaBrokerage, type OrderFilter, type SandboxAccount } from './brokerage.ts';
import { ALPACA_ERRORS, AlpacaApiError } from './errors.ts';
import {
  addDays,
  calendarDayJson,
  clockJson,
  datesBetween,
  findMarket,
  legacyCalendarDayJson,
  legacyClockJson,
  marketDate,
} from './market-calendar.ts';
import { marketDataRouter } from './market-data-routes.ts';
import type { MarketFeed } from './market-feed.ts';
import {
  queryBoolean,
  queryCalendarDate,
  queryDate,
  queryDecimal,
  queryDirection,
  queryList,
  queryPositiveInt,
  queryString,
  queryTime,
} from './query-params.ts';
import type { FaultInjector, KeyRateLimiter, RequestCounter } from './request-guards.ts';
import { accountJson, activityJson, orderJson, positionJson } from './wire-format.ts';

/**
 * The Alpaca-compatible REST API: trading (`/v2/account`, `/v2/account/activities`,
 * `/v2/positions`, `/v2/orders`, `/v2/assets`, `/v2/clock`, `/v3/clock`, `/v2/calendar`,
 * `/v3/calendar`) and market data (`/v2/stocks/...`, see `market-data-routes.ts`) on one app.
 * Every request is counted, may be failed by an injected fault, must carry a known key pair,
 * and is rate limited per key with Alpaca's `X-RateLimit-*` headers.
 */

export interface RestApiDeps {
  brokerage: AlpacaBrokerage;
  book: PriceBook;
  feed: MarketFeed;
  limiter: KeyRateLimiter;
  faults: FaultInjector;
  counter: RequestCounter;
  logger: Logger;
  /** The REST clock's time. @default () => new Date() */
  now?: () => Date;
}

/** A stable route name for counters: ids, symbols, activity types and markets become placeholders. */
export function routeKey(method: string, path: string): string {
  const normalized = path
    .replace(/^\/v2\/orders\/[^/]+$/, '/v2/orders/{order_id}')
    .replace(/^\/v2\/positions\/[^/]+$/, '/v2/positions/{symbol}')
    .replace(/^\/v2\/assets\/[^/]+$/, '/v2/assets/{symbol}')
    .replace(/^\/v2\/account\/activities\/[^/]+$/, '/v2/account/activities/{activity_type}')
    .replace(/^\/v3\/calendar\/[^/]+$/, '/v3/calendar/{market}')
    .replace(/^\/v2\/stocks\/(?!trades\/|quotes\/|bars\/)[^/]+\/(.+)$/, '/v2/stocks/{symbol}/$1');
  return `${method} ${normalized}`;
}

function accountOf(res: Response): SandboxAccount {
  return res.locals.account as SandboxAccount;
}

/** Longest `/v2/calendar` or `/v3/calendar` range the sandbox serves, in days. */
const MAX_CALENDAR_DAYS = 3660;

/** `start`/`end` of a calendar request: today through a year on when absent. */
function calendarRange(req: Request, today: Date): string[] {
  const start = queryCalendarDate(req, 'start') ?? marketDate(today);
  const end = queryCalendarDate(req, 'end') ?? addDays(start, 365);
  if (end < start) return [];
  if (Date.parse(end) - Date.parse(start) > MAX_CALENDAR_DAYS * 86_400_000) {
    throw new AlpacaApiError('MALFORMED_REQUEST', `the sandbox serves at most ${MAX_CALENDAR_DAYS} calendar days per request`);
  }
  return datesBetween(start, end);
}

/** The filters shared by both activity routes; paging as Alpaca pages activities. */
function activityFilter(req: Request): ActivityFilter {
  const date = queryCalendarDate(req, 'date');
  const after = queryTime(req, 'after');
  const until = queryTime(req, 'until');
  if (date !== undefined && (after !== undefined || until !== undefined)) {
    throw new AlpacaApiError('MALFORMED_REQUEST', 'date cannot be used with after or until');
  }
  // Without a date, page_size defaults to 100 and cannot exceed it; with one, all by default.
  const pageSize = queryPositiveInt(req, 'page_size');
  return {
    date,
    after,
    until,
    direction: queryDirection(req),
    pageSize: date === undefined ? Math.min(pageSize ?? 100, 100) : pageSize,
    pageToken: queryString(req, 'page_token'),
  };
}

function checkActivityType(type: string): void {
  if (!ACTIVITY_TYPES.includes(type)) throw new AlpacaApiError('MALFORMED_REQUEST', `invalid activity type: ${type}`);
}

export function createRestApi(deps: RestApiDeps): express.Express {
  const { brokerage, book, feed, limiter, faults, counter, logger } = deps;
  const now = deps.now ?? (() => new Date());
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);

  // Count every request, whatever its fate.
  app.use((req, res, next) => {
    res.on('finish', () => {
      const account = res.locals.account as SandboxAccount | undefined;
      counter.record(routeKey(req.method, req.path), res.statusCode, account?.id);
      logger.debug({ method: req.method, path: req.path, status: res.statusCode, accountId: account?.id }, 'alpaca sandbox request');
    });
    next();
  });

  // Injected faults come before authentication, like an overloaded gateway.
  app.use((req, res, next) => {
    const status = faults.pick(req.path);
    if (status === undefined) return next();
    const body =
      status === 429
        ? { code: ALPACA_ERRORS.RATE_LIMITED.code, message: 'rate limit exceeded' }
        : { code: status * 100_000, message: status >= 500 ? 'internal server error (injected fault)' : 'injected fault' };
    res.status(status).json(body);
  });

  // Authentication: APCA-API-KEY-ID + APCA-API-SECRET-KEY must name one sandbox account.
  app.use((req, res, next) => {
    const account = brokerage.authenticate(req.get('APCA-API-KEY-ID'), req.get('APCA-API-SECRET-KEY'));
    if (!account) {
      res.status(ALPACA_ERRORS.UNAUTHORIZED.status).json({ code: ALPACA_ERRORS.UNAUTHORIZED.code, message: 'request is not authorized' });
      return;
    }
    res.locals.account = account;
    const decision = limiter.take(account.keyId);
    if (decision.limit > 0) {
      res.set('X-RateLimit-Limit', String(decision.limit));
      res.set('X-RateLimit-Remaining', String(decision.remaining));
      res.set('X-RateLimit-Reset', String(decision.reset));
    }
    if (!decision.allowed) {
      res.status(ALPACA_ERRORS.RATE_LIMITED.status).json({ code: ALPACA_ERRORS.RATE_LIMITED.code, message: 'rate limit exceeded' });
      return;
    }
    next();
  });

  app.use(express.json({ limit: '1mb' }));

  // --- trading -------------------------------------------------------------------------

  app.get('/v2/account', (_req, res) => {
    res.json(accountJson(accountOf(res), brokerage, book));
  });

  app.get('/v2/account/activities', (req, res) => {
    const types = queryList(req, 'activity_types');
    const category = queryString(req, 'category');
    if (category !== undefined && category !== 'trade_activity' && category !== 'non_trade_activity') {
      throw new AlpacaApiError('MALFORMED_REQUEST', 'category must be trade_activity or non_trade_activity');
    }
    if (types && category) throw new AlpacaApiError('MALFORMED_REQUEST', 'activity_types cannot be used with category');
    types?.forEach(checkActivityType);
    const activities = brokerage.listActivities(accountOf(res), { ...activityFilter(req), types, category });
    res.json(activities.map(activityJson));
  });

  app.get('/v2/account/activities/:activityType', (req, res) => {
    const type = String(req.params.activityType);
    checkActivityType(type);
    const activities = brokerage.listActivities(accountOf(res), { ...activityFilter(req), types: [type] });
    res.json(activities.map(activityJson));
  });

  app.get('/v2/positions', (_req, res) => {
    const account = accountOf(res);
    const positions = [...account.positions.values()]
      .sort((a, b) => a.symbol.localeCompare(b.symbol))
      .map((p) => positionJson(p, book.security(p.symbol)!, book, brokerage.qtyAvailable(account, p.symbol)));
    res.json(positions);
  });

  app.get('/v2/positions/:symbolOrAssetId', (req, res) => {
    const account = accountOf(res);
    const security = findAlpacaAsset(book, String(req.params.symbolOrAssetId));
    const position = security ? account.positions.get(security.symbol) : undefined;
    if (!security || !position) throw new AlpacaApiError('NOT_FOUND', 'position does not exist');
    res.json(positionJson(position, security, book, brokerage.qtyAvailable(account, security.symbol)));
  });

  // Close positions: market sells. The bulk form answers 207 with one result per position.
  app.delete('/v2/positions', (req, res) => {
    const account = accountOf(res);
    if (queryBoolean(req, 'cancel_orders') === true) brokerage.cancelAllOrders(account);
    const symbols = [...account.positions.keys()].sort();
    const results = symbols.map((symbol) => {
      try {
        return { symbol, status: 200, body: orderJson(brokerage.closePosition(account, symbol)) };
      } catch (err) {
        if (!(err instanceof AlpacaApiError)) throw err;
        return { symbol, status: err.status, body: err.toJSON() };
      }
    });
    res.status(207).json(results);
  });

  app.delete('/v2/positions/:symbolOrAssetId', (req, res) => {
    const account = accountOf(res);
    const security = findAlpacaAsset(book, String(req.params.symbolOrAssetId));
    if (!security) throw new AlpacaApiError('NOT_FOUND', 'position not found');
    const order = brokerage.closePosition(account, security.symbol, {
      qty: queryDecimal(req, 'qty'),
      percentage: queryDecimal(req, 'percentage'),
    });
    res.json(orderJson(order));
  });

  app.post('/v2/orders', (req, res) => {
    const body: unknown = req.body;
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw new AlpacaApiError('MALFORMED_REQUEST', 'request body format is invalid');
    }
    const order = brokerage.submitOrder(accountOf(res), body as Record<string, unknown>);
    res.json(orderJson(order));
  });

  app.get('/v2/orders', (req, res) => {
    const direction = queryDirection(req);
    // Every sandbox order is a simple order, so `nested` changes nothing; it must still be a boolean.
    queryBoolean(req, 'nested');
    const status = queryString(req, 'status');
    if (status !== undefined && !['open', 'closed', 'all'].includes(status)) {
      throw new AlpacaApiError('MALFORMED_REQUEST', 'status must be open, closed or all');
    }
    const limit = queryString(req, 'limit');
    if (limit !== undefined && !/^\d+$/.test(limit)) throw new AlpacaApiError('MALFORMED_REQUEST', 'invalid limit');
    const filter: OrderFilter = {
      status,
      direction,
      limit: limit === undefined ? undefined : Number(limit),
      symbols: queryList(req, 'symbols'),
      side: queryString(req, 'side'),
      after: queryDate(req, 'after'),
      until: queryDate(req, 'until'),
      afterOrderId: queryString(req, 'after_order_id'),
      beforeOrderId: queryString(req, 'before_order_id'),
      assetClasses: queryList(req, 'asset_class'),
    };
    res.json(brokerage.listOrders(accountOf(res), filter).map(orderJson));
  });

  // The colon is part of Alpaca's path, so this is a literal (regex) route, not a parameter.
  app.get(/^\/v2\/orders:by_client_order_id$/, (req, res) => {
    const clientOrderId = queryString(req, 'client_order_id');
    if (!clientOrderId) throw new AlpacaApiError('MALFORMED_REQUEST', 'client_order_id is required');
    const order = brokerage.orderByClientOrderId(accountOf(res), clientOrderId);
    if (!order) throw new AlpacaApiError('NOT_FOUND', 'order not found');
    res.json(orderJson(order));
  });

  app.get('/v2/orders/:orderId', (req, res) => {
    const order = accountOf(res).orders.get(String(req.params.orderId));
    if (!order) throw new AlpacaApiError('NOT_FOUND', `order not found for ${String(req.params.orderId)}`);
    res.json(orderJson(order));
  });

  // Cancel every open order: 207 with one `{id, status, body}` per order.
  app.delete('/v2/orders', (_req, res) => {
    const canceled = brokerage.cancelAllOrders(accountOf(res));
    res.status(207).json(canceled.map((order) => ({ id: order.id, status: 200, body: orderJson(order) })));
  });

  app.delete('/v2/orders/:orderId', (req, res) => {
    brokerage.cancelOrder(accountOf(res), String(req.params.orderId));
    res.status(204).end();
  });

  app.get('/v2/assets', (_req, res) => {
    res.json(book.securities().filter(isAlpacaAsset).map(assetJson));
  });

  app.get('/v2/assets/:symbolOrAssetId', (req, res) => {
    const security = findAlpacaAsset(book, String(req.params.symbolOrAssetId));
    if (!security) throw new AlpacaApiError('NOT_FOUND', 'asset not found');
    res.json(assetJson(security));
  });

  // One session per New York day, midnight to midnight; closed only when the control API says so.
  app.get('/v2/clock', (_req, res) => {
    res.json(legacyClockJson(now(), brokerage.isMarketOpen()));
  });

  app.get('/v3/clock', (req, res) => {
    const at = queryDate(req, 'time') ?? now();
    const markets = (queryList(req, 'markets') ?? ['NYSE']).map((code) => {
      const market = findMarket(code);
      if (!market) throw new AlpacaApiError('MALFORMED_REQUEST', `unsupported market: ${code}`);
      return market;
    });
    res.json({ clocks: markets.map((market) => clockJson(market, at, brokerage.isMarketOpen())) });
  });

  app.get('/v2/calendar', (req, res) => {
    const dateType = queryString(req, 'date_type');
    if (dateType !== undefined && dateType !== 'TRADING' && dateType !== 'SETTLEMENT') {
      throw new AlpacaApiError('MALFORMED_REQUEST', 'date_type must be TRADING or SETTLEMENT');
    }
    // Trades settle the day they are made, so both date types select the same days.
    res.json(calendarRange(req, now()).map(legacyCalendarDayJson));
  });

  app.get('/v3/calendar/:market', (req, res) => {
    const market = findMarket(String(req.params.market));
    if (!market) throw new AlpacaApiError('MALFORMED_REQUEST', `unsupported market: ${String(req.params.market)}`);
    const timezone = queryString(req, 'timezone');
    if (timezone !== undefined && timezone !== 'UTC') throw new AlpacaApiError('MALFORMED_REQUEST', 'timezone must be UTC');
    res.json({ market: { ...market }, calendar: calendarRange(req, now()).map((date) => calendarDayJson(date, timezone === 'UTC')) });
  });

  // --- market data -----------------------------------------------------------------------

  app.use(marketDataRouter({ book, feed }));

  // --- fallbacks ---------------------------------------------------------------------------

  app.use((_req, _res, next) => {
    next(new AlpacaApiError('NOT_FOUND', 'endpoint not found'));
  });

  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    if (err instanceof AlpacaApiError) {
      res.status(err.status).json(err.toJSON());
      return;
    }
    const status = (err as { status?: number; type?: string }).status;
    if (status === 400 || (err as { type?: string }).type === 'entity.parse.failed') {
      res.status(400).json({ code: ALPACA_ERRORS.MALFORMED_REQUEST.code, message: 'request body format is invalid' });
      return;
    }
    logger.error({ err, method: req.method, path: req.path }, 'alpaca sandbox handler failed');
    res.status(500).json({ code: ALPACA_ERRORS.INTERNAL.code, message: 'internal server error' });
  });

  return app;
}
