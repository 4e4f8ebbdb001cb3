import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ActorBehavior } from '../../actors/actor-behavior.ts';
import { eventLogProjection, type EventLogState } from '../../actors/behaviors/event-log-projection.ts';
import { startWorkerRuntime, type WorkerRuntime } from '../../actors/worker-runtime.ts';
import type { AppContext } from '../../src/runtime/context.ts';
import { appendEnvelopes, createActorTestEnv, envelopeFor, eventLogCount, replayMismatches, waitFor, type ActorTestEnv } from './support/harness.ts';

/**
 * A backlog of many users at once (a worker back after an outage, a burst of first syncs) makes
 * as many actors ready to commit. If they all queued in the database pool, those queued longer
 * than its acquire timeout (10 s) would fail, drop their state, reload it and queue again. They
 * wait for a commit turn in the runtime instead (a gate as wide as the pool), so every commit
 * finds a connection: no transient failure at all, and every event applied once.
 *
 * 240 users whose commits each hold a connection for 500 ms, over a pool of 10: 12 s of queue.
 */
const PARTITIONS = 4;
const USERS = 240;
const HOLD_MS = 500;

describe('a backlog of many users', () => {
  let env: ActorTestEnv;
  let ctx: AppContext;
  let runtime: WorkerRuntime | undefined;
  beforeAll(async () => {
    env = await createActorTestEnv({ PARTITION_COUNT: String(PARTITIONS) });
  });
  afterAll(async () => {
    await runtime?.stop();
    await env.cleanup();
  });

  async function transientFailures(): Promise<number> {
    const metric = await ctx.metrics.getSingleMetric('foliostream_actor_transient_failures_total')?.get();
    return metric?.values.find((v) => v.labels.worker === 'backlog')?.value ?? 0;
  }

  it('waits for commit turns in the runtime, so no commit times out in the pool and every event applies once', async () => {
    const inner = eventLogProjection();
    let slow = false;
    const behavior: ActorBehavior<EventLogState> = {
      name: 'slow-commits',
      load: (db, userId) => inner.load(db, userId),
      async apply(tx, state, events, context) {
        if (slow) await sleep(HOLD_MS);
        return inner.apply(tx, state, events, context);
      },
    };
    ctx = env.context();
    runtime = await startWorkerRuntime(ctx, { behavior, workerId: 'backlog', maxInFlight: USERS });
    expect(ctx.db.client.config.pool?.max).toBe(10);
    const users = Array.from({ length: USERS }, (_, i) => `backlog-user-${i}`);
    // Every actor in memory first: their loads, paced by the activation gate, do not spread the
    // commits of the backlog out over time.
    const first = users.map((u) => envelopeFor(u, PARTITIONS));
    await appendEnvelopes(env.redis.client, env.keys, first);
    await waitFor('every actor active', async () => (await eventLogCount(env.database)) >= first.length, 60_000, 100);
    expect(runtime.activeActors()).toBe(USERS);

    slow = true;
    const backlog = users.map((u) => envelopeFor(u, PARTITIONS));
    await appendEnvelopes(env.redis.client, env.keys, backlog);
    const total = first.length + backlog.length;
    await waitFor('every event applied', async () => (await eventLogCount(env.database)) >= total, 120_000, 200);
    expect(await transientFailures()).toBe(0);
    expect(await eventLogCount(env.database)).toBe(total);
    expect(await replayMismatches(env.redis.client, env.keys, env.database, PARTITIONS)).toEqual([]);
  });
});
