import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ActorBehavior } from '../../actors/actor-behavior.ts';
import { appliedStreamIds, eventLogProjection, type EventLogState } from '../../actors/behaviors/event-log-projection.ts';
import { startWorkerRuntime, type WorkerRuntime } from '../../actors/worker-runtime.ts';
import type { AppContext } from '../../src/runtime/context.ts';
import { groupBacklog } from '../../streams/consumer-group.ts';
import { partitionOf } from '../../streams/partition.ts';
import { appendEnvelopes, createActorTestEnv, envelopeFor, waitFor, type ActorTestEnv } from './support/harness.ts';

const PARTITIONS = 4;
const MAX_IN_FLIGHT = 8;

describe('actor runtime: backpressure', () => {
  /** `foliostream_partition_in_flight_max` of this test's runtime for one partition. */
  async function inFlightPeak(partition: number): Promise<number> {
    const metric = await runtimeContext!.metrics.getSingleMetric('foliostream_partition_in_flight_max')?.get();
    const value = metric?.values.find((v) => v.labels.worker === 'backpressure' && v.labels.partition === String(partition));
    return value?.value ?? 0;
  }

  let env: ActorTestEnv;
  let runtime: WorkerRuntime | undefined;
  let runtimeContext: AppContext | undefined;
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
    runtimeContext = env.context();
    runtime = await startWorkerRuntime(runtimeContext, {
      behavior,
      workerId: 'backpressure',
      maxInFlight: MAX_IN_FLIGHT,
      maxBatch: 1,
    });

    const slowEvents = Array.from({ length: 40 }, () => envelopeFor(slow, PARTITIONS));
    await appendEnvelopes(env.redis.client, env.keys, slowEvents);
    const fastEvents = fast.flatMap((u) => Array.from({ length: 10 }, () => envelopeFor(u, PARTITIONS)));
    await appendEnvelopes(env.redis.client, env.keys, fastEvents);

    await waitFor('the other partitions\' users applied', async () => {
      const applied = await appliedStreamIds(env.database.knex);
      return fast.every((u) => applied.get(u)?.length === 10);
    });
    const slowApplied = (await appliedStreamIds(env.database.knex)).get(slow)?.length ?? 0;
    // Order, not time: the other users were all applied while the slow one still had events left.
    expect(slowApplied).toBeLessThan(40);
    await waitFor('the slow user applied', async () => (await appliedStreamIds(env.database.knex)).get(slow)?.length === 40, 30_000);
    // Read but not yet settled never exceeded the bound, by the runtime's own high-water mark
    // (every read counted, not samples), and the slow partition did fill up to it.
    const peak = await inFlightPeak(slowPartition);
    expect(peak).toBe(MAX_IN_FLIGHT);
    // Acks follow commits: the last one lands just after the slow user's last commit.
    await waitFor('every entry acked', async () => (await groupBacklog(env.redis.client, env.keys.partitionStream(slowPartition))).pending === 0);
  });
});
