import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventLogProjection } from '../../actors/behaviors/event-log-projection.ts';
import { startWorkerRuntime, type WorkerRuntime } from '../../actors/worker-runtime.ts';
import { replayPartition } from '../../streams/replay.ts';
import {
  appendEnvelopes,
  createActorTestEnv,
  eventLogCount,
  everyPartitionHeldBy,
  interleavedEvents,
  leaseHolders,
  replayMismatches,
  waitFor,
  waitUntilEveryEventApplied,
  type ActorTestEnv,
} from './support/harness.ts';

const PARTITIONS = 16;

describe('actor runtime: exactly-once effects', () => {
  let env: ActorTestEnv;
  const runtimes: WorkerRuntime[] = [];
  beforeAll(async () => {
    env = await createActorTestEnv();
  });
  afterAll(async () => {
    for (const r of runtimes) await r.stop();
    await env.cleanup();
  });

  it('applies the events of 1,000 users across 16 partitions exactly once while workers join and leave', async () => {
    const behavior = eventLogProjection();
    const start = (workerId: string) => startWorkerRuntime(env.context(), { behavior, workerId, maxBatch: 50 });
    const a = await start('eo-a');
    const b = await start('eo-b');
    runtimes.push(a, b);

    const users = Array.from({ length: 1000 }, (_, i) => `eo-user-${i}`);
    const events = interleavedEvents(users, 12, PARTITIONS);
    const third = Math.floor(events.length / 3);
    await appendEnvelopes(env.redis.client, env.keys, events.slice(0, third));

    // A third worker joins mid-stream: partitions move by graceful hand-over.
    const c = await start('eo-c');
    runtimes.push(c);
    await appendEnvelopes(env.redis.client, env.keys, events.slice(third, 2 * third));
    await waitFor('three workers sharing the partitions', async () => {
      for (const r of runtimes) await r.rebalance();
      return everyPartitionHeldBy(env, PARTITIONS, 3);
    });

    // One leaves gracefully while events still arrive.
    const stopping = a.stop();
    await appendEnvelopes(env.redis.client, env.keys, events.slice(2 * third));
    await stopping;
    runtimes.splice(runtimes.indexOf(a), 1);

    await waitUntilEveryEventApplied(env, events.length, PARTITIONS, 90_000);

    let streamed = 0;
    for (let p = 0; p < PARTITIONS; p++) for await (const _ of replayPartition(env.redis.client, env.keys, p)) streamed++;
    expect(streamed).toBe(events.length);
    expect(await replayMismatches(env.redis.client, env.keys, env.database, PARTITIONS)).toEqual([]);
    expect(await eventLogCount(env.database)).toBe(events.length);

    // Each user's checkpoint is its last event.
    const checkpoints = await env.database.knex('actor_checkpoints').count({ n: '*' }).first();
    expect(Number(checkpoints!.n)).toBe(users.length);
    expect(await leaseHolders(env.redis.client, env.keys, PARTITIONS)).not.toContain('eo-a');
  });
});
