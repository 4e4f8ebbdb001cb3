import { NotFoundError, RateLimitError } from '@alpacahq/alpaca-trade-api';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createAlpacaClient, type AlpacaClient } from '../../src/providers/alpaca/client.ts';
import { isAlpacaAsset } from '../../sandbox/alpaca/assets.ts';
import { startAlpacaSandbox, type AlpacaSandbox } from '../../sandbox/alpaca/server.ts';
import { createPriceBook } from '../../sandbox/market/price-book.ts';
import type { PriceBook, SandboxTick } from '../../sandbox/market/price-book.types.ts';
import { KEY_ID, SECRET } from './alpaca-fixture.ts';

/**
 * The stock market-data REST endpoints beyond latest trades: latest quote (one symbol), latest
 * bars, snapshots. The price book runs on a test clock so bars are deterministic.
 */

let clock: number;
let book: PriceBook;
let sandbox: AlpacaSandbox;
let client: AlpacaClient;
let ticks: SandboxTick[];

const headers = { 'APCA-API-KEY-ID': KEY_ID, 'APCA-API-SECRET-KEY': SECRET };

beforeEach(async () => {
  // Friday 2024-05-24, 11:34:10 in New York.
  clock = Date.parse('2024-05-24T15:34:10.000Z');
  book = createPriceBook({ seed: 42, now: () => new Date(clock) });
  sandbox = await startAlpacaSandbox({ port: 0, priceBook: book, keyId: KEY_ID, secretKey: SECRET, logger: pino({ level: 'silent' }) });
  client = createAlpacaClient({ keyId: KEY_ID, secretKey: SECRET, tradingUrl: sandbox.url, dataUrl: sandbox.url, retry: false });
  ticks = [];
  book.onTick((tick) => ticks.push(tick));
});

afterEach(async () => {
  await sandbox.close();
  book.close();
});

function tickAt(iso: string, symbol: string, price: number): SandboxTick {
  clock = Date.parse(iso);
  book.setPrice(symbol, price);
  return ticks[ticks.length - 1]!;
}

function vwap(of: SandboxTick[]): number {
  const volume = of.reduce((sum, t) => sum + t.size, 0);
  return Math.round((of.reduce((sum, t) => sum + t.price * t.size, 0) / volume) * 10_000) / 10_000;
}

describe('Alpaca sandbox market-data REST: quotes, bars and snapshots', () => {
  it('serves the latest quote of one symbol around the latest trade', async () => {
    tickAt('2024-05-24T15:34:20.000Z', 'AAPL', 200);
    const single = await client.sdk.marketData.stocks.stockLatestQuoteSingle({ symbol: 'AAPL' });
    expect(single.symbol).toBe('AAPL');
    expect(single.quote.bp).toBeLessThan(200);
    expect(single.quote.ap).toBeGreaterThan(200);
    expect(single.quote.t).toEqual(new Date('2024-05-24T15:34:20.000Z'));
    expect(single.quote.z).toBe('C');
    const batch = await client.sdk.marketData.stocks.stockLatestQuotes({ symbols: 'AAPL' });
    expect(batch.quotes.AAPL).toEqual(single.quote);
    await expect(client.sdk.marketData.stocks.stockLatestQuoteSingle({ symbol: 'SHOP.TO' })).rejects.toBeInstanceOf(NotFoundError);
  });

  it('builds the latest minute bar from the ticks of the latest trade minute', async () => {
    const minute = [
      tickAt('2024-05-24T15:34:15.000Z', 'AAPL', 200),
      tickAt('2024-05-24T15:34:30.000Z', 'AAPL', 205),
      tickAt('2024-05-24T15:34:50.000Z', 'AAPL', 198),
    ];
    const { stocks } = client.sdk.marketData;
    const latest = await stocks.stockLatestBars({ symbols: 'AAPL,NVDA,SHOP.TO,NOPE' });
    expect(Object.keys(latest.bars).sort()).toEqual(['AAPL', 'NVDA']);
    expect(latest.bars.AAPL).toEqual({
      t: new Date('2024-05-24T15:34:00.000Z'),
      o: 200,
      h: 205,
      l: 198,
      c: 198,
      v: minute.reduce((sum, t) => sum + t.size, 0),
      n: 3,
      vw: vwap(minute),
    });
    // NVDA has not traded since the book opened: its bar is the one trade the latest-trade
    // endpoint reports, at the book's price.
    const nvdaTrade = await stocks.stockLatestTradeSingle({ symbol: 'NVDA' });
    expect(latest.bars.NVDA).toMatchObject({ o: nvdaTrade.trade.p, h: nvdaTrade.trade.p, l: nvdaTrade.trade.p, c: nvdaTrade.trade.p, n: 1 });
    expect(latest.bars.NVDA!.t).toEqual(new Date('2024-05-24T15:34:00.000Z'));

    // The next minute starts a new bar.
    const next = tickAt('2024-05-24T15:35:05.000Z', 'AAPL', 201);
    const single = await stocks.stockLatestBarSingle({ symbol: 'AAPL', feed: 'iex' });
    expect(single.symbol).toBe('AAPL');
    expect(single.bar).toEqual({ t: new Date('2024-05-24T15:35:00.000Z'), o: 201, h: 201, l: 201, c: 201, v: next.size, n: 1, vw: 201 });
    await expect(stocks.stockLatestBarSingle({ symbol: 'NOPE' })).rejects.toBeInstanceOf(NotFoundError);
  });

  it('serves snapshots whose previous daily bar closes at the price book previous close', async () => {
    const day = [
      tickAt('2024-05-24T15:34:15.000Z', 'AAPL', 200),
      tickAt('2024-05-24T15:34:30.000Z', 'AAPL', 205),
      tickAt('2024-05-24T15:35:05.000Z', 'AAPL', 199),
    ];
    const { stocks } = client.sdk.marketData;
    const snapshots = await stocks.stockSnapshots({ symbols: 'AAPL,MSFT,SHOP.TO,NOPE', feed: 'sip' });
    expect(Object.keys(snapshots).sort()).toEqual(['AAPL', 'MSFT']);
    const aapl = snapshots.AAPL!;
    expect(aapl.latestTrade).toMatchObject({ p: 199, s: day[2]!.size, x: 'Q', z: 'C', t: new Date('2024-05-24T15:35:05.000Z') });
    expect(aapl.latestQuote!.bp).toBeLessThan(199);
    expect(aapl.latestQuote!.ap).toBeGreaterThan(199);
    expect(aapl.minuteBar).toMatchObject({ t: new Date('2024-05-24T15:35:00.000Z'), o: 199, c: 199, n: 1 });
    // The daily bar is the New York day of the latest trade (midnight EDT = 04:00Z).
    expect(aapl.dailyBar).toEqual({
      t: new Date('2024-05-24T04:00:00.000Z'),
      o: 200,
      h: 205,
      l: 199,
      c: 199,
      v: day.reduce((sum, t) => sum + t.size, 0),
      n: 3,
      vw: vwap(day),
    });
    const previousClose = book.quote('AAPL')!.previousClose;
    expect(aapl.prevDailyBar).toEqual({
      t: new Date('2024-05-23T04:00:00.000Z'),
      o: previousClose,
      h: previousClose,
      l: previousClose,
      c: previousClose,
      v: 0,
      n: 0,
      vw: previousClose,
    });
    expect(snapshots.MSFT!.prevDailyBar!.c).toBe(book.quote('MSFT')!.previousClose);
    expect(snapshots.MSFT!.latestTrade!.p).toBe(book.quote('MSFT')!.price);

    const single = await stocks.stockSnapshotSingle({ symbol: 'AAPL' });
    expect(single.symbol).toBe('AAPL');
    expect(single.prevDailyBar).toEqual(aapl.prevDailyBar);
    expect(single.dailyBar).toEqual(aapl.dailyBar);
    await expect(stocks.stockSnapshotSingle({ symbol: 'SWVXX' })).rejects.toBeInstanceOf(NotFoundError);

    // Alpaca's wire keys, with no envelope around the multi-symbol map.
    const raw = (await (await fetch(`${sandbox.url}/v2/stocks/snapshots?symbols=AAPL`, { headers })).json()) as Record<string, Record<string, unknown>>;
    expect(Object.keys(raw)).toEqual(['AAPL']);
    expect(Object.keys(raw.AAPL!).sort()).toEqual(['dailyBar', 'latestQuote', 'latestTrade', 'minuteBar', 'prevDailyBar']);
    expect(Object.keys(raw.AAPL!.prevDailyBar as object).sort()).toEqual(['c', 'h', 'l', 'n', 'o', 't', 'v', 'vw']);
  });

  it('gives the previous close of every listing in one batched snapshot request', async () => {
    const symbols = book.securities().filter(isAlpacaAsset).map((s) => s.symbol);
    expect(symbols.length).toBeGreaterThan(20);
    sandbox.resetRequestCounts();
    const snapshots = await client.sdk.marketData.stocks.stockSnapshots({ symbols: [...symbols, 'SHOP.TO'].join(',') });
    expect(Object.keys(snapshots).sort()).toEqual([...symbols].sort());
    for (const symbol of symbols) expect(snapshots[symbol]!.prevDailyBar!.c).toBe(book.quote(symbol)!.previousClose);
    expect(sandbox.requestCounts().byRoute).toEqual({ 'GET /v2/stocks/snapshots': 1 });
  });

  it('holds snapshots and latest bars to the per-key rate limit', async () => {
    // Alpaca counts in fixed one-minute windows: the four requests must fall in one, so they do
    // not start in a window's last 15 s (under load they once straddled a minute and the last
    // one was allowed by the next window).
    const intoMinute = Date.now() % 60_000;
    if (intoMinute > 45_000) await new Promise((resolve) => setTimeout(resolve, 60_000 - intoMinute + 10));
    sandbox.setRateLimit(2);
    const { stocks } = client.sdk.marketData;
    await stocks.stockSnapshots({ symbols: 'AAPL,MSFT' });
    await stocks.stockLatestBars({ symbols: 'AAPL' });
    const err = await stocks.stockSnapshots({ symbols: 'AAPL' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RateLimitError);
    expect((err as RateLimitError).code).toBe(42910000);
    const raw = await fetch(`${sandbox.url}/v2/stocks/AAPL/snapshot`, { headers });
    expect(raw.status).toBe(429);
    expect(raw.headers.get('X-RateLimit-Remaining')).toBe('0');
  });

  it('accepts the SDK feeds and USD, and rejects an unknown feed or another currency with 400', async () => {
    for (const feed of ['iex', 'sip', 'delayed_sip', 'boats', 'overnight', 'otc']) {
      const res = await fetch(`${sandbox.url}/v2/stocks/snapshots?symbols=AAPL&feed=${feed}`, { headers });
      expect(res.status, feed).toBe(200);
    }
    for (const path of ['/v2/stocks/snapshots?symbols=AAPL', '/v2/stocks/AAPL/bars/latest?', '/v2/stocks/trades/latest?symbols=AAPL']) {
      const res = await fetch(`${sandbox.url}${path}&feed=nasdaq`, { headers });
      expect(res.status, path).toBe(400);
      expect(await res.json()).toEqual({ code: 40010000, message: 'invalid feed: nasdaq' });
    }
    expect((await fetch(`${sandbox.url}/v2/stocks/AAPL/quotes/latest?currency=USD`, { headers })).status).toBe(200);
    expect((await fetch(`${sandbox.url}/v2/stocks/AAPL/quotes/latest?currency=EUR`, { headers })).status).toBe(400);
    const noSymbols = await fetch(`${sandbox.url}/v2/stocks/snapshots`, { headers });
    expect(noSymbols.status).toBe(400);
  });
});
