import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { startMarketLease, type MarketLease } from '../../src/market/market-lease.ts';
import { marketMetrics } from '../../src/market/market-metrics.ts';
import { createPriceWriter } from '../../src/market/price-writer.ts';
import { startMarketHarness, waitFor, type MarketHarness } from './market-harness.ts';

/**
 * The market lease (market-lease.ts) on real Redis and the sandbox's Alpaca: of two market
 * processes (two leases, each running the real ingester while it holds), only the holder ever
 * connects; the other stands by without a connection (no 406) and takes over, with a REST
 * backfill, once the holder stops; a holder whose lease is taken from it disconnects at once;
 * and the price writes of a holder that lost its lease are refused by the fence.
 */
const LEASE_MS = 600;
const silent = pino({ level: 'silent' });
let h: MarketHarness | undefined;
const leases: MarketLease[] = [];

afterEach(async () => {
  for (const lease of leases.splice(0)) await lease.stop();
  await h?.close();
  h = undefined;
});

function startProcess(harness: MarketHarness, name: string, leaseMs = LEASE_MS): MarketLease {
  const lease = startMarketLease({
    redis: harness.ctx.redis,
    keys: harness.ctx.keys,
    workerId: name,
    leaseMs,
    metrics: marketMetrics(harness.ctx.metrics),
    log: silent,
    activate: async (tenure) => {
      const ingester = await harness.startIngester({ token: tenure.token, onFenced: () => tenure.lost('fenced') });
      return { stop: (reason) => ingester.stop(reason) };
    },
  });
  leases.push(lease);
  return lease;
}

describe('the market lease', () => {
  it('lets only the holder connect, and a standby takes over with a REST backfill when the holder stops', async () => {
    h = await startMarketHarness();
    const harness = h;
    const book = harness.sandbox.priceBook;
    await harness.collector.setUserSymbols('u1', ['AMD', 'KO']);
    const first = startProcess(harness, 'first');
    await waitFor(() => first.status().state === 'active' && harness.sandbox.alpaca.connectionCounts().marketData === 1, 'the first holds the lease and is connected');
    const second = startProcess(harness, 'second');
    book.setPrice('AMD', 150);
    await waitFor(async () => (await harness.lastPrice('AMD'))?.price === 150, 'a tick through the holder');
    // Several renewals later the standby still stands by, and never tried to connect.
    await new Promise((resolve) => setTimeout(resolve, LEASE_MS * 2));
    expect(second.status().state).toBe('standby');
    expect(harness.sandbox.alpaca.peakMarketDataConnections()).toBe(1);

    // The market moves while nobody is connected: only a REST backfill can bring this price.
    await first.stop();
    book.setPrice('KO', 61.25);
    await waitFor(() => second.status().state === 'active', 'the standby took over', LEASE_MS * 2);
    expect(second.status().token).toBeGreaterThan(0);
    await waitFor(async () => (await harness.lastPrice('KO'))?.price === 61.25, 'the missed KO price, backfilled');
    expect((await harness.ticks('KO')).at(-1)).toMatchObject({ price: 61.25, source: 'rest' });
    book.setPrice('AMD', 151);
    await waitFor(async () => (await harness.lastPrice('AMD'))?.price === 151, 'ticks stream again through the new holder');
    expect(await harness.lastPrice('AMD')).toMatchObject({ source: 'stream' });
    // One connection at a time all along: the sandbox counts every socket it accepted.
    expect(harness.sandbox.alpaca.peakMarketDataConnections()).toBe(1);
  });

  it('disconnects a holder at once when its lease is taken from it', async () => {
    h = await startMarketHarness();
    const harness = h;
    await harness.collector.setUserSymbols('u1', ['DIS']);
    // A longer lease here, so "at once" (the next renewal, a third of the lease) is well apart
    // from the holder's own deadline (a whole lease after its last renewal).
    const holder = startProcess(harness, 'holder', 3000);
    await waitFor(() => harness.sandbox.alpaca.connectionCounts().marketData === 1, 'the holder connected');
    expect(await harness.metric('foliostream_market_lease_held')).toBe(1);
    // Another tenure owns the key now (as after a pause longer than the lease): the next renewal
    // is refused, well before this foreign lease would expire.
    await harness.ctx.redis.set(harness.ctx.keys.marketLease(), '999:elsewhere:abc', 'PX', 60_000);
    const taken = Date.now();
    await waitFor(() => holder.status().state === 'standby' && harness.sandbox.alpaca.connectionCounts().marketData === 0, 'the holder gave the connection up', 5000);
    expect(Date.now() - taken).toBeLessThan(1800);
    expect(await harness.metric('foliostream_market_lease_held')).toBe(0);
  });

  it('refuses the price writes of a holder once a newer holder claimed the price streams', async () => {
    h = await startMarketHarness();
    const { ctx } = h;
    let fenced = 0;
    const stale = createPriceWriter(ctx.redis, ctx.keys, { shards: 4, maxLen: 1000, token: 7, onFenced: () => fenced++ });
    stale.write('IBM', 200, Date.now(), 1, 'stream');
    await stale.flush();
    expect(await h.lastPrice('IBM')).toMatchObject({ price: 200 });

    const next = createPriceWriter(ctx.redis, ctx.keys, { shards: 4, maxLen: 1000, token: 8 });
    expect(await next.claim()).toBe(true);
    stale.write('IBM', 201, Date.now(), 1, 'stream');
    await stale.flush();
    expect(fenced).toBe(1);
    expect(stale.fenced()).toBe(true);
    expect(await h.lastPrice('IBM')).toMatchObject({ price: 200 });
    expect((await h.ticks('IBM')).map((t) => t.price)).toEqual([200]);
    // And it can never claim the keys back.
    expect(await stale.claim()).toBe(false);
    next.write('IBM', 202, Date.now(), 1, 'stream');
    await next.flush();
    expect((await h.ticks('IBM')).map((t) => t.price)).toEqual([200, 202]);
    await next.close();
    await stale.close();
  });
});
