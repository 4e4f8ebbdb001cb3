import express, { type Request, type Router } from 'express';
import type { PriceBook, SandboxSecurity } from '../market/price-book.types.ts';
import { findAlpacaAsset } from './assets.ts';
import { AlpacaApiError } from './errors.ts';
import type { MarketFeed } from './market-feed.ts';
import { queryList, queryString } from './query-params.ts';
import { barJson, latestTradeJson, quoteJson, snapshotJson } from './wire-format.ts';

/**
 * Alpaca's stock market-data REST API, served from the price book through the market feed:
 * latest trades, quotes and minute bars, and snapshots, each for a batch (`symbols=`, keyed by
 * the symbols as asked, unknown ones left out) or for one symbol (404 when unknown). Every
 * route takes Alpaca's `feed` (one of the SDK's `StockLatestFeed` values; the sandbox has one
 * tape, so every feed serves the same prices) and `currency` (USD only).
 */

export interface MarketDataRouteDeps {
  book: PriceBook;
  feed: MarketFeed;
}

/** The SDK's `StockLatestFeed`. */
export const STOCK_FEEDS: readonly string[] = ['sip', 'iex', 'delayed_sip', 'otc', 'boats', 'overnight'];

function checkCommonParams(req: Request): void {
  const feed = queryString(req, 'feed');
  if (feed !== undefined && !STOCK_FEEDS.includes(feed)) throw new AlpacaApiError('MALFORMED_REQUEST', `invalid feed: ${feed}`);
  const currency = queryString(req, 'currency');
  if (currency !== undefined && currency.toUpperCase() !== 'USD') {
    throw new AlpacaApiError('MALFORMED_REQUEST', `unsupported currency: ${currency} (the sandbox quotes USD only)`);
  }
}

function symbolList(req: Request): string[] {
  const symbols = queryList(req, 'symbols');
  if (!symbols) throw new AlpacaApiError('MALFORMED_REQUEST', 'symbols is required');
  return symbols;
}

export function marketDataRouter(deps: MarketDataRouteDeps): Router {
  const { book, feed } = deps;
  const router = express.Router();

  router.use('/v2/stocks', (req, _res, next) => {
    checkCommonParams(req);
    next();
  });

  /** `{ [symbol]: item }` for the known symbols of `symbols=`, in the order asked. */
  const batch = (req: Request, item: (security: SandboxSecurity) => Record<string, unknown> | undefined): Record<string, unknown> => {
    const out: Record<string, unknown> = {};
    for (const symbol of symbolList(req)) {
      const security = findAlpacaAsset(book, symbol);
      const value = security && item(security);
      if (value) out[symbol] = value;
    }
    return out;
  };

  /** The item for the path's symbol, or 404. */
  const single = (req: Request, what: string, item: (security: SandboxSecurity) => Record<string, unknown> | undefined) => {
    const symbol = String(req.params.symbol);
    const security = findAlpacaAsset(book, symbol);
    const value = security && item(security);
    if (!value) throw new AlpacaApiError('NOT_FOUND', `no ${what} found for ${symbol}`);
    return { symbol, value };
  };

  const trade = (security: SandboxSecurity) => {
    const latest = feed.latestTrade(security.symbol);
    return latest && latestTradeJson(latest, security);
  };
  const quote = (security: SandboxSecurity) => {
    const latest = feed.latestQuote(security.symbol);
    return latest && quoteJson(latest, security);
  };
  const bar = (security: SandboxSecurity) => {
    const latest = feed.latestMinuteBar(security.symbol);
    return latest && barJson(latest);
  };
  const snapshot = (security: SandboxSecurity) => snapshotJson(feed, security);

  router.get('/v2/stocks/trades/latest', (req, res) => {
    res.json({ trades: batch(req, trade) });
  });

  router.get('/v2/stocks/:symbol/trades/latest', (req, res) => {
    const { symbol, value } = single(req, 'trade', trade);
    res.json({ symbol, trade: value });
  });

  router.get('/v2/stocks/quotes/latest', (req, res) => {
    res.json({ quotes: batch(req, quote) });
  });

  router.get('/v2/stocks/:symbol/quotes/latest', (req, res) => {
    const { symbol, value } = single(req, 'quote', quote);
    res.json({ symbol, quote: value });
  });

  router.get('/v2/stocks/bars/latest', (req, res) => {
    res.json({ bars: batch(req, bar) });
  });

  router.get('/v2/stocks/:symbol/bars/latest', (req, res) => {
    const { symbol, value } = single(req, 'bar', bar);
    res.json({ symbol, bar: value });
  });

  // Alpaca's multi-symbol snapshot answer is the map itself, with no envelope.
  router.get('/v2/stocks/snapshots', (req, res) => {
    res.json(batch(req, snapshot));
  });

  router.get('/v2/stocks/:symbol/snapshot', (req, res) => {
    const { symbol, value } = single(req, 'snapshot', snapshot);
    res.json({ symbol, ...value });
  });

  return router;
}
