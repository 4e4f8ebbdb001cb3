import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { partitionLeases, singleLease } from '../../actors/partition-lease.ts';
import { streamKeys, type StreamKeys } from '../../streams/keys.ts';
import { createTestRedis, type TestRedis } from '../support/redis.ts';

/**
 * A process running every role (`npm run demo`, one-process deployments) holds partition leases
 * and the market lease on one Redis connection, where each script is defined once by name: the
 * market lease must call the renewal with the partition leases' keys, whichever defined it first.
 * Called with one key where two are defined, the renewal read the lease value as a key and failed,
 * and the market role lost its data connection one lease time after it took it.
 */
describe('the market lease beside partition leases on one connection', () => {
  let redis: TestRedis;
  let keys: StreamKeys;
  beforeAll(async () => {
    redis = await createTestRedis();
    keys = streamKeys(redis.prefix);
  });
  afterAll(async () => {
    await redis.cleanup();
  });

  it('renews while it holds, whichever lease defined the scripts first, and partition renewals still work', async () => {
    for (const partitionsFirst of [true, false]) {
      const namespace = `${redis.prefix}${partitionsFirst ? 'a' : 'b'}`;
      const connection = redis.client.duplicate();
      const partitions = () => partitionLeases(connection, streamKeys(namespace), 'worker-1', 60_000);
      const market = () => singleLease(connection, `${namespace}:{market}:lease`, `${namespace}:{market}:fence`, 'market-1', 60_000);
      let leases, lease;
      if (partitionsFirst) {
        leases = partitions();
        lease = market();
      } else {
        lease = market();
        leases = partitions();
      }

      const held = await lease.acquire();
      if (!held.acquired) throw new Error('the market lease was free');
      expect(await lease.renew(held.value)).toBe(true);
      expect(await connection.pttl(`${namespace}:{market}:lease`)).toBeGreaterThan(50_000);
      // Another tenure's value is refused.
      expect(await lease.renew(held.value.replace(/^\d+/, String(held.token + 1)))).toBe(false);

      const partition = await leases.acquire(0);
      if (!partition.acquired) throw new Error('partition 0 was free');
      // renew answers the leases it lost: none.
      expect(await leases.renew([partition.lease])).toEqual([]);
      connection.disconnect();
    }
    expect(keys.marketLease()).toContain('{market}');
  });
});
