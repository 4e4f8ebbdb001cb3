import express, { type NextFunction, type Request, type Response } from 'express';
import type { Logger } from '../../logging/logger.ts';
import type { PriceBook } from '../market/price-book.types.ts';
import { assetJson, findAlpacaAsset, isAlpacaAsset, tapeOf } from './assets.ts';
import type { AlpacaBrokerage, OrderFilter, SandboxAccount } from './brokerage.ts';
import { ALPACA_ERRORS, AlpacaApiError } from './errors.ts';
import type { MarketFeed } from './market-feed.ts';
import type { FaultInjector, KeyRateLimiter, RequestCounter } from './request-guards.ts';
import { accountJson, latestTradeJson, orderJson, positionJson } from './wire-format.ts';

/**
 * The Alpaca-compatible REST API: trading (`/v2/account`, `/v2/positions`, `/v2/orders`,
 * `/v2/assets`, `/v2/clock`) and market data (`/v2/stocks/.../latest`) on one app. Every request
 * is counted, may be failed by an injected fault, must carry a known key pair, and is rate
 * limited per key with Alpaca's `X-RateLimit-*` headers.
 */

export interface RestApiDeps {
  brokerage: AlpacaBrokerage;
  book: PriceBook;
  feed: MarketFeed;
  limiter: KeyRateLimiter;
  faults: FaultInjector;
  counter: RequestCounter;
  logger: Logger;
}

/** A stable route name for counters: ids and symbols become placeholders. */
export function routeKey(method: string, path: string): string {
  const normalized = path
    .replace(/^\/v2\/orders\/[^/]+$/, '/v2/orders/{order_id}')
    .replace(/^\/v2\/positions\/[^/]+$/, '/v2/positions/{symbol}')
    .replace(/^\/v2\/assets\/[^/]+$/, '/v2/assets/{symbol}')
    .replace(/^\/v2\/stocks\/(?!trades\/|quotes\/|bars\/)[^/]+\/(.+)$/, '/v2/stocks/{symbol}/$1');
  return `${method} ${normalized}`;
}

function accountOf(res: Response): SandboxAccount {
  return res.locals.account as SandboxAccount;
}

function queryString(req: Request, name: string): string | undefined {
  const value = (req.query as Record<string, unknown>)[name];
  if (Array.isArray(value)) return value.length > 0 ? String(value[value.length - 1]) : undefined;
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function queryDate(req: Request, name: string): Date | undefined {
  const value = queryString(req, name);
  if (value === undefined) return undefined;
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) throw new AlpacaApiError('MALFORMED_REQUEST', `invalid ${name}`);
  return date;
}

function symbolList(req: Request): string[] {
  const raw = queryString(req, 'symbols');
  if (!raw) throw new AlpacaApiError('MALFORMED_REQUEST', 'symbols is required');
  return [...new Set(raw.split(',').map((s) => s.trim()).filter(Boolean))];
}

export function createRestApi(deps: RestApiDeps): express.Express {
  const { brokerage, book, feed, limiter, faults, counter, logger } = deps;
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

  app.post('/v2/orders', (req, res) => {
    const body: unknown = req.body;
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw new AlpacaApiError('MALFORMED_REQUEST', 'request body format is invalid');
    }
    const order = brokerage.submitOrder(accountOf(res), body as Record<string, unknown>);
    res.json(orderJson(order));
  });

  app.get('/v2/orders', (req, res) => {
    const direction = queryString(req, 'direction');
    if (direction !== undefined && direction !== 'asc' && direction !== 'desc') {
      throw new AlpacaApiError('MALFORMED_REQUEST', 'direction must be asc or desc');
    }
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
      symbols: queryString(req, 'symbols')?.split(',').map((s) => s.trim()).filter(Boolean),
      side: queryString(req, 'side'),
      after: queryDate(req, 'after'),
      until: queryDate(req, 'until'),
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

  // The sandbox market never closes.
  app.get('/v2/clock', (_req, res) => {
    const now = new Date();
    const tomorrow = new Date(now.getTime() + 86_400_000);
    res.json({ timestamp: now.toISOString(), is_open: true, next_open: tomorrow.toISOString(), next_close: tomorrow.toISOString() });
  });

  // --- market data -----------------------------------------------------------------------

  app.get('/v2/stocks/trades/latest', (req, res) => {
    const trades: Record<string, unknown> = {};
    for (const symbol of symbolList(req)) {
      const security = findAlpacaAsset(book, symbol);
      const trade = security && feed.latestTrade(security.symbol);
      if (security && trade) trades[symbol] = latestTradeJson(trade, security);
    }
    res.json({ trades });
  });

  app.get('/v2/stocks/:symbol/trades/latest', (req, res) => {
    const symbol = String(req.params.symbol);
    const security = findAlpacaAsset(book, symbol);
    const trade = security && feed.latestTrade(security.symbol);
    if (!security || !trade) throw new AlpacaApiError('NOT_FOUND', `no trade found for ${symbol}`);
    res.json({ symbol, trade: latestTradeJson(trade, security) });
  });

  app.get('/v2/stocks/quotes/latest', (req, res) => {
    const quotes: Record<string, unknown> = {};
    for (const symbol of symbolList(req)) {
      const security = findAlpacaAsset(book, symbol);
      const quote = security && feed.latestQuote(security.symbol);
      if (!security || !quote) continue;
      quotes[symbol] = {
        t: quote.at.toISOString(),
        bx: quote.bidExchange,
        bp: quote.bidPrice,
        bs: quote.bidSize,
        ax: quote.askExchange,
        ap: quote.askPrice,
        as: quote.askSize,
        c: ['R'],
        z: tapeOf(security),
      };
    }
    res.json({ quotes });
  });

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
