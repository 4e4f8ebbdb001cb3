import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventLogProjection } from '../../actors/behaviors/event-log-projection.ts';
import { parseLeaseValue, partitionLeases } from '../../actors/partition-lease.ts';
import { startWorkerRuntime } from '../../actors/worker-runtime.ts';
import {
  appendEnvelopes,
  backlog,
  createActorTestEnv,
  eventLogCount,
  interleavedEvents,
  replayMismatches,
  waitFor,
  type ActorTestEnv,
} from './support/harness.ts';

const PARTITIONS = 4;
const TTL = 600;

/** Blocks this process's event loop (a revaluation burst, a long GC) for `ms`. */
function stallEventLoop(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // Busy: no timer, no I/O callback runs meanwhile, so no lease renewal either.
  }
}

/**
 * A busy event loop must never cost ownership by itself: when the loop stalls past the lease TTL
 * and no other worker took the partitions meanwhile, the next renewal takes the expired leases back
 * with the same fencing tokens (nobody acquired, so no other tenure exists), and the partition
 * workers carry on without a hand-over. When another worker did take a partition over,
 * worker-pause.test.ts shows the stalled one fenced off.
 */
describe('a worker whose event loop stalls past its lease', () => {
  let env: ActorTestEnv;
  beforeAll(async () => {
    env = await createActorTestEnv({ PARTITION_COUNT: String(PARTITIONS), LEASE_TTL_MS: String(TTL) });
  });
  afterAll(async () => {
    await env.cleanup();
  });

  it('keeps its partitions and their fencing tokens when nobody took them over, and applies every event once', async () => {
    const runtime = await startWorkerRuntime(env.context(), { behavior: eventLogProjection(), workerId: 'stalling', leaseTtlMs: TTL });
    try {
      await waitFor('every partition owned', async () => runtime.ownedPartitions().length === PARTITIONS);
      const users = Array.from({ length: 12 }, (_, i) => `stall-user-${i}`);
      const before = interleavedEvents(users, 5, PARTITIONS);
      await appendEnvelopes(env.redis.client, env.keys, before);
      await waitFor('the first events applied', async () => (await eventLogCount(env.database)) >= before.length);
      const tokensBefore = await leaseTokens();

      stallEventLoop(3 * TTL);
      // The stall outlived every lease.
      expect(await env.redis.client.exists(...Array.from({ length: PARTITIONS }, (_, p) => env.keys.partitionLease(p)))).toBe(0);
      await runtime.rebalance();

      expect(runtime.ownedPartitions()).toEqual([0, 1, 2, 3]);
      expect(await leaseTokens()).toEqual(tokensBefore);
      const after = interleavedEvents(users, 5, PARTITIONS);
      await appendEnvelopes(env.redis.client, env.keys, after);
      await waitFor('the later events applied', async () => (await eventLogCount(env.database)) >= before.length + after.length);
      // Still the same tenures, renewed on time again.
      await new Promise((resolve) => setTimeout(resolve, 2 * TTL));
      expect(await leaseTokens()).toEqual(tokensBefore);
    } finally {
      await runtime.stop();
    }
    const left = await backlog(env.redis.client, env.keys, PARTITIONS);
    expect(left).toEqual({ pending: 0, lag: 0 });
    expect(await eventLogCount(env.database)).toBe(12 * 10);
    expect(await replayMismatches(env.redis.client, env.keys, env.database, PARTITIONS)).toEqual([]);
  });

  it('renews an expired lease with its token only while nobody acquired the partition since', async () => {
    const redis = env.redis.client;
    const mine = partitionLeases(redis, env.keys, 'late-renewer', TTL);
    const other = partitionLeases(redis, env.keys, 'other', TTL);
    const kept = await mine.acquire(0);
    const lost = await mine.acquire(1);
    if (!kept.acquired || !lost.acquired) throw new Error('the partitions were free');
    await new Promise((resolve) => setTimeout(resolve, TTL + 200));
    // Partition 1 expired and another worker took it (a new token); partition 0 nobody touched.
    expect((await other.acquire(1)).acquired).toBe(true);

    expect(await mine.renew([kept.lease, lost.lease])).toEqual([lost.lease]);
    expect(await redis.get(env.keys.partitionLease(0))).toBe(kept.lease.value);
    expect(await redis.pttl(env.keys.partitionLease(0))).toBeGreaterThan(0);
    expect(parseLeaseValue((await redis.get(env.keys.partitionLease(1)))!).workerId).toBe('other');
    await redis.del(env.keys.partitionLease(0), env.keys.partitionLease(1));
  });

  async function leaseTokens(): Promise<(number | null)[]> {
    const values = await Promise.all(Array.from({ length: PARTITIONS }, (_, p) => env.redis.client.get(env.keys.partitionLease(p))));
    return values.map((v) => (v === null ? null : parseLeaseValue(v).token));
  }
});
