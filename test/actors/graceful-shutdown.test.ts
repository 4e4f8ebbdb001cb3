import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventLogProjection } from '../../actors/behaviors/event-log-projection.ts';
import { startWorkerRuntime } from '../../actors/worker-runtime.ts';
import {
  appendEnvelopes,
  backlog,
  createActorTestEnv,
  eventLogCount,
  interleavedEvents,
  leaseHolders,
  replayMismatches,
  waitFor,
  type ActorTestEnv,
} from './support/harness.ts';

const PARTITIONS = 4;

describe('actor runtime: graceful shutdown', () => {
  let env: ActorTestEnv;
  beforeAll(async () => {
    env = await createActorTestEnv({ PARTITION_COUNT: String(PARTITIONS) });
  });
  afterAll(async () => {
    await env.cleanup();
  });

  it('stops reading, commits and acks what it read, releases its leases and leaves the membership', async () => {
    const behavior = eventLogProjection({ applyDelayMs: 15 });
    const users = Array.from({ length: 20 }, (_, i) => `stopping-user-${i}`);
    const events = interleavedEvents(users, 30, PARTITIONS);
    await appendEnvelopes(env.redis.client, env.keys, events);

    const runtime = await startWorkerRuntime(env.context(), { behavior, workerId: 'stopper', maxInFlight: 50, maxBatch: 5 });
    await waitFor('work under way', async () => (await eventLogCount(env.database)) > 20);
    await runtime.stop();

    const appliedAtStop = await eventLogCount(env.database);
    expect(appliedAtStop).toBeLessThan(events.length);
    const left = await backlog(env.redis.client, env.keys, PARTITIONS);
    // Everything read was committed and acked; the rest was never delivered.
    expect(left.pending).toBe(0);
    expect(left.lag).toBe(events.length - appliedAtStop);
    expect(await leaseHolders(env.redis.client, env.keys, PARTITIONS)).toEqual(Array(PARTITIONS).fill(null));
    expect(await env.redis.client.zrange(env.keys.workers(), 0, -1)).toEqual([]);
    expect(runtime.ownedPartitions()).toEqual([]);

    // The next worker picks up exactly where it stopped.
    const next = await startWorkerRuntime(env.context(), { behavior: eventLogProjection(), workerId: 'successor' });
    await waitFor('the rest applied', async () => (await eventLogCount(env.database)) >= events.length);
    await next.stop();
    expect(await replayMismatches(env.redis.client, env.keys, env.database, PARTITIONS)).toEqual([]);
    expect(await eventLogCount(env.database)).toBe(events.length);
  });
});
