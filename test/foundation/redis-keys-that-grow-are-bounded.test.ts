import { HISTORY_QUEUE } from '../../src/history/daily-close-jobs.ts';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRefreshGate } from '../../src/api/refresh-gate.ts';
import { createRateLimiter } from '../../src/providers/rate-limiter.ts';
import { presenceKey } from '../../src/realtime/presence.ts';
import { realtimeKeys } from '../../src/realtime/realtime-keys.ts';
import { SyncScheduler } from '../../src/sync/sync-scheduler.ts';
import { streamKeys, type StreamKeys } from '../../streams/keys.ts';
import { maintenanceKey, snapshotIndexKey } from '../../streams/snapshots.ts';
import { REPLAY_QUEUE } from '../../src/replay/replay-jobs.ts';
import { createTestRedis, type TestRedis } from '../support/redis.ts';
import { singleRedis } from '../../src/runtime/redis-client.ts';

/**
 * Redis runs `noeviction`: every key that grows with traffic has a bound (a TTL, trimming or a
 * cap), and the README lists each with its bound, so a new key cannot slip in unlisted.
 */
const README = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

/** The key column of the README's "Redis keys that grow" table. */
function documentedKeys(): string[] {
  const start = README.indexOf('### Redis keys that grow, and their bounds');
  expect(start).toBeGreaterThan(0);
  const section = README.slice(start, README.indexOf('\n## ', start));
  return section
    .split('\n')
    .filter((line) => line.startsWith('| `'))
    .flatMap((line) => [...line.split('|')[1]!.matchAll(/`([^`]+)`/g)].map((m) => m[1]!));
}

describe('Redis keys that grow with traffic', () => {
  let redis: TestRedis;
  let keys: StreamKeys;
  beforeAll(async () => {
    redis = await createTestRedis();
    keys = streamKeys(redis.prefix.replace(/:$/, ''));
  });
  afterAll(async () => {
    await redis.cleanup();
  });

  it('are all listed in the README with their bound', () => {
    const ns = streamKeys('<ns>');
    const expected = [
      ns.partitionStream(0).replace('{p0}', '{p<n>}'),
      snapshotIndexKey(ns, 0).replace('{p0}', '{p<n>}'),
      maintenanceKey(ns, 0).replace('{p0}', '{p<n>}'),
      ns.deadLetterStream(0).replace('{p0}', '{p<n>}'),
      ns.deadLetterSettled(0, '<entryId>').replace('{p0}', '{p<n>}'),
      ns.webhookSeen(0, '<webhookId>').replace('{p0}', '{p<n>}'),
      presenceKey('<ns>'),
      ns.workers(),
      '<ns>:{snaptrade-budget}',
      '<ns>:{snaptrade-budget}:user:<id>',
      '<ns>:refresh:<user>',
      '<ns>:sync-floor:<provider>:<account>',
      ns.priceStream(0).replace(/:0$/, ':<n>'),
      ns.lastPrices(),
      ns.previousCloses(),
      ns.userSymbols('<id>'),
      ns.symbolHolders(),
      ns.symbolChanges(),
      realtimeKeys('<ns>').seq('<user>'),
      '{<ns>-bull}:sync:*',
      `{<ns>-bull}:${REPLAY_QUEUE}:*`,
      `{<ns>-bull}:${HISTORY_QUEUE}:*`,
    ];
    const documented = documentedKeys();
    expect(documented.filter((k) => !expected.includes(k))).toEqual([]);
    expect(expected.filter((k) => !documented.includes(k))).toEqual([]);
  });

  it('caps finished sync jobs by count as well as age (completed and failed)', async () => {
    const scheduler = new SyncScheduler({ redisTarget: singleRedis(redis.url), prefix: `{${redis.prefix}bull}`, debounceMs: 100 });
    try {
      const defaults = scheduler.queue.defaultJobOptions;
      expect(defaults.removeOnComplete).toEqual({ age: 3600, count: 10_000 });
      expect(defaults.removeOnFail).toEqual({ age: 7 * 24 * 3600, count: 10_000 });
    } finally {
      await scheduler.close();
    }
  });

  it('give the refresh gate and the request budget a TTL', async () => {
    const ns = keys.namespace;
    await createRefreshGate(redis.client, ns, 60_000).claim('ttl-user', 'job-1');
    const gate = await redis.client.pttl(`${ns}:refresh:ttl-user`);
    expect(gate).toBeGreaterThan(0);
    expect(gate).toBeLessThanOrEqual(60_000);

    const budget = `${ns}:{snaptrade-budget}`;
    await createRateLimiter(redis.client, budget, { limit: 10, windowMs: 5_000, perUser: 2, maxInFlightMs: 3_000 }).acquire(undefined, 'ttl-user');
    for (const key of [budget, `${budget}:user:ttl-user`]) {
      const ttl = await redis.client.pttl(key);
      expect(ttl, key).toBeGreaterThan(0);
      expect(ttl, key).toBeLessThanOrEqual(8_000);
    }
  });
});
