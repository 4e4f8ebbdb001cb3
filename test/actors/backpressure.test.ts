import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ActorBehavior } from '../../actors/actor-behavior.ts';
import { appliedStreamIds, eventLogProjection, type EventLogState } from '../../actors/behaviors/event-log-projection.ts';
import { startWorkerRuntime, type WorkerRuntime } from '../../actors/worker-runtime.ts';
import { groupBacklog } from '../../streams/consumer-group.ts';
import { partitionOf } from '../../streams/partition.ts';
import { appendEnvelopes, createActorTestEnv, envelopeFor, waitFor, type ActorTestEnv } from './support/harness.ts';

const PARTITIONS = 4;
const MAX_IN_FLIGHT = 8;

describe('actor runtime: backpressure', () => {
  let env: ActorTestEnv;
  let runtime: WorkerRuntime | undefined;
  beforeAll(async () => {
    env = await createActorTestEnv({ PARTITION_COUNT: String(PARTITIONS) });
  });
  afterAll(async () => {
    await runtime?.stop();
    await env.cleanup();
  });

  it('bounds the events in flight per partition, and a slow user holds up no other partition', async () => {
    const slow = 'slow-user';
    const slowPartition = partitionOf(slow, PARTITIONS);
    const fast = Array.from({ length: 40 }, (_, i) => `fast-${i}`).filter((u) => partitionOf(u, PARTITIONS) !== slowPartition).slice(0, 5);
    const inner = eventLogProjection();
    const behavior: ActorBehavior<EventLogState> = {
      name: 'slow-for-one',
      load: (db, userId) => inner.load(db, userId),
      async apply(tx, state, events, context) {
        if (context.userId === slow) await sleep(60);
        return inner.apply(tx, state, events, context);
      },
    };
    runtime = await startWorkerRuntime(env.context(), {
      behavior,
      workerId: 'backpressure',
      maxInFlight: MAX_IN_FLIGHT,
      maxBatch: 1,
    });

    const slowEvents = Array.from({ length: 40 }, () => envelopeFor(slow, PARTITIONS));
    await appendEnvelopes(env.redis.client, env.keys, slowEvents);
    const fastEvents = fast.flatMap((u) => Array.from({ length: 10 }, () => envelopeFor(u, PARTITIONS)));
    const startedFast = Date.now();
    await appendEnvelopes(env.redis.client, env.keys, fastEvents);

    let maxPending = 0;
    const stream = env.keys.partitionStream(slowPartition);
    const sampling = (async () => {
      for (let i = 0; i < 60; i++) {
        maxPending = Math.max(maxPending, (await groupBacklog(env.redis.client, stream)).pending);
        await sleep(20);
      }
    })();

    await waitFor('the other partitions\' users applied', async () => {
      const applied = await appliedStreamIds(env.database.knex);
      return fast.every((u) => applied.get(u)?.length === 10);
    });
    const fastDoneMs = Date.now() - startedFast;
    const slowApplied = (await appliedStreamIds(env.database.knex)).get(slow)?.length ?? 0;
    // 40 slow events take 40 × 60 ms; the other users finished long before.
    expect(slowApplied).toBeLessThan(40);
    expect(fastDoneMs).toBeLessThan(1500);
    await sampling;
    // Read but not yet acked never exceeds the bound (plus an ack in transit).
    expect(maxPending).toBeGreaterThan(0);
    expect(maxPending).toBeLessThanOrEqual(MAX_IN_FLIGHT);
    await waitFor('the slow user applied', async () => (await appliedStreamIds(env.database.knex)).get(slow)?.length === 40, 10_000);
  });
});
