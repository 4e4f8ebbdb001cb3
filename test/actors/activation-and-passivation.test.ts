import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ActorBehavior } from '../../actors/actor-behavior.ts';
import { eventLogProjection, type EventLogState } from '../../actors/behaviors/event-log-projection.ts';
import { startWorkerRuntime, type WorkerRuntime } from '../../actors/worker-runtime.ts';
import {
  appendEnvelopes,
  backlog,
  createActorTestEnv,
  envelopeFor,
  eventLogCount,
  interleavedEvents,
  replayMismatches,
  waitFor,
  type ActorTestEnv,
} from './support/harness.ts';

const PARTITIONS = 4;

/** The event-log projection, plus a record of how often each user was loaded and its state after each commit. */
function observed() {
  const inner = eventLogProjection({ applyDelayMs: 2 });
  const loads = new Map<string, number>();
  const stateAfterCommit = new Map<string, number>();
  const passivated: string[] = [];
  const behavior: ActorBehavior<EventLogState> = {
    name: 'observed-event-log',
    async load(db, userId) {
      loads.set(userId, (loads.get(userId) ?? 0) + 1);
      return inner.load(db, userId);
    },
    apply: (tx, state, events, context) => inner.apply(tx, state, events, context),
    afterCommit(state, _events, context) {
      stateAfterCommit.set(context.userId, state.applied);
    },
    passivated(userId) {
      passivated.push(userId);
    },
  };
  return { behavior, loads, stateAfterCommit, passivated };
}

describe('actor runtime: activation, passivation and the bound on active actors', () => {
  let env: ActorTestEnv;
  let runtime: WorkerRuntime | undefined;
  beforeEach(async () => {
    env = await createActorTestEnv({ PARTITION_COUNT: String(PARTITIONS) });
  });
  afterEach(async () => {
    await runtime?.stop();
    runtime = undefined;
    await env.cleanup();
  });

  it('never holds more than MAX_ACTIVE_ACTORS actors, and still applies every user in order', async () => {
    const { behavior, passivated } = observed();
    runtime = await startWorkerRuntime(env.context(), { behavior, workerId: 'bounded', maxActiveActors: 5 });
    const users = Array.from({ length: 40 }, (_, i) => `bounded-user-${i}`);
    const events = interleavedEvents(users, 6, PARTITIONS);
    await appendEnvelopes(env.redis.client, env.keys, events);
    await waitFor('every event applied', async () => (await eventLogCount(env.database)) >= events.length);
    // The runtime's own high-water mark counts every activation, so no brief excess can hide
    // between two samples; and 40 users through 5 places did fill them.
    expect(runtime.peakActiveActors()).toBe(5);
    // Every eviction told the behavior, so its indexes could drop the user.
    expect(passivated.length).toBeGreaterThanOrEqual(users.length - 5);
    expect(await replayMismatches(env.redis.client, env.keys, env.database, PARTITIONS)).toEqual([]);
  });

  it('activates an actor on its first event, passivates it when idle, and reloads its state from Postgres', async () => {
    const { behavior, loads, stateAfterCommit, passivated } = observed();
    runtime = await startWorkerRuntime(env.context(), { behavior, workerId: 'passivating', actorIdleMs: 300 });
    const users = ['sleepy-1', 'sleepy-2', 'sleepy-3'];
    await appendEnvelopes(env.redis.client, env.keys, interleavedEvents(users, 4, PARTITIONS));
    await waitFor('first events applied', async () => (await eventLogCount(env.database)) >= 12);
    expect(runtime.activeActors()).toBe(3);
    expect(users.map((u) => loads.get(u))).toEqual([1, 1, 1]);

    // Idle longer than ACTOR_IDLE_MS: the sweep passivates all of them.
    await waitFor('actors passivated', () => runtime!.activeActors() === 0, 5_000);
    expect([...passivated].sort()).toEqual(users);

    await appendEnvelopes(env.redis.client, env.keys, [envelopeFor('sleepy-2', PARTITIONS), envelopeFor('sleepy-2', PARTITIONS)]);
    await waitFor('later events applied', async () => (await eventLogCount(env.database)) >= 14);
    expect(loads.get('sleepy-2')).toBe(2);
    expect(runtime.activeActors()).toBe(1);
    // The state loaded again continued from what Postgres held: 4 earlier events + 2.
    expect(stateAfterCommit.get('sleepy-2')).toBe(6);
    await waitFor('nothing pending', async () => (await backlog(env.redis.client, env.keys, PARTITIONS)).pending === 0);
  });
});
