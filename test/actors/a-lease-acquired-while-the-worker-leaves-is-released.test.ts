import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { workerMembership } from '../../actors/membership.ts';
import { partitionLeases, type Lease, type PartitionLeases } from '../../actors/partition-lease.ts';
import { startRebalancer, type PartitionOwner } from '../../actors/rebalancer.ts';
import { createLogger } from '../../src/logging/logger.ts';
import { streamKeys } from '../../streams/keys.ts';
import { createTestRedis, type TestRedis } from '../support/redis.ts';

/**
 * A stop begins while a rebalance round's acquire is on its way to Redis. The acquire lands, but
 * the worker no longer takes partitions: the lease must be released at once, or the partition sits
 * unread for a lease time while the worker has already exited (seen in a rolling restart: a
 * stopped worker's lease still held after its exit).
 */
describe('a lease acquired while its worker leaves', () => {
  let redis: TestRedis;
  beforeAll(async () => {
    redis = await createTestRedis();
  });
  afterAll(async () => {
    await redis.cleanup();
  });

  /** Leases whose acquires wait until `letThrough` is called, so the test can stop in between. */
  function gatedLeases(inner: PartitionLeases) {
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    let waiting!: () => void;
    const acquiring = new Promise<void>((resolve) => (waiting = resolve));
    const leases: PartitionLeases = {
      ...inner,
      async acquire(partition, floor) {
        waiting();
        await gate;
        return inner.acquire(partition, floor);
      },
    };
    return { leases, acquiring, letThrough: open };
  }

  function owner(refuse: boolean) {
    const started: Lease[] = [];
    const owner: PartitionOwner = {
      leases: () => started,
      busy: () => false,
      start(lease) {
        if (refuse) return false;
        started.push(lease);
        return true;
      },
      lost: () => {},
      handOver: async () => {},
    };
    return { owner, started };
  }

  for (const [how, refuse] of [['the rebalancer is told to leave', false], ['the owner refuses the partition', true]] as const) {
    it(`is released when ${how} before the acquire returns`, async () => {
      const workerId = `leaving-${refuse ? 'refused' : 'left'}`;
      const ns = streamKeys(`${redis.prefix}${workerId}:`);
      const inner = partitionLeases(redis.client, ns, workerId, 60_000);
      const { leases, acquiring, letThrough } = gatedLeases(inner);
      const { owner: partitionOwner, started } = owner(refuse);
      const rebalancer = startRebalancer({
        workerId,
        partitionCount: 2,
        membership: workerMembership(redis.client, ns, workerId, 60_000),
        leases,
        owner: partitionOwner,
        intervalMs: 60_000,
        tokenFloor: () => 0,
        log: createLogger('test'),
      });
      const round = rebalancer.tick();
      await acquiring;
      if (!refuse) rebalancer.leave();
      letThrough();
      await round;
      await rebalancer.stop();

      expect(started).toEqual([]);
      expect(await inner.holders(2)).toEqual([null, null]);
      // The acquires did happen (the tokens were drawn): it is the release that cleared them.
      expect(await redis.client.get(ns.partitionFence(0))).toBe('1');
    });
  }

  it('keeps the leases it acquired when nothing stops it', async () => {
    const workerId = 'staying';
    const ns = streamKeys(`${redis.prefix}${workerId}:`);
    const inner = partitionLeases(redis.client, ns, workerId, 60_000);
    const { owner: partitionOwner, started } = owner(false);
    const rebalancer = startRebalancer({
      workerId,
      partitionCount: 2,
      membership: workerMembership(redis.client, ns, workerId, 60_000),
      leases: inner,
      owner: partitionOwner,
      intervalMs: 60_000,
      tokenFloor: () => 0,
      log: createLogger('test'),
    });
    await rebalancer.tick();
    await rebalancer.stop();
    expect(started.map((l) => l.partition).sort()).toEqual([0, 1]);
    expect((await inner.holders(2)).every((h) => h?.includes(`:${workerId}:`))).toBe(true);
  });
});
