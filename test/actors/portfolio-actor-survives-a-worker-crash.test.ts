import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppContext } from '../../src/runtime/context.ts';
import { ENVELOPE_FIELD } from '../../streams/envelope.ts';
import { CONSUMER_GROUP } from '../../streams/keys.ts';
import { partitionOf } from '../../streams/partition.ts';
import { createStreamProducer } from '../../streams/producer.ts';
import { compareStreamIds } from '../../streams/stream-id.ts';
import {
  backlog,
  createActorTestEnv,
  killAll,
  leaseHolders,
  spawnWorker,
  waitFor,
  type ActorTestEnv,
  type WorkerProcess,
} from './support/harness.ts';
import {
  checkpointsBehind,
  expectedSize,
  insertFxRates,
  interleave,
  linkAlpacaAccounts,
  portfolioLoads,
  projectionMismatches,
  streamUsers,
} from './support/portfolio-load.ts';

/**
 * The product's portfolio actor (`UserPortfolioBehavior`, BEHAVIOR=portfolio in
 * `actors/worker-process.ts`) in three worker processes, under SnapTrade and Alpaca sync
 * results (and the webhooks that asked for them) for many users; one worker is killed with
 * SIGKILL in the middle of an apply transaction, and the load goes on. Afterwards every user's
 * rows are what the pure functions make of the stream, every webhook is in the inbox once (from
 * its own entry), and every checkpoint is the user's last entry. No sleep is a proof: progress is
 * read from checkpoints, the consumer group and Postgres' own view of the victim's transaction.
 */
const PARTITIONS = 16;
const TTL = 2000;
const SEED = 20261202;

/**
 * Entries of `partitions` already delivered to the group (up to its last-delivered id) that
 * their user's checkpoint has not reached: work a worker was given and has not committed,
 * whether or not it was acked.
 */
async function deliveredNotApplied(env: ActorTestEnv, partitions: readonly number[]): Promise<number> {
  const rows = await env.database.knex('actor_checkpoints').whereIn('partition', partitions).select('user_id', 'last_stream_id');
  const checkpoints = new Map(rows.map((r) => [r.user_id as string, r.last_stream_id as string]));
  let count = 0;
  for (const p of partitions) {
    const stream = env.keys.partitionStream(p);
    const groups = (await env.redis.client.xinfo('GROUPS', stream)) as unknown[][];
    const fields = groups.find((g) => g[g.indexOf('name') + 1] === CONSUMER_GROUP)!;
    const lastDelivered = String(fields[fields.indexOf('last-delivered-id') + 1]);
    for (const [id, entry] of await env.redis.client.xrange(stream, '-', lastDelivered)) {
      const user = (JSON.parse(entry[entry.indexOf(ENVELOPE_FIELD) + 1]!) as { user: string }).user;
      const checkpoint = checkpoints.get(user);
      if (checkpoint === undefined || compareStreamIds(checkpoint, id) < 0) count++;
    }
  }
  return count;
}

/** How many of `lastIds` (user -> stream id) their user's checkpoint has not reached. */
async function checkpointsBefore(env: ActorTestEnv, lastIds: ReadonlyMap<string, string>): Promise<number> {
  if (lastIds.size === 0) return 0;
  const rows = await env.database.knex('actor_checkpoints').whereIn('user_id', [...lastIds.keys()]).select('user_id', 'last_stream_id');
  const stored = new Map(rows.map((r) => [r.user_id as string, r.last_stream_id as string]));
  return [...lastIds].filter(([user, id]) => !stored.has(user) || compareStreamIds(stored.get(user)!, id) < 0).length;
}

describe('fault: a worker running the portfolio actor is killed (SIGKILL) mid-load', () => {
  let env: ActorTestEnv;
  let ctx: AppContext;
  let workers: WorkerProcess[] = [];
  beforeAll(async () => {
    env = await createActorTestEnv({ LEASE_TTL_MS: String(TTL), PARTITION_COUNT: String(PARTITIONS) });
    ctx = env.context();
    await insertFxRates(env.database.knex);
  });
  afterAll(async () => {
    await killAll(workers);
    await env.cleanup();
  });

  it("every user's holdings, account_positions and cash_balances equal the pure functions over the stream, every webhook is applied once, and every checkpoint is the user's last entry", async () => {
    const loads = portfolioLoads('pf-crash-user', 90, PARTITIONS, SEED);
    await linkAlpacaAccounts(ctx, loads);
    // Each worker names its Postgres sessions (the connection string's application_name), so the
    // test can see the victim's open transactions.
    const databaseUrl = (name: string) => {
      const url = new URL(env.database.url);
      url.searchParams.set('application_name', name);
      return url.toString();
    };
    workers = ['pf-crash-1', 'pf-crash-2', 'pf-crash-3'].map((id) => spawnWorker(env, id, { BEHAVIOR: 'portfolio', DATABASE_URL: databaseUrl(id) }));
    await waitFor(
      'three workers owning every partition',
      async () => {
        const holders = await leaseHolders(env.redis.client, env.keys, PARTITIONS);
        return holders.every((h) => h !== null) && new Set(holders).size === 3;
      },
      30_000,
      100,
    );

    const events = interleave(loads);
    const chunkSize = 40;
    const chunks = Array.from({ length: Math.ceil(events.length / chunkSize) }, (_, i) => events.slice(i * chunkSize, (i + 1) * chunkSize));
    const producer = createStreamProducer(env.redis.client, env.keys);
    let next = 0;
    let previous = new Map<string, string>();
    // Pacing (never a proof): a chunk is appended once the one before it has been applied (every
    // user's checkpoint reached it), so the load is spread over the run instead of queued up front.
    const appendNext = async () => {
      const chunk = chunks[next++]!;
      const ids = await producer.appendMany(chunk);
      const waitingFor = previous;
      await waitFor('the chunk before to be applied', async () => (await checkpointsBefore(env, waitingFor)) === 0, 60_000, 20);
      previous = new Map(chunk.map((e, i) => [e.user, ids[i]!]));
    };

    // The victim dies once 40% of the load is in and it has committed for most of its users (so
    // the survivors take them over from their rows, not from nothing), with a third or more of
    // the load still to come. It is frozen (SIGSTOP) until it is seen in the middle of an apply
    // transaction that has recorded a webhook (whose inbox row must then come from a survivor,
    // once: sync answers replace state, so a lost one could leave no other mark); then killed.
    const victim = workers[1]!;
    const victimPartitions = (await leaseHolders(env.redis.client, env.keys, PARTITIONS)).flatMap((h, p) => (h === victim.id ? [p] : []));
    expect(victimPartitions.length).toBeGreaterThanOrEqual(3);
    const victimUsers = loads.filter((l) => victimPartitions.includes(partitionOf(l.userId, PARTITIONS))).length;
    const committedIn = async (partitions: readonly number[]) =>
      Number(((await env.database.knex('actor_checkpoints').whereIn('partition', partitions).count({ n: '*' }).first()) as { n: number | string }).n);
    while (next < chunks.length * 0.4 || (await committedIn(victimPartitions)) < victimUsers * 0.8) {
      if (next >= chunks.length / 2) throw new Error(`half the load appended and the victim has committed for only ${await committedIn(victimPartitions)} of its ${victimUsers} users`);
      await appendNext();
    }
    // An apply transaction of the victim that has recorded a webhook in the inbox and not
    // committed (the lock it took on webhook_inbox is held until the commit).
    const applyingAWebhook = async () => {
      const { rows } = await env.database.knex.raw<{ rows: unknown[] }>(
        `SELECT 1 FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
          WHERE a.application_name = ? AND l.relation = 'webhook_inbox'::regclass AND l.granted AND a.query NOT ILIKE 'commit%'`,
        [victim.id],
      );
      return rows.length > 0;
    };
    let inFlightAtKill = 0;
    for (let attempt = 0; ; attempt++) {
      if (attempt % 10 === 0) {
        if (next >= (chunks.length * 2) / 3) throw new Error('two thirds of the load appended before the victim was seen applying a webhook');
        await producer.appendMany(chunks[next++]!);
      }
      victim.child.kill('SIGSTOP');
      inFlightAtKill = (await applyingAWebhook()) ? await deliveredNotApplied(env, victimPartitions) : 0;
      if (inFlightAtKill > 0) break;
      victim.child.kill('SIGCONT');
      await sleep(5);
    }
    const committedBefore = await committedIn(victimPartitions);
    victim.child.kill('SIGKILL');
    expect((await victim.exited).signal).toBe('SIGKILL');
    console.log(
      `killed ${victim.id} while applying a webhook, with ${inFlightAtKill} entries delivered and not committed, ${committedBefore} of the ${victimUsers} users of its partitions committed; ` +
        `${chunks.length - next} of ${chunks.length} chunks still to come`,
    );

    while (next < chunks.length) await appendNext();

    const users = await streamUsers(env.redis.client, env.keys, PARTITIONS);
    expect(users.length).toBe(loads.length);
    await waitFor('every checkpoint at its user\'s last entry', async () => (await checkpointsBehind(env.database.knex, users)).length === 0, 60_000, 100);
    await waitFor('nothing pending or undelivered', async () => {
      const left = await backlog(env.redis.client, env.keys, PARTITIONS);
      return left.pending === 0 && left.lag === 0;
    });
    for (let p = 0; p < PARTITIONS; p++) expect(await env.redis.client.xlen(env.keys.deadLetterStream(p))).toBe(0);

    const size = expectedSize(users);
    console.log(`compared ${users.length} users: ${size.holdings} holdings, ${size.positions} positions, ${size.cash} cash lines, ${size.removedAccounts} removed accounts`);
    expect(await projectionMismatches(env.database.knex, users)).toEqual([]);
    expect(new Set(await leaseHolders(env.redis.client, env.keys, PARTITIONS))).toEqual(new Set(['pf-crash-1', 'pf-crash-3']));

    for (const w of [workers[0]!, workers[2]!]) w.child.kill('SIGTERM');
    expect((await Promise.all([workers[0]!.exited, workers[2]!.exited])).map((e) => e.code)).toEqual([0, 0]);
  });
});
