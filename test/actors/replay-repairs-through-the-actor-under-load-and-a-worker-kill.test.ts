import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppContext } from '../../src/runtime/context.ts';
import { runReplay } from '../../src/replay/replay-jobs.ts';
import type { UserReplayReport } from '../../src/replay/user-replay.ts';
import { ENVELOPE_FIELD } from '../../streams/envelope.ts';
import { CONSUMER_GROUP } from '../../streams/keys.ts';
import { createStreamProducer } from '../../streams/producer.ts';
import { compareStreamIds } from '../../streams/stream-id.ts';
import { backlog, createActorTestEnv, killAll, leaseHolders, spawnWorker, waitFor, type ActorTestEnv, type WorkerProcess } from './support/harness.ts';
import { checkpointsBehind, insertFxRates, interleave, linkAlpacaAccounts, portfolioLoads, projectionMismatches, streamUsers } from './support/portfolio-load.ts';

/**
 * A replay runs beside live traffic, through the users' actors: while sync results keep arriving
 * for 40 users on two worker processes, an operator's replay of every user (one `admin.replay`
 * event each) repairs a holdings row corrupted by hand, and one worker is killed (SIGKILL) while
 * it still holds replay events it has not committed. Afterwards every user has exactly one report
 * (the first committed), the corrupted row is named and repaired, every checkpoint is the user's
 * last entry, nothing is parked, and every user's rows equal the independent oracle over their
 * stream (nothing lost or applied twice); a second replay, a dry run, finds every user matching.
 */
const PARTITIONS = 8;
const SEED = 14_2026;

describe('replay through the actors, under load and across a worker kill', () => {
  let env: ActorTestEnv;
  let ctx: AppContext;
  let workers: WorkerProcess[] = [];
  beforeAll(async () => {
    env = await createActorTestEnv({ LEASE_TTL_MS: '2000', PARTITION_COUNT: String(PARTITIONS) });
    ctx = env.context();
    await insertFxRates(env.database.knex);
  });
  afterAll(async () => {
    await killAll(workers);
    await env.cleanup();
  });

  it('repairs, reports once per user, and loses or duplicates nothing', async () => {
    const db = env.database.knex;
    const loads = portfolioLoads('replay-load-user', 40, PARTITIONS, SEED);
    await linkAlpacaAccounts(ctx, loads);
    workers = ['replay-w1', 'replay-w2'].map((id) => spawnWorker(env, id, { BEHAVIOR: 'portfolio' }));
    await waitFor('two workers owning every partition', async () => {
      const holders = await leaseHolders(env.redis.client, env.keys, PARTITIONS);
      return holders.every((h) => h !== null) && new Set(holders).size === 2;
    }, 30_000, 100);

    const events = interleave(loads);
    const producer = createStreamProducer(env.redis.client, env.keys);
    const half = Math.floor(events.length / 2);
    const firstIds = await producer.appendMany(events.slice(0, half));
    const lastOf = new Map<string, string>();
    events.slice(0, half).forEach((e, i) => lastOf.set(e.user, firstIds[i]!));
    await waitFor('the first half applied', async () => {
      const rows = await db('actor_checkpoints').select('user_id', 'last_stream_id');
      const stored = new Map(rows.map((r) => [r.user_id as string, r.last_stream_id as string]));
      return [...lastOf].every(([user, id]) => stored.has(user) && compareStreamIds(stored.get(user)!, id) >= 0);
    }, 60_000, 50);

    // Corrupt one holdings row by hand.
    const victimRow = await db('holdings as h').join('securities as s', 's.id', 'h.security_id').orderBy(['h.user_id', 's.identity_key']).first('h.user_id', 'h.security_id', 's.identity_key', 'h.quantity');
    await db('holdings').where({ user_id: victimRow.user_id, security_id: victimRow.security_id }).update({ quantity: '987654' });

    // The replay of every user starts; the second half of the load follows it in small chunks.
    const users = loads.map((l) => l.userId);
    const replayId = '11111111-1111-4111-8111-111111111111';
    const replay = runReplay(
      { db, producer, partitionCount: PARTITIONS, pollMs: 50, stallTimeoutMs: 60_000 },
      replayId,
      users,
      { dryRun: false, fromStart: false, alreadyAppended: false },
      () => undefined,
    );
    await waitFor('the replay events in the streams', async () => {
      let n = 0;
      for (let p = 0; p < PARTITIONS; p++) {
        for (const [, fields] of await env.redis.client.xrange(env.keys.partitionStream(p), '-', '+')) if (fields[fields.indexOf(ENVELOPE_FIELD) + 1]!.includes('"admin.replay"')) n++;
      }
      return n === users.length;
    }, 30_000, 20);
    const rest = events.slice(half);
    const load = (async () => {
      for (let i = 0; i < rest.length; i += 20) {
        await producer.appendMany(rest.slice(i, i + 20));
        await sleep(10);
      }
    })();

    // Kill a worker while it holds a replay event it was given and has not committed.
    const victim = workers[1]!;
    const replayPending = async () => {
      const reported = new Set((await db('replay_reports').where({ replay_id: replayId }).pluck('user_id')) as string[]);
      const holders = await leaseHolders(env.redis.client, env.keys, PARTITIONS);
      for (let p = 0; p < PARTITIONS; p++) {
        if (holders[p] !== victim.id) continue;
        const pending = (await env.redis.client.xpending(env.keys.partitionStream(p), CONSUMER_GROUP, '-', '+', 1000)) as [string][];
        for (const [id] of pending) {
          const [entry] = await env.redis.client.xrange(env.keys.partitionStream(p), id, id);
          const raw = entry?.[1][entry[1].indexOf(ENVELOPE_FIELD) + 1];
          if (raw?.includes('"admin.replay"') && !reported.has((JSON.parse(raw) as { user: string }).user)) return true;
        }
      }
      return false;
    };
    let caught = false;
    for (let attempt = 0; attempt < 2_000 && !caught; attempt++) {
      victim.child.kill('SIGSTOP');
      caught = await replayPending();
      if (!caught) {
        victim.child.kill('SIGCONT');
        await sleep(2);
      }
    }
    expect(caught, 'the victim was seen holding an uncommitted replay event').toBe(true);
    victim.child.kill('SIGKILL');
    expect((await victim.exited).signal).toBe('SIGKILL');
    workers.push(spawnWorker(env, 'replay-w3', { BEHAVIOR: 'portfolio' }));

    await load;
    const summary = await replay;
    expect(summary.matched + summary.differed).toBe(users.length);
    const reports = await db('replay_reports').where({ replay_id: replayId }).select('user_id', 'differed', 'repaired', 'report');
    expect(reports.length).toBe(users.length);
    const differing = reports.filter((r) => r.differed).map((r) => r.report as UserReplayReport);
    expect(differing.map((r) => r.userId)).toEqual([victimRow.user_id]);
    expect(differing[0]).toMatchObject({
      repaired: true,
      differences: { holdings: { changed: [{ key: victimRow.identity_key, fields: [{ field: 'quantity', live: '987654', rebuilt: String(Number(victimRow.quantity)) }] }] } },
    });

    const streamed = await streamUsers(env.redis.client, env.keys, PARTITIONS);
    await waitFor("every checkpoint at its user's last entry", async () => (await checkpointsBehind(db, streamed)).length === 0, 60_000, 100);
    await waitFor('nothing pending or undelivered', async () => {
      const left = await backlog(env.redis.client, env.keys, PARTITIONS);
      return left.pending === 0 && left.lag === 0;
    });
    for (let p = 0; p < PARTITIONS; p++) expect(await env.redis.client.xlen(env.keys.deadLetterStream(p))).toBe(0);
    expect(await projectionMismatches(db, streamed)).toEqual([]);

    const check = await runReplay(
      { db, producer, partitionCount: PARTITIONS, pollMs: 50, stallTimeoutMs: 60_000 },
      '22222222-2222-4222-8222-222222222222',
      users,
      { dryRun: true, fromStart: true, alreadyAppended: false },
      () => undefined,
    );
    expect(check).toEqual({ matched: users.length, differed: 0, repaired: 0 });
  });
});
