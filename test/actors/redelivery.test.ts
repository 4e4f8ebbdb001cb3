import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventLogProjection } from '../../actors/behaviors/event-log-projection.ts';
import { startWorkerRuntime } from '../../actors/worker-runtime.ts';
import { CONSUMER_GROUP } from '../../streams/keys.ts';
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

describe('actor runtime: redelivered events', () => {
  let env: ActorTestEnv;
  beforeAll(async () => {
    env = await createActorTestEnv({ PARTITION_COUNT: String(PARTITIONS) });
  });
  afterAll(async () => {
    await env.cleanup();
  });

  it('skips every event at or below the user\'s checkpoint when the whole stream is delivered again', async () => {
    const behavior = eventLogProjection();
    const users = Array.from({ length: 30 }, (_, i) => `again-user-${i}`);
    const events = interleavedEvents(users, 5, PARTITIONS);
    await appendEnvelopes(env.redis.client, env.keys, events);

    const first = await startWorkerRuntime(env.context(), { behavior, workerId: 'first-pass' });
    await waitFor('every event applied', async () => (await eventLogCount(env.database)) >= events.length);
    await first.stop();

    // As if every ack had been lost: rewind each group so all entries are delivered again.
    for (let p = 0; p < PARTITIONS; p++) {
      await env.redis.client.xgroup('SETID', env.keys.partitionStream(p), CONSUMER_GROUP, '0');
    }
    const ctx = env.context();
    const second = await startWorkerRuntime(ctx, { behavior, workerId: 'second-pass' });
    await waitFor('redeliveries acked', async () => {
      const left = await backlog(env.redis.client, env.keys, PARTITIONS);
      return left.pending === 0 && left.lag === 0;
    });
    await second.stop();

    const skipped = await ctx.metrics.getSingleMetric('foliostream_actor_events_skipped_total')!.get();
    expect(skipped.values.reduce((sum, v) => sum + v.value, 0)).toBe(events.length);
    expect(await eventLogCount(env.database)).toBe(events.length);
    expect(await replayMismatches(env.redis.client, env.keys, env.database, PARTITIONS)).toEqual([]);
  });
});
