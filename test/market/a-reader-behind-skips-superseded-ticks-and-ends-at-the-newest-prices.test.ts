import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { aggregateHoldings } from '../../src/portfolio/aggregate-holdings.ts';
import { applyLiveQuote, quoteAt, settlePrices } from '../../src/portfolio/valuation.ts';
import { accountsArb, baseCurrencyArb, fxArb, PRICE_KEYS, pricesArb } from '../portfolio/portfolio-arbitraries.ts';
import { projection } from '../portfolio/provider-payloads.ts';
import { testPriceStreams, TICKS_FROM_MS } from '../support/price-streams.ts';
import { createTestRedis, type TestRedis } from '../support/redis.ts';

let redis: TestRedis;
beforeEach(async () => {
  redis = await createTestRedis();
});
afterEach(async () => {
  await redis.cleanup();
});

const SHARDS = 4;
const TICKS = 8_000;
const COUNT = 50;

/**
 * Overload: a reader that finds more waiting than one read takes (a full read on some shard) reads
 * on to the end of the streams and hands over only the newest tick of each security. The skipped
 * ticks are superseded, so a portfolio revalued from the batches ends exactly where a full
 * recomputation from the last prices does, while the work is per security, not per tick.
 */
describe('a price reader that fell behind', () => {
  it('skips the superseded ticks and leaves the portfolio equal to a full recomputation at the newest prices', async () => {
    const { keys, writer, readFromTheStart } = testPriceStreams(redis, { shards: SHARDS, maxLen: 100_000 });
    // A portfolio holding several of the securities (the arbitraries' most-held sample of a seed).
    const [sample] = fc
      .sample(fc.tuple(accountsArb, pricesArb, fxArb, baseCurrencyArb), { seed: 18, numRuns: 40 })
      .map((s) => ({ s, held: aggregateHoldings(s[0], { baseCurrency: s[3], fx: s[2], prices: new Map(s[1]) }).holdings.size }))
      .sort((a, b) => b.held - a.held);
    const [accounts, prices, fx, baseCurrency] = sample!.s;
    expect(sample!.held).toBeGreaterThanOrEqual(3);
    const live = aggregateHoldings(accounts, { baseCurrency, fx, prices: new Map(prices) });

    // The backlog: every tick written before the reader starts, each security many times over.
    const random = fc.sample(fc.integer({ min: 1, max: 50_000 }), { seed: 7, numRuns: TICKS });
    for (let i = 0; i < TICKS; i++) writer.write(PRICE_KEYS[i % PRICE_KEYS.length]!, random[i]! / 100, TICKS_FROM_MS + i, 1, 'stream');
    await writer.flush();
    await writer.close();

    const controller = new AbortController();
    let read = 0;
    let delivered = 0;
    let batches = 0;
    for await (const batch of readFromTheStart({ count: COUNT, signal: controller.signal, onRead: (entries) => (read += entries) })) {
      batches++;
      delivered += batch.length;
      for (const tick of batch) applyLiveQuote(live, tick.symbol, quoteAt(tick.price, tick.at));
      if (read >= TICKS) controller.abort();
    }

    expect(read).toBe(TICKS);
    // One batch of the newest tick per security, not TICKS / (COUNT × SHARDS) = 40 batches of all.
    expect(batches).toBe(1);
    expect(delivered).toBe(PRICE_KEYS.length);

    // The oracle: the portfolio recomputed in full at the last prices the writer stored.
    const last = new Map(prices);
    const stored = await redis.client.hgetall(keys.lastPrices());
    for (const [symbol, json] of Object.entries(stored)) {
      const { p, t } = JSON.parse(json) as { p: number; t: number };
      last.set(symbol, quoteAt(p, t));
    }
    settlePrices(live);
    expect(projection(live)).toEqual(projection(aggregateHoldings(accounts, { baseCurrency, fx, prices: last })));
  });
});
