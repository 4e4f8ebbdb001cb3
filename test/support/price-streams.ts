import { tailPrices, type TailPricesOptions } from '../../src/market/price-reader.ts';
import { createPriceWriter, type PriceWriter } from '../../src/market/price-writer.ts';
import type { StoredPriceTick } from '../../src/market/price-tick.ts';
import { streamKeys, type StreamKeys } from '../../streams/keys.ts';
import type { TestRedis } from './redis.ts';

/** The `at` the price-reader tests stamp their ticks from (plus one ms per tick): a trading day's noon in New York. */
export const TICKS_FROM_MS = Date.parse('2026-06-02T16:00:00.000Z');

export interface TestPriceStreams {
  keys: StreamKeys;
  /** Appends to the streams; the test flushes and closes it. */
  writer: PriceWriter;
  /**
   * `tailPrices` over every shard from its first entry (the ticks written before included),
   * blocking 200 ms at a time so that an abort ends the loop soon.
   */
  readFromTheStart(options: Omit<TailPricesOptions, 'shards' | 'fromIds' | 'blockMs'>): AsyncGenerator<StoredPriceTick[]>;
}

/** `shards` price streams under the test's own key prefix, as the market role writes them and the worker reads them. */
export function testPriceStreams(redis: TestRedis, options: { shards: number; maxLen: number }): TestPriceStreams {
  const keys = streamKeys(redis.prefix);
  return {
    keys,
    writer: createPriceWriter(redis.client, keys, options),
    readFromTheStart: (tail) =>
      tailPrices(redis.client, keys, { shards: options.shards, fromIds: Array<string>(options.shards).fill('0-0'), blockMs: 200, ...tail }),
  };
}
