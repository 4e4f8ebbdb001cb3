import { Registry } from 'prom-client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { marketMetrics } from '../../src/market/market-metrics.ts';
import { readLastPrices, tailPrices } from '../../src/market/price-reader.ts';
import { priceShardOf } from '../../src/market/price-shards.ts';
import type { StoredPriceTick } from '../../src/market/price-tick.ts';
import { createPriceWriter } from '../../src/market/price-writer.ts';
import { streamKeys, type StreamKeys } from '../../streams/keys.ts';
import { createTestRedis, type TestRedis } from '../support/redis.ts';

let redis: TestRedis;
let keys: StreamKeys;

beforeEach(async () => {
  redis = await createTestRedis();
  keys = streamKeys(redis.prefix);
});

afterEach(async () => {
  await redis.cleanup();
});

const SHARDS = 8;

async function counter(registry: Registry, name: string): Promise<number> {
  const metric = await registry.getSingleMetric(name)?.get();
  return metric?.values.reduce((sum, v) => sum + v.value, 0) ?? Number.NaN;
}

describe('price shards', () => {
  it('puts a symbol on the same shard every time and spreads symbols over all shards', () => {
    const symbols = Array.from({ length: 400 }, (_, i) => `S${i}`);
    const shards = symbols.map((s) => priceShardOf(s, SHARDS));
    expect(symbols.map((s) => priceShardOf(s, SHARDS))).toEqual(shards);
    const perShard = new Map<number, number>();
    for (const shard of shards) perShard.set(shard, (perShard.get(shard) ?? 0) + 1);
    expect([...perShard.keys()].sort()).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    for (const count of perShard.values()) expect(count).toBeGreaterThan(20);
    // Pinned (FNV-1a): a change of the hash would move every security to another stream.
    expect(['AAPL', 'MSFT', 'BRK.B', 'SPY'].map((s) => priceShardOf(s, 8))).toEqual([3, 3, 2, 5]);
    expect(priceShardOf('AAPL', 1000)).toBe(955);
    expect(() => priceShardOf('AAPL', 0)).toThrow(RangeError);
  });
});

describe('price writer and reader', () => {
  it('appends ticks to the shard of their symbol in order and keeps the newest price per symbol', async () => {
    const registry = new Registry();
    const writer = createPriceWriter(redis.client, keys, { shards: SHARDS, maxLen: 1000, metrics: marketMetrics(registry) });
    writer.write('AAPL', 230.5, 1_700_000_000_000, 100, 'stream');
    writer.write('MSFT', 420.25, 1_700_000_000_001, 5, 'stream');
    writer.write('AAPL', 231, 1_700_000_000_002, 7, 'stream');
    writer.write('NVDA', 120.125, 1_700_000_000_003, 1, 'rest');
    await writer.flush();

    const aapl = await redis.client.xrange(keys.priceStream(priceShardOf('AAPL', SHARDS)), '-', '+');
    const aaplTicks = aapl.filter(([, f]) => f[1] === 'AAPL').map(([, f]) => f);
    expect(aaplTicks).toEqual([
      ['sym', 'AAPL', 'p', '230.5', 't', '1700000000000', 'size', '100'],
      ['sym', 'AAPL', 'p', '231', 't', '1700000000002', 'size', '7'],
    ]);
    const nvda = await redis.client.xrange(keys.priceStream(priceShardOf('NVDA', SHARDS)), '-', '+');
    expect(nvda.find(([, f]) => f[1] === 'NVDA')?.[1]).toEqual(['sym', 'NVDA', 'p', '120.125', 't', '1700000000003', 'size', '1', 'src', 'rest']);

    expect(await redis.client.hgetall(keys.lastPrices())).toEqual({
      AAPL: '{"p":231,"t":1700000000002}',
      MSFT: '{"p":420.25,"t":1700000000001}',
      NVDA: '{"p":120.125,"t":1700000000003,"s":"rest"}',
    });
    const last = await readLastPrices(redis.client, keys, ['AAPL', 'NVDA', 'NOPE']);
    expect(Object.fromEntries(last)).toEqual({
      AAPL: { price: 231, at: 1_700_000_000_002, source: 'stream' },
      NVDA: { price: 120.125, at: 1_700_000_000_003, source: 'rest' },
    });
    expect(await counter(registry, 'foliostream_market_ticks_written_total')).toBe(4);
    expect(await writer.close()).toBe(0);
  });

  it('batches a burst of ticks into few pipelines and trims each stream approximately', async () => {
    const registry = new Registry();
    const writer = createPriceWriter(redis.client, keys, { shards: 2, maxLen: 500, maxBatch: 2000, metrics: marketMetrics(registry) });
    const symbols = ['AAA', 'BBB', 'CCC', 'DDD'];
    for (let i = 0; i < 10_000; i++) writer.write(symbols[i % 4]!, 100 + i / 100, 1_700_000_000_000 + i, 1, 'stream');
    await writer.flush();
    expect(await counter(registry, 'foliostream_market_ticks_written_total')).toBe(10_000);
    const batches = (await registry.getSingleMetric('foliostream_market_write_batch_size')?.get())?.values.find((v) => (v as { metricName?: string }).metricName?.endsWith('_count'))?.value;
    expect(batches).toBe(5);
    for (const shard of [0, 1]) {
      const length = await redis.client.xlen(keys.priceStream(shard));
      // MAXLEN ~ trims whole macro nodes (100 entries by default), never below the limit.
      expect(length).toBeGreaterThanOrEqual(500);
      expect(length).toBeLessThan(1000);
    }
    const last = await readLastPrices(redis.client, keys, symbols);
    expect(last.get('DDD')).toEqual({ price: 100 + 9999 / 100, at: 1_700_000_000_000 + 9999, source: 'stream' });
    await writer.close();
  });

  it('tails every shard from the given position and hands over ticks written after it', async () => {
    const writer = createPriceWriter(redis.client, keys, { shards: SHARDS, maxLen: 1000 });
    writer.write('OLD', 1, 1, 1, 'stream');
    await writer.flush();

    const controller = new AbortController();
    const seen: StoredPriceTick[] = [];
    const tail = (async () => {
      for await (const batch of tailPrices(redis.client, keys, { shards: SHARDS, blockMs: 200, signal: controller.signal })) {
        seen.push(...batch);
        if (seen.length >= 3) controller.abort();
      }
    })();
    // Give the tail time to resolve `$` before writing.
    await new Promise((resolve) => setTimeout(resolve, 300));
    writer.write('AAPL', 10, 2, 1, 'stream');
    writer.write('MSFT', 20, 3, 1, 'rest');
    writer.write('AAPL', 11, 4, 1, 'stream');
    await writer.flush();
    await tail;
    expect(seen.map((t) => [t.symbol, t.price, t.at, t.source])).toEqual(
      expect.arrayContaining([
        ['AAPL', 10, 2, 'stream'],
        ['MSFT', 20, 3, 'rest'],
        ['AAPL', 11, 4, 'stream'],
      ]),
    );
    expect(seen).toHaveLength(3);
    const aapl = seen.filter((t) => t.symbol === 'AAPL');
    expect(aapl.map((t) => t.price)).toEqual([10, 11]);
    expect(aapl[0]!.shard).toBe(priceShardOf('AAPL', SHARDS));

    // Resuming from the stored positions replays nothing already seen, and finds what came after.
    const fromIds: string[] = Array.from({ length: SHARDS }, () => '0-0');
    for (const tick of seen) fromIds[tick.shard] = tick.id;
    writer.write('TSLA', 30, 5, 1, 'stream');
    await writer.flush();
    const resumed = new AbortController();
    const next: StoredPriceTick[] = [];
    for await (const batch of tailPrices(redis.client, keys, { shards: SHARDS, fromIds, blockMs: 200, signal: resumed.signal })) {
      next.push(...batch);
      resumed.abort();
    }
    // Shards without a stored position start at 0-0, so OLD may come again; AAPL and MSFT may not.
    expect(next.map((t) => t.symbol).filter((s) => s !== 'OLD')).toEqual(['TSLA']);
    await writer.close();
  });

  it('stops a tail that is waiting when its signal aborts', async () => {
    const controller = new AbortController();
    const started = Date.now();
    const tail = (async () => {
      const batches: unknown[] = [];
      for await (const batch of tailPrices(redis.client, keys, { shards: 2, blockMs: 10_000, signal: controller.signal })) batches.push(batch);
      return batches;
    })();
    setTimeout(() => controller.abort(), 200);
    expect(await tail).toEqual([]);
    // It ended on the abort, not at the end of its 10 s block.
    expect(Date.now() - started).toBeLessThan(10_000);
  });
});
