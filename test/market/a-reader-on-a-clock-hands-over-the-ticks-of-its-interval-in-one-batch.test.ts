import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { StoredPriceTick } from '../../src/market/price-tick.ts';
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
const TICKS = 60;

/**
 * With `readIntervalMs`, a read right after a batch waits out the rest of the interval: whatever was
 * appended meanwhile comes as one batch, however the appends were spread, so the revaluation pays
 * its per-user work once per interval instead of once per tick. (The interval here, 5 s, is long
 * enough for the appends, 0.3 s apart in all, to land inside it on a loaded machine.)
 */
describe('a price reader on a clock', () => {
  it('hands over every tick appended while it waited in one batch, in stream order per security', async () => {
    const { writer, readFromTheStart } = testPriceStreams(redis, { shards: SHARDS, maxLen: 10_000 });
    writer.write('AAPL', 200, TICKS_FROM_MS, 1, 'stream');
    await writer.flush();

    const controller = new AbortController();
    const batches: StoredPriceTick[][] = [];
    let appending: Promise<void> | undefined;
    for await (const batch of readFromTheStart({ readIntervalMs: 5_000, signal: controller.signal })) {
      batches.push(batch);
      if (batches.length === 1) {
        // Appended a flush at a time, 50 ms apart, as a feed does, while the reader waits to read.
        appending = (async () => {
          for (let i = 1; i <= TICKS; i++) {
            writer.write(['AAPL', 'MSFT', 'SHOP'][i % 3]!, 100 + i, TICKS_FROM_MS + i, 1, 'stream');
            if (i % 10 === 0) {
              await writer.flush();
              await sleep(50);
            }
          }
        })();
      } else {
        controller.abort();
      }
    }
    await appending;
    await writer.close();

    expect(batches.map((b) => b.length)).toEqual([1, TICKS]);
    for (const symbol of ['AAPL', 'MSFT', 'SHOP']) {
      const times = batches[1]!.filter((t) => t.symbol === symbol).map((t) => t.at);
      expect(times).toEqual([...times].sort((a, b) => a - b));
      expect(times).toHaveLength(TICKS / 3);
    }
  });
});
