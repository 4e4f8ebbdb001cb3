import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRateLimiter, snaptradeBudgetKey } from '../../src/providers/rate-limiter.ts';
import { createRedisClient, type RedisClient } from '../../src/runtime/redis-client.ts';
import { startTestRedisCluster, type TestRedisCluster } from '../support/redis-cluster.ts';

/**
 * The SnapTrade budget on a Redis Cluster: two processes (two cluster clients, each its own
 * limiter on the engine's budget key) asking for more than the window allows get exactly the
 * limit between them, and no user more than their share. The acquire script touches the budget
 * key and the user's key together, so they must share a slot (else CROSSSLOT and no grant).
 */
const LIMIT = 5;
const SHARE = 2;
let redis: TestRedisCluster;
const clients: RedisClient[] = [];

beforeAll(async () => {
  redis = await startTestRedisCluster();
});
afterAll(async () => {
  for (const client of clients) client.disconnect();
  await redis?.cleanup();
});

describe('the SnapTrade budget on a cluster', () => {
  it('grants exactly the limit across two processes within a window, at most a share per user', async () => {
    const key = snaptradeBudgetKey(redis.prefix.replace(/:$/, ''));
    const limiters = [0, 1].map((i) => {
      const client = createRedisClient({ urls: redis.cluster.urls, cluster: true }, { name: `test-budget-${i}` });
      clients.push(client);
      return createRateLimiter(client, key, { limit: LIMIT, windowMs: 30_000, perUser: SHARE, maxInFlightMs: 1_000 });
    });
    const users = ['u1', 'u2', 'u3', 'u4'];
    // Four requests per user, half from each process; whatever is not granted within 3 s is abandoned.
    const signal = AbortSignal.timeout(3_000);
    const asks = users.flatMap((user) => [0, 1, 0, 1].map((p) => limiters[p]!.acquire(signal, user).then(() => user)));
    const granted = (await Promise.allSettled(asks)).flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    expect(granted).toHaveLength(LIMIT);
    for (const user of users) expect(granted.filter((u) => u === user).length).toBeLessThanOrEqual(SHARE);
    expect(await limiters[1]!.used()).toBe(LIMIT);
  });
});
