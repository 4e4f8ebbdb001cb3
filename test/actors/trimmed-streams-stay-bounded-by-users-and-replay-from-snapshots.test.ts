import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppContext } from '../../src/runtime/context.ts';
import { maintainPartition, type StreamMaintenanceOptions } from '../../src/replay/stream-maintenance.ts';
import { dryRunUser } from '../../src/replay/user-replay.ts';
import { rebuildUser, ReplayUnavailableError } from '../../src/replay/rebuild-user.ts';
import { partitionOf } from '../../streams/partition.ts';
import { createStreamProducer } from '../../streams/producer.ts';
import { compareStreamIds } from '../../streams/stream-id.ts';
import type { Envelope } from '../../streams/envelope.ts';
import { createActorTestEnv, killAll, spawnWorker, waitFor, type ActorTestEnv, type WorkerProcess } from './support/harness.ts';
import { insertFxRates, interleave, linkAlpacaAccounts, portfolioLoads } from './support/portfolio-load.ts';

/**
 * Partition streams are bounded by users, not by time: rounds of events keep arriving for some
 * users while the others sit idle, the actor applies them, and after each round a maintenance
 * pass (retention: everything applied is old enough) snapshots every user and trims. Each
 * partition then holds exactly one entry per user (their latest snapshot), whatever the number of
 * rounds, idle users included; a replay from the snapshots still equals the live rows, and a
 * replay from the start is refused once the start is gone.
 */
const PARTITIONS = 2;
const ROUNDS = 4;

describe('snapshots and trimming', () => {
  let env: ActorTestEnv;
  let ctx: AppContext;
  let workers: WorkerProcess[] = [];
  beforeAll(async () => {
    env = await createActorTestEnv({ PARTITION_COUNT: String(PARTITIONS) });
    ctx = env.context();
    await insertFxRates(env.database.knex);
  });
  afterAll(async () => {
    await killAll(workers);
    await env.cleanup();
  });

  it('keeps one entry per user after every round, and replays from the snapshots without differences', async () => {
    const db = env.database.knex;
    const redis = env.redis.client;
    const loads = portfolioLoads('trim-user', 12, PARTITIONS, 77);
    await linkAlpacaAccounts(ctx, loads);
    workers = [spawnWorker(env, 'trim-w1', { BEHAVIOR: 'portfolio' })];
    const producer = createStreamProducer(redis, env.keys);
    const options: StreamMaintenanceOptions = {
      redis,
      db,
      keys: env.keys,
      partitionCount: PARTITIONS,
      snapshotEveryEvents: 1_000,
      snapshotEveryMs: 3_600_000,
      retentionMs: 1,
      log: pino({ level: 'silent' }),
    };
    const applied = async (envelopes: readonly Envelope[]) => {
      const ids = await producer.appendMany(envelopes);
      const last = new Map<string, string>();
      envelopes.forEach((e, i) => last.set(e.user, ids[i]!));
      await waitFor('the round applied', async () => {
        const rows = await db('actor_checkpoints').whereIn('user_id', [...last.keys()]).select('user_id', 'last_stream_id');
        const stored = new Map(rows.map((r) => [r.user_id as string, r.last_stream_id as string]));
        return [...last].every(([u, id]) => stored.has(u) && compareStreamIds(stored.get(u)!, id) >= 0);
      }, 60_000, 50);
    };
    const usersIn = (p: number) => loads.filter((l) => partitionOf(l.userId, PARTITIONS) === p).length;

    await applied(interleave(loads));
    const active = loads.filter((_, i) => i % 2 === 0);
    const lengths: number[][] = [];
    let trimmed = 0;
    for (let round = 0; round < ROUNDS; round++) {
      if (round > 0) {
        // The active half gets its whole history again (new entries; stale answers change nothing).
        await applied(interleave(active).map((e) => ({ ...e, id: `${e.id}:round${round}` })));
      }
      for (let p = 0; p < PARTITIONS; p++) trimmed += (await maintainPartition(options, p)).trimmed;
      const perPartition: number[] = [];
      for (let p = 0; p < PARTITIONS; p++) perPartition.push(await redis.xlen(env.keys.partitionStream(p)));
      lengths.push(perPartition);
    }
    expect(trimmed).toBeGreaterThan(0);
    const expected = Array.from({ length: PARTITIONS }, (_, p) => usersIn(p));
    for (const perPartition of lengths) expect(perPartition).toEqual(expected);

    for (const load of loads) {
      const report = await dryRunUser(db, redis, env.keys, PARTITIONS, load.userId, false);
      expect(report.differed, `${load.userId}: ${JSON.stringify(report.differences)}`).toBe(false);
      expect(report.fromSnapshot).not.toBeNull();
      await expect(rebuildUser(redis, env.keys, PARTITIONS, load.userId, { fromStart: true })).rejects.toBeInstanceOf(ReplayUnavailableError);
    }
  });
});
