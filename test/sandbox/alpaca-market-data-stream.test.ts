import { decode, encode } from '@msgpack/msgpack';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { streaming } from '@alpacahq/alpaca-trade-api';
import { KEY_ID, SECRET, sleep, startHarness, waitFor, type AlpacaHarness } from './alpaca-fixture.ts';

type Stream = streaming.StockDataStream;

let h: AlpacaHarness | undefined;
const streams: Stream[] = [];
const sockets: WebSocket[] = [];

afterEach(async () => {
  for (const stream of streams.splice(0)) stream.disconnect();
  for (const socket of sockets.splice(0)) socket.terminate();
  await h?.close();
  h = undefined;
});

function openStream(harness: AlpacaHarness, options: Parameters<AlpacaHarness['client']['stockStream']>[0] = {}, client = harness.client): Stream {
  const stream = client.stockStream({ maxReconnectAttempts: -1, initialReconnectMs: 50, reconnectJitter: 0, pingIntervalMs: 0, ...options });
  streams.push(stream);
  stream.connect();
  return stream;
}

/** A raw client, to see the frames themselves. */
async function rawClient(url: string, msgpack: boolean): Promise<{ ws: WebSocket; frames: unknown[]; send(m: unknown): void; closed: Promise<void> }> {
  const ws = new WebSocket(url, { headers: msgpack ? { 'Content-Type': 'application/msgpack' } : {} });
  sockets.push(ws);
  const frames: unknown[] = [];
  ws.on('message', (data: Buffer, isBinary) => {
    const batch = (isBinary ? decode(data) : JSON.parse(data.toString('utf8'))) as unknown[];
    frames.push(...batch);
  });
  const closed = new Promise<void>((resolve) => ws.on('close', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return { ws, frames, closed, send: (m) => ws.send(msgpack ? encode(m) : JSON.stringify(m)) };
}

describe('Alpaca sandbox market-data stream through the real SDK', () => {
  it('authenticates, subscribes and delivers trades and quotes with msgpack timestamps', async () => {
    h = await startHarness();
    const stream = openStream(h);
    expect(await stream.waitForAuthentication(2000)).toBe(true);
    const trades: streaming.StreamTrade[] = [];
    const quotes: streaming.StreamQuote[] = [];
    stream.onTrade((t) => trades.push(t));
    stream.onQuote((q) => quotes.push(q));
    let subscribed = false;
    stream.on('subscription', () => (subscribed = true));
    stream.subscribeForTrades(['AAPL']);
    stream.subscribeForQuotes(['AAPL']);
    await waitFor(() => subscribed, 2000, 'subscription ack');
    await sleep(50);

    h.book.setPrice('AAPL', 233.33);
    h.book.setPrice('MSFT', 420); // not subscribed
    await waitFor(() => trades.length >= 1 && quotes.length >= 1, 2000, 'trade and quote');
    expect(trades).toHaveLength(1);
    expect(trades[0]).toMatchObject({ symbol: 'AAPL', price: 233.33, exchange: 'Q', tape: 'C', conditions: ['@'] });
    expect(trades[0]!.size).toBeGreaterThan(0);
    expect(trades[0]!.timestamp).toBeInstanceOf(Date);
    // A nanosecond RFC 3339 string only comes out of the msgpack timestamp extension.
    expect(trades[0]!.timestampRaw).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/);
    expect(quotes[0]!.symbol).toBe('AAPL');
    expect(quotes[0]!.bidPrice).toBeLessThan(233.33 + 1e-9);
    expect(quotes[0]!.askPrice).toBeGreaterThan(quotes[0]!.bidPrice);
  });

  it('answers every subscribe and unsubscribe with the full current subscription set', async () => {
    h = await startHarness();
    const raw = await rawClient(`${h.sandbox.wsUrl}/v2/iex`, true);
    raw.send({ action: 'auth', key: KEY_ID, secret: SECRET });
    raw.send({ action: 'subscribe', trades: ['AAPL'], quotes: ['MSFT'] });
    raw.send({ action: 'subscribe', trades: ['TSLA', 'AAPL'], bars: ['*'] });
    raw.send({ action: 'unsubscribe', trades: ['AAPL'] });
    await waitFor(() => raw.frames.filter((f) => (f as { T: string }).T === 'subscription').length === 3, 2000, 'three acks');
    const acks = raw.frames.filter((f) => (f as { T: string }).T === 'subscription');
    expect(raw.frames[0]).toEqual({ T: 'success', msg: 'connected' });
    expect(raw.frames[1]).toEqual({ T: 'success', msg: 'authenticated' });
    expect(acks[1]).toEqual({
      T: 'subscription',
      trades: ['AAPL', 'TSLA'],
      quotes: ['MSFT'],
      bars: ['*'],
      updatedBars: [],
      dailyBars: [],
      statuses: [],
      lulds: [],
      corrections: ['AAPL', 'TSLA'],
      cancelErrors: ['AAPL', 'TSLA'],
    });
    expect(acks[2]).toMatchObject({ trades: ['TSLA'], quotes: ['MSFT'], bars: ['*'] });
  });

  it('streams to a wildcard subscriber and aggregates ticks into bars', async () => {
    h = await startHarness({ barIntervalMs: 150 });
    const stream = openStream(h);
    await stream.waitForAuthentication(2000);
    const trades: streaming.StreamTrade[] = [];
    const bars: streaming.StreamBar[] = [];
    stream.onTrade((t) => trades.push(t));
    stream.onBar((b) => bars.push(b));
    let acks = 0;
    stream.on('subscription', () => acks++);
    stream.subscribeForTrades(['*']);
    stream.subscribeForBars(['GLD']);
    await waitFor(() => acks === 2, 2000, 'acks');
    for (const price of [240, 243, 238.5, 241]) h.book.setPrice('GLD', price);
    h.book.setPrice('XOM', 116);
    await waitFor(() => bars.reduce((n, b) => n + (b.tradeCount ?? 0), 0) >= 4, 3000, 'bars');
    expect(trades.map((t) => t.symbol)).toEqual(['GLD', 'GLD', 'GLD', 'GLD', 'XOM']);
    expect(bars).toHaveLength(1);
    expect(bars[0]).toMatchObject({ symbol: 'GLD', open: 240, high: 243, low: 238.5, close: 241, tradeCount: 4 });
    expect(bars[0]!.volume).toBe(trades.slice(0, 4).reduce((n, t) => n + t.size, 0));
    expect(bars[0]!.timestamp).toBeInstanceOf(Date);
  });

  it('rejects a wrong secret with error 402 and the SDK does not retry', async () => {
    h = await startHarness();
    const stream = openStream(h, {}, h.clientFor(KEY_ID, 'not-the-secret'));
    const result = await stream.waitForAuthenticationResult(2000);
    expect(result).toMatchObject({ authenticated: false, status: 'server_rejected', code: 402 });
    await sleep(150);
    expect(h.sandbox.connectionCounts().marketData).toBe(0);
  });

  it('refuses a second concurrent connection with the same key with error 406 and closes it', async () => {
    h = await startHarness();
    const first = openStream(h);
    expect(await first.waitForAuthentication(2000)).toBe(true);
    const errors: string[] = [];
    const second = openStream(h, { reconnect: false });
    second.onError((e) => errors.push(e));
    await waitFor(() => errors.length > 0 && second.getState() === 'disconnected', 2000, 'the 406');
    expect(errors).toContain('connection limit exceeded');
    expect(h.sandbox.connectionCounts().marketData).toBe(1);
    // The first connection still streams.
    const trades: streaming.StreamTrade[] = [];
    first.onTrade((t) => trades.push(t));
    let acked = false;
    first.on('subscription', () => (acked = true));
    first.subscribeForTrades(['IBM']);
    await waitFor(() => acked, 2000, 'ack');
    h.book.setPrice('IBM', 225);
    await waitFor(() => trades.length === 1, 2000, 'trade on the first connection');
  });

  it('makes the SDK reconnect and resubscribe when the sandbox kills its connections', async () => {
    h = await startHarness();
    const stream = openStream(h);
    await stream.waitForAuthentication(2000);
    const trades: streaming.StreamTrade[] = [];
    stream.onTrade((t) => trades.push(t));
    let acks = 0;
    let reconnected = 0;
    stream.on('subscription', () => acks++);
    stream.onReconnected(() => reconnected++);
    stream.subscribeForTrades(['AMD']);
    await waitFor(() => acks === 1, 2000, 'first ack');
    h.book.setPrice('AMD', 150);
    await waitFor(() => trades.length === 1, 2000, 'first trade');

    expect(h.sandbox.killMarketDataConnections()).toBe(1);
    await waitFor(() => reconnected === 1 && acks === 2, 5000, 'reconnect and resubscribe');
    expect(stream.getSubscriptions().trades).toEqual(['AMD']);
    expect(h.sandbox.connectionCounts().marketData).toBe(1);
    h.book.setPrice('AMD', 152);
    await waitFor(() => trades.length === 2, 2000, 'trade after the reconnect');
    expect(trades[1]!.price).toBe(152);
  });

  it('refuses a subscription past the symbol limit with error 405 and keeps the previous set', async () => {
    h = await startHarness({ symbolLimit: 2 });
    const stream = openStream(h);
    await stream.waitForAuthentication(2000);
    const errors: string[] = [];
    stream.onError((e) => errors.push(e));
    let acks = 0;
    stream.on('subscription', () => acks++);
    stream.subscribeForTrades(['AAPL', 'MSFT']);
    await waitFor(() => acks === 1, 2000, 'ack');
    stream.subscribeForQuotes(['NVDA']);
    await waitFor(() => errors.length === 1, 2000, 'the 405');
    expect(errors).toEqual(['symbol limit exceeded']);
    // Raising the limit at run time lets the next subscription through.
    h.sandbox.setSymbolLimit(0);
    stream.subscribeForQuotes(['TSLA']);
    await waitFor(() => acks === 2, 2000, 'second ack');
    expect(stream.getSubscriptions().quotes).toEqual(['TSLA']);
  });

  it('speaks JSON to clients that do not ask for msgpack, with Alpaca error codes for protocol mistakes', async () => {
    h = await startHarness();
    const raw = await rawClient(`${h.sandbox.wsUrl}/v2/sip`, false);
    raw.send({ action: 'subscribe', trades: ['AAPL'] });
    raw.ws.send('{not json');
    raw.send({ action: 'auth', key: KEY_ID, secret: SECRET });
    raw.send({ action: 'auth', key: KEY_ID, secret: SECRET });
    raw.send({ action: 'subscribe', trades: ['AAPL'] });
    await waitFor(() => raw.frames.length >= 6, 2000, 'replies');
    expect(raw.frames.slice(0, 5)).toEqual([
      { T: 'success', msg: 'connected' },
      { T: 'error', code: 401, msg: 'not authenticated' },
      { T: 'error', code: 400, msg: 'invalid syntax' },
      { T: 'success', msg: 'authenticated' },
      { T: 'error', code: 403, msg: 'already authenticated' },
    ]);
    h.book.setPrice('AAPL', 199.99);
    await waitFor(() => raw.frames.some((f) => (f as { T: string }).T === 't'), 2000, 'trade');
    const trade = raw.frames.find((f) => (f as { T: string }).T === 't') as Record<string, unknown>;
    expect(trade).toMatchObject({ S: 'AAPL', p: 199.99, x: 'Q', z: 'C' });
    expect(new Date(trade.t as string).toISOString()).toBe(trade.t);
  });

  it('closes a connection that does not authenticate in time with error 404', async () => {
    h = await startHarness({ streamAuthTimeoutMs: 100 });
    const raw = await rawClient(`${h.sandbox.wsUrl}/v2/test`, true);
    await raw.closed;
    expect(raw.frames).toEqual([
      { T: 'success', msg: 'connected' },
      { T: 'error', code: 404, msg: 'auth timeout' },
    ]);
  });
});
