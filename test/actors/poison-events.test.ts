import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appliedStreamIds, eventLogProjection } from '../../actors/behaviors/event-log-projection.ts';
import { startWorkerRuntime, type WorkerRuntime } from '../../actors/worker-runtime.ts';
import { readDeadLetters } from '../../streams/dead-letter.ts';
import { ENVELOPE_FIELD, type Envelope } from '../../streams/envelope.ts';
import { partitionOf } from '../../streams/partition.ts';
import { appendEnvelopes, backlog, createActorTestEnv, envelopeFor, waitFor, type ActorTestEnv } from './support/harness.ts';

const PARTITIONS = 4;

describe('actor runtime: poison and malformed events', () => {
  let env: ActorTestEnv;
  let runtime: WorkerRuntime | undefined;
  beforeAll(async () => {
    env = await createActorTestEnv({ PARTITION_COUNT: String(PARTITIONS), MAX_DELIVERIES: '3' });
  });
  afterAll(async () => {
    await runtime?.stop();
    await env.cleanup();
  });

  it('parks an event whose handler keeps failing after MAX_DELIVERIES attempts, and the partition goes on', async () => {
    const singleAttemptsOnPoison: number[] = [];
    const isPoison = (e: Envelope) => (e.payload as { poison?: boolean }).poison === true;
    const behavior = eventLogProjection({
      failWhen: isPoison,
      onApply: (phase, _user, events) => {
        if (phase === 'enter' && events.length === 1 && isPoison(events[0]!)) singleAttemptsOnPoison.push(Date.now());
      },
    });
    const user = 'poison-user';
    const neighbour = Array.from({ length: 50 }, (_, i) => `neighbour-${i}`).find(
      (u) => partitionOf(u, PARTITIONS) === partitionOf(user, PARTITIONS),
    )!;
    const partition = partitionOf(user, PARTITIONS);
    const before = [envelopeFor(user, PARTITIONS, { n: 1 }), envelopeFor(neighbour, PARTITIONS, { n: 1 })];
    const poison = envelopeFor(user, PARTITIONS, { n: 2, poison: true });
    const after = [
      envelopeFor(user, PARTITIONS, { n: 3 }),
      envelopeFor(neighbour, PARTITIONS, { n: 2 }),
      envelopeFor(user, PARTITIONS, { n: 4 }),
    ];
    // Appended before the worker starts, so the first batch holds good and bad events together.
    const ids = await appendEnvelopes(env.redis.client, env.keys, [...before, poison, ...after]);
    const poisonId = ids[2]!;
    const stream = env.keys.partitionStream(partition);
    const notJson = await env.redis.client.xadd(stream, '*', ENVELOPE_FIELD, '{"id": "broken"');
    const noEnvelope = await env.redis.client.xadd(stream, '*', 'other', 'x');
    const badShape = await env.redis.client.xadd(stream, '*', ENVELOPE_FIELD, JSON.stringify({ id: 'x', user: '' }));

    const ctx = env.context();
    runtime = await startWorkerRuntime(ctx, {
      behavior,
      workerId: 'poison-worker',
      maxBatch: 10,
      retryDelayMs: () => 5,
    });

    await waitFor('the partition to drain', async () => {
      const left = await backlog(env.redis.client, env.keys, PARTITIONS);
      return left.pending === 0 && left.lag === 0;
    });

    const applied = await appliedStreamIds(env.database.knex);
    expect(applied.get(user)).toEqual([ids[0], ids[3], ids[5]]);
    expect(applied.get(neighbour)).toEqual([ids[1], ids[4]]);

    const letters = await readDeadLetters(env.redis.client, env.keys, partition);
    const parked = letters.find((l) => l.entryId === poisonId)!;
    expect(parked).toBeDefined();
    expect(parked.reason).toBe(`cannot apply event ${poison.id}`);
    expect(parked.deliveries).toBe(3);
    expect(JSON.parse(parked.envelope)).toEqual(poison);
    expect(parked.parkedBy).toBe('poison-worker');
    // The failing batch was retried event by event; the poison event got exactly MAX_DELIVERIES tries.
    expect(singleAttemptsOnPoison).toHaveLength(3);

    const malformed = letters.filter((l) => l.entryId !== poisonId);
    expect(malformed.map((l) => l.entryId).sort()).toEqual([notJson, noEnvelope, badShape].sort());
    for (const letter of malformed) {
      expect(letter.reason).toMatch(/^malformed envelope: /);
      expect(letter.deliveries).toBe(0);
    }
    expect(malformed.find((l) => l.entryId === notJson)!.envelope).toBe('{"id": "broken"');

    // The user's checkpoint moved past the parked event to its last event.
    const checkpoint = await env.database.knex('actor_checkpoints').where({ user_id: user }).first('last_stream_id');
    expect(checkpoint.last_stream_id).toBe(ids[5]);

    const dead = await ctx.metrics.getSingleMetric('foliostream_actor_events_dead_lettered_total')!.get();
    expect(dead.values.reduce((sum, v) => sum + v.value, 0)).toBe(4);
  });
});
