import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventLogProjection } from '../../actors/behaviors/event-log-projection.ts';
import { parseLeaseValue } from '../../actors/partition-lease.ts';
import { startWorkerRuntime, type WorkerRuntime } from '../../actors/worker-runtime.ts';
import type { AppContext } from '../../src/runtime/context.ts';
import { partitionOf } from '../../streams/partition.ts';
import {
  appendEnvelopes,
  backlog,
  createActorTestEnv,
  envelopeFor,
  eventLogCount,
  expectEveryEventAppliedOnceInOrder,
  interleavedEvents,
  waitFor,
  waitUntilEveryEventApplied,
  type ActorTestEnv,
} from './support/harness.ts';

const PARTITIONS = 4;
const TTL = 1500;
const WORKER_ID = 'twin';

/** Fenced commits counted by a runtime's context (`foliostream_actor_commits_fenced_total`). */
async function fencedCommits(ctx: AppContext): Promise<number> {
  const metric = ctx.metrics.getSingleMetric('foliostream_actor_commits_fenced_total');
  if (!metric) return 0;
  return (await metric.get()).values.reduce((sum, v) => sum + v.value, 0);
}

/**
 * Two live processes configured with the same WORKER_ID (a restarted pod whose predecessor is
 * not quite dead, a copied config) are two incarnations: each has leases and fencing tokens of
 * its own. While one holds a partition the other is refused it; when the first is cut off from
 * Redis (a zombie: it cannot renew, but still reaches Postgres) the other takes the partition
 * with a new token, and every commit the zombie then tries is fenced.
 */
describe('two runtimes with the same WORKER_ID', () => {
  let env: ActorTestEnv;
  const stops: (() => Promise<void>)[] = [];
  beforeAll(async () => {
    env = await createActorTestEnv({ LEASE_TTL_MS: String(TTL), PARTITION_COUNT: String(PARTITIONS) });
  });
  afterAll(async () => {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
    await env.cleanup();
  });

  /** Per partition, the fencing tokens of the event-log rows in commit order (seq). */
  async function tokensByPartition(): Promise<Map<number, number[]>> {
    const rows = (await env.database.knex('actor_event_log').orderBy('seq').select('user_id', 'fencing_token')) as {
      user_id: string;
      fencing_token: number | string;
    }[];
    const out = new Map<number, number[]>();
    for (const row of rows) {
      const p = partitionOf(row.user_id, PARTITIONS);
      if (!out.has(p)) out.set(p, []);
      out.get(p)!.push(Number(row.fencing_token));
    }
    return out;
  }

  it('never own a partition together, and the superseded one\'s commits are fenced, with no event applied twice', async () => {
    const ctxA = env.context();
    const ctxB = env.context();
    const common = { workerId: WORKER_ID, partitionCount: PARTITIONS, leaseTtlMs: TTL };
    // A applies slowly, a few events per transaction: it always has work queued.
    const a: WorkerRuntime = await startWorkerRuntime(ctxA, {
      ...common,
      behavior: eventLogProjection({ applyDelayMs: 40 }),
      maxBatch: 5,
      drainTimeoutMs: 1_000,
    });
    stops.push(() => a.stop());
    await waitFor('A owning every partition', async () => {
      await a.rebalance();
      return a.ownedPartitions().length === PARTITIONS;
    });
    const leaseA = await Promise.all(
      Array.from({ length: PARTITIONS }, async (_, p) => parseLeaseValue((await env.redis.client.get(env.keys.partitionLease(p)))!)),
    );

    const b: WorkerRuntime = await startWorkerRuntime(ctxB, { ...common, behavior: eventLogProjection() });
    stops.push(() => b.stop());
    expect(b.workerId).toBe(a.workerId);

    // Phase 1: both alive. B keeps asking for the same partitions and is refused every time.
    const users = Array.from({ length: 40 }, (_, i) => `twin-user-${i}`);
    const first = interleavedEvents(users, 5, PARTITIONS);
    await appendEnvelopes(env.redis.client, env.keys, first);
    let overlaps = 0;
    let samples = 0;
    await waitFor(
      'phase 1 applied',
      async () => {
        await b.rebalance();
        samples++;
        const ownedByA = new Set(a.ownedPartitions());
        if (b.ownedPartitions().some((p) => ownedByA.has(p))) overlaps++;
        return (await eventLogCount(env.database)) >= first.length;
      },
      30_000,
      20,
    );
    expect(samples).toBeGreaterThan(3);
    expect(overlaps).toBe(0);
    expect(b.ownedPartitions()).toEqual([]);
    expect(b.incarnation).not.toBe(a.incarnation);
    expect(new Set(leaseA.map((l) => l.incarnation))).toEqual(new Set([a.incarnation]));
    for (let p = 0; p < PARTITIONS; p++) {
      const holder = parseLeaseValue((await env.redis.client.get(env.keys.partitionLease(p)))!);
      expect(holder).toMatchObject({ workerId: WORKER_ID, incarnation: a.incarnation, token: leaseA[p]!.token });
    }

    // Phase 2: a deep backlog for one user per partition, all of it delivered to A ...
    const heavy: string[] = [];
    for (let i = 0; heavy.length < PARTITIONS; i++) {
      const user = `twin-heavy-${i}`;
      if (!heavy.some((u) => partitionOf(u, PARTITIONS) === partitionOf(user, PARTITIONS))) heavy.push(user);
    }
    const second = heavy.flatMap((user) => Array.from({ length: 400 }, (_, n) => envelopeFor(user, PARTITIONS, { n })));
    await appendEnvelopes(env.redis.client, env.keys, second);
    await waitFor('the backlog delivered to A and A applying it', async () => {
      const left = await backlog(env.redis.client, env.keys, PARTITIONS);
      const rows = (await env.database.knex('actor_event_log').whereIn('user_id', heavy).count({ n: '*' }).first()) as { n: string };
      return left.lag === 0 && Number(rows.n) > 0;
    });
    // ... then A is cut off from Redis: it can neither renew nor learn that its leases are gone,
    // but its actors still reach Postgres and keep committing what they hold.
    ctxA.redis.disconnect();
    expect(await fencedCommits(ctxA)).toBe(0);

    // B takes every partition once A's leases expire, with tokens above A's.
    await waitFor('B owning every partition', () => b.ownedPartitions().length === PARTITIONS, 10 * TTL);
    for (let p = 0; p < PARTITIONS; p++) {
      const holder = parseLeaseValue((await env.redis.client.get(env.keys.partitionLease(p)))!);
      expect(holder.incarnation).toBe(b.incarnation);
      expect(holder.token).toBeGreaterThan(leaseA[p]!.token);
    }
    // A's next commits are refused by the fence (a positive marker, counted).
    await waitFor('A fenced', async () => (await fencedCommits(ctxA)) > 0, 10 * TTL);

    const total = first.length + second.length;
    await waitUntilEveryEventApplied(env, total, PARTITIONS, 30_000, 100);

    // Exactly once, in stream order, across the change of owner.
    await expectEveryEventAppliedOnceInOrder(env, total, PARTITIONS);
    // One owner at a time in the data too: per partition, tokens only go up in commit order,
    // and A's token never commits again once B's has.
    for (const [p, tokens] of await tokensByPartition()) {
      const sorted = [...tokens].sort((x, y) => x - y);
      expect(tokens, `partition ${p}`).toEqual(sorted);
    }
    const fenced = await fencedCommits(ctxA);
    expect(fenced).toBeGreaterThanOrEqual(1);
    expect(await fencedCommits(ctxB)).toBe(0);
    console.log(`same WORKER_ID: ${samples} ownership samples without overlap; ${fenced} commit(s) of the cut-off incarnation fenced`);
  });
});
