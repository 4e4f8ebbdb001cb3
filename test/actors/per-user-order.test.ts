import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventLogProjection } from '../../actors/behaviors/event-log-projection.ts';
import { startWorkerRuntime, type WorkerRuntime } from '../../actors/worker-runtime.ts';
import type { Envelope } from '../../streams/envelope.ts';
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

describe('actor runtime: per-user order and one message at a time', () => {
  let env: ActorTestEnv;
  const runtimes: WorkerRuntime[] = [];
  beforeAll(async () => {
    env = await createActorTestEnv();
  });
  afterAll(async () => {
    for (const r of runtimes) await r.stop();
    await env.cleanup();
  });

  it('applies each user\'s events in stream order across two workers, never re-entering an awaiting handler', async () => {
    const inside = new Map<string, number>();
    let maxInside = 0;
    let batches = 0;
    let multiEventBatches = 0;
    const onApply = (phase: 'enter' | 'exit', userId: string, events: readonly Envelope[]) => {
      const n = (inside.get(userId) ?? 0) + (phase === 'enter' ? 1 : -1);
      inside.set(userId, n);
      maxInside = Math.max(maxInside, n);
      if (phase === 'enter') {
        batches++;
        if (events.length > 1) multiEventBatches++;
      }
    };
    // The handler awaits (I/O inside the transaction) for a few ms: without a mailbox, a second
    // event of the same user would enter while the first one waits.
    const behavior = eventLogProjection({ applyDelayMs: 3, onApply });
    for (const workerId of ['order-a', 'order-b']) {
      runtimes.push(await startWorkerRuntime(env.context(), { behavior, workerId, maxBatch: 8 }));
    }
    await waitFor('both workers to own partitions', async () => {
      for (const r of runtimes) await r.rebalance();
      return runtimes.every((r) => r.ownedPartitions().length === 8);
    });

    const users = Array.from({ length: 60 }, (_, i) => `order-user-${i}`);
    const events = interleavedEvents(users, 25, env.config.PARTITION_COUNT);
    // Appended in several bursts so that actors see events arrive while they are busy.
    for (let i = 0; i < events.length; i += 300) {
      await appendEnvelopes(env.redis.client, env.keys, events.slice(i, i + 300));
    }

    await waitFor('every event applied', async () => (await eventLogCount(env.database)) >= events.length, 30_000);
    await waitFor('nothing pending', async () => (await backlog(env.redis.client, env.keys, 16)).pending === 0);

    expect(await replayMismatches(env.redis.client, env.keys, env.database, 16)).toEqual([]);
    expect(await eventLogCount(env.database)).toBe(events.length);
    expect(maxInside).toBe(1);
    expect(batches).toBeGreaterThan(0);
    // Queued events of one user were committed together.
    expect(multiEventBatches).toBeGreaterThan(0);
  });
});
