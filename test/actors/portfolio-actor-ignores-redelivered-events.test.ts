import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppContext } from '../../src/runtime/context.ts';
import { CONSUMER_GROUP } from '../../streams/keys.ts';
import { createStreamProducer } from '../../streams/producer.ts';
import {
  backlog,
  createActorTestEnv,
  killAll,
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
  seededRandom,
  streamUsers,
  type StreamUser,
} from './support/portfolio-load.ts';

/**
 * The product's portfolio actor (`UserPortfolioBehavior`, BEHAVIOR=portfolio in
 * `actors/worker-process.ts`) given entries it already applied: entries whose acks were lost
 * (pending with a consumer that is gone, claimed by the next owner) and entries delivered again
 * as new (the group's last-delivered id rewound, as after a failover to a replica that had not
 * seen the latest reads and acks). The checkpoint must skip them all: not a row or a timestamp
 * may change (re-applying an old account list would also remove the account opened after it,
 * with its positions). Then the events it has not seen apply as usual.
 */
const PARTITIONS = 4;
const SEED = 20261203;

async function settled(env: ActorTestEnv, users: readonly StreamUser[]): Promise<void> {
  await waitFor('every checkpoint at its user\'s last entry', async () => (await checkpointsBehind(env.database.knex, users)).length === 0, 60_000, 100);
  await waitFor('nothing pending or undelivered', async () => {
    const left = await backlog(env.redis.client, env.keys, PARTITIONS);
    return left.pending === 0 && left.lag === 0;
  });
}

/** Every row the actor writes (but the fences, which each new tenure moves), in key order. */
async function projectionRows(env: ActorTestEnv): Promise<Record<string, unknown[]>> {
  const tables: Record<string, string[]> = {
    users: ['id'],
    brokerage_connections: ['id'],
    accounts: ['id'],
    securities: ['identity_key'],
    account_positions: ['account_id', 'security_id'],
    cash_balances: ['account_id', 'currency'],
    holdings: ['user_id', 'security_id'],
    webhook_inbox: ['webhook_id'],
    actor_checkpoints: ['user_id'],
  };
  const out: Record<string, unknown[]> = {};
  for (const [table, key] of Object.entries(tables)) out[table] = await env.database.knex(table).orderBy(key);
  return out;
}

async function stopGracefully(workers: readonly WorkerProcess[]): Promise<void> {
  for (const w of workers) w.child.kill('SIGTERM');
  expect((await Promise.all(workers.map((w) => w.exited))).map((e) => e.code)).toEqual(workers.map(() => 0));
}

describe('the portfolio actor, in worker processes, given entries again', () => {
  let env: ActorTestEnv;
  let ctx: AppContext;
  const workers: WorkerProcess[] = [];
  beforeAll(async () => {
    env = await createActorTestEnv({ PARTITION_COUNT: String(PARTITIONS) });
    ctx = env.context();
    await insertFxRates(env.database.knex);
  });
  afterAll(async () => {
    await killAll(workers);
    await env.cleanup();
  });

  it('entries whose acks were lost and entries delivered again after a rewind write nothing; later events apply: rows equal the pure functions, checkpoints are the last entries', async () => {
    const loads = portfolioLoads('pf-again-user', 80, PARTITIONS, SEED);
    await linkAlpacaAccounts(ctx, loads);
    const producer = createStreamProducer(env.redis.client, env.keys);
    // The first two thirds of every user's events now, the rest after the redeliveries.
    const cut = (n: number) => Math.ceil((n * 2) / 3);
    await producer.appendMany(interleave(loads.map((l) => ({ ...l, events: l.events.slice(0, cut(l.events.length)) }))));

    const first = ['pf-again-1', 'pf-again-2'].map((id) => spawnWorker(env, id, { BEHAVIOR: 'portfolio' }));
    workers.push(...first);
    const applied = await streamUsers(env.redis.client, env.keys, PARTITIONS);
    await settled(env, applied);
    await stopGracefully(first);
    expect(await projectionMismatches(env.database.knex, applied)).toEqual([]);
    const firstPass = await projectionRows(env);

    // Every entry was applied and acked. Now, per partition: the first 70% are delivered to a
    // consumer that then vanishes, and most of those are acked (the acks of the others were
    // lost: every account list among them, and a third of the sync answers); the group's
    // last-delivered id stays there, so the last 30% are delivered again as new.
    const random = seededRandom(SEED);
    let lostAcks = 0;
    let rewound = 0;
    for (let p = 0; p < PARTITIONS; p++) {
      const stream = env.keys.partitionStream(p);
      const entries = await env.redis.client.xrange(stream, '-', '+');
      const keep = Math.floor(entries.length * 0.7);
      await env.redis.client.xgroup('SETID', stream, CONSUMER_GROUP, '0');
      const read = (await env.redis.client.xreadgroup('GROUP', CONSUMER_GROUP, 'vanished', 'COUNT', keep, 'STREAMS', stream, '>')) as [string, [string, string[]][]][];
      const delivered = read[0]![1];
      expect(delivered.length).toBe(keep);
      const acked = delivered
        .filter(([, fields]) => !fields[1]!.includes('"type":"accounts.synced"') && random() >= 1 / 3)
        .map(([id]) => id);
      if (acked.length) await env.redis.client.xack(stream, CONSUMER_GROUP, ...acked);
      lostAcks += keep - acked.length;
      rewound += entries.length - keep;
    }
    const before = await backlog(env.redis.client, env.keys, PARTITIONS);
    expect(before).toEqual({ pending: lostAcks, lag: rewound });

    // Every redelivered entry is settled (acked only once skipped or committed), and nothing was
    // written: not a row, not a timestamp.
    const second = ['pf-again-3', 'pf-again-4'].map((id) => spawnWorker(env, id, { BEHAVIOR: 'portfolio' }));
    workers.push(...second);
    await waitFor('every redelivered entry settled', async () => {
      const left = await backlog(env.redis.client, env.keys, PARTITIONS);
      return left.pending === 0 && left.lag === 0;
    }, 60_000, 100);
    // The lost-ack entries were taken over from the vanished consumer by the new owners.
    const claimed = second
      .flatMap((w) => w.output().split('\n'))
      .filter((line) => line.includes('"msg":"partition acquired"'))
      .reduce((sum, line) => sum + Number((JSON.parse(line) as { claimed?: number }).claimed ?? 0), 0);
    expect(claimed).toBeGreaterThanOrEqual(lostAcks);
    expect(await projectionRows(env)).toEqual(firstPass);

    // Events the actors have not seen, after the redeliveries: applied as usual.
    await producer.appendMany(interleave(loads.map((l) => ({ ...l, events: l.events.slice(cut(l.events.length)) }))));
    const users = await streamUsers(env.redis.client, env.keys, PARTITIONS);
    await settled(env, users);
    for (let p = 0; p < PARTITIONS; p++) expect(await env.redis.client.xlen(env.keys.deadLetterStream(p))).toBe(0);

    const size = expectedSize(users);
    console.log(`${lostAcks} entries with lost acks, ${rewound} rewound; compared ${users.length} users: ${size.holdings} holdings, ${size.positions} positions, ${size.cash} cash lines, ${size.removedAccounts} removed accounts`);
    expect(await projectionMismatches(env.database.knex, users)).toEqual([]);
    await stopGracefully(second);
  });
});
