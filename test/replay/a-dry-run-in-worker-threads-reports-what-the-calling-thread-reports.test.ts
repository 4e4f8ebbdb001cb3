import { singleRedis } from '../../src/runtime/redis-client.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toSnapshot } from '../../actors/portfolio/portfolio-projection.ts';
import { loadLiveState } from '../../src/replay/live-state.ts';
import { rebuildWorkerConnectionName } from '../../src/replay/rebuild-pool.ts';
import { rebuildUser } from '../../src/replay/rebuild-user.ts';
import { repairUser } from '../../src/replay/repair.ts';
import { dryRunUsers, type UserReplayReport } from '../../src/replay/user-replay.ts';
import { userHash } from '../../src/users/user-hash.ts';
import { ENVELOPE_SCHEMA_VERSION, type Envelope } from '../../streams/envelope.ts';
import { streamKeys, type StreamKeys } from '../../streams/keys.ts';
import { partitionOf } from '../../streams/partition.ts';
import { createStreamProducer } from '../../streams/producer.ts';
import { appendSnapshot, trimmedBelowKey } from '../../streams/snapshots.ts';
import { AAPL, snapBalance, snapPosition, snapPositionsBody, type SnapInstrument } from '../portfolio/provider-payloads.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { createTestRedis, type TestRedis } from '../support/redis.ts';
import { replayCli } from '../support/replay-cli.ts';

/**
 * The dry run of many users with its folds in worker threads (`dryRunUsers` with `inThreads`,
 * what `npm run replay -- --all --dry-run` runs) reports exactly what the same dry run on the
 * calling thread reports, from the snapshots and from the start: the users that match (most of
 * them), a user whose holdings row was changed by hand (named, field by field), a user whose
 * stream goes on past their checkpoint (folded only up to it), a user restored from a snapshot,
 * and a user deleted here. The threads are gone when the run ends, also when it fails, and the
 * CLI with `--threads` exits with the dry run's code and names the corrupted holding.
 */
const PARTITIONS = 4;
const USERS = Array.from({ length: 10 }, (_, i) => `dry-${i}`);
const CORRUPTED = USERS[1]!;
const BEHIND = USERS[2]!;
const DELETED = USERS[3]!;
const TIMES = ['2026-11-02T14:30:00.000Z', '2026-11-02T14:31:00.000Z', '2026-11-02T14:32:00.000Z', '2026-11-02T14:33:00.000Z'];
const MSFT: SnapInstrument = { id: '2ef3a5d3-4a9b-40b2-b8d1-cc35f74d6325', symbol: 'MSFT', currency: 'USD', exchange: 'XNAS', figi: 'BBG000BPH459', description: 'Microsoft Corporation' };

let redis: TestRedis;
let db: TestDatabase;
let keys: StreamKeys;
let namespace: string;

function envelope(user: string, n: number, type: string, payload: unknown): Envelope {
  return { id: `${type}-${user}-${n}`, type, user, partition: partitionOf(user, PARTITIONS), time: TIMES[0]!, schema: ENVELOPE_SCHEMA_VERSION, payload };
}

function listing(user: string): Envelope {
  return envelope(user, 0, 'accounts.synced', {
    provider: 'snaptrade',
    connections: [{ externalId: `${user}-auth`, brokerageSlug: 'QUESTRADE', brokerageName: 'Questrade', status: 'active' }],
    accounts: ['a', 'b'].map((a) => ({ externalId: `${user}-${a}`, connectionExternalId: `${user}-auth`, name: a, numberMasked: null, institutionName: 'Questrade', currency: 'USD', tradingAllowed: true })),
  });
}

function sync(user: string, n: number, account: string, time: number, aapl: number, msft: number): Envelope {
  const asOf = TIMES[time]!;
  return envelope(user, n, 'positions.synced', {
    provider: 'snaptrade',
    accountId: `${user}-${account}`,
    positions: snapPositionsBody(asOf, [snapPosition(AAPL, { units: String(aapl), price: '100' }), snapPosition(MSFT, { units: String(msft), price: '300' })]),
    balances: [snapBalance('USD', aapl * 10)],
    asOf,
    fetchedAt: asOf,
  });
}

beforeAll(async () => {
  [redis, db] = await Promise.all([createTestRedis(), createTestDatabase()]);
  namespace = `${redis.prefix}fs`;
  keys = streamKeys(namespace);
  const producer = createStreamProducer(redis.client, keys);
  const checkpoints = new Map<string, string>();
  for (const [i, user] of USERS.entries()) {
    await producer.append(listing(user));
    await producer.append(sync(user, 1, 'a', 1, 10 + i, 5));
    checkpoints.set(user, await producer.append(sync(user, 2, 'b', 1, 20 + i, 1 + i)));
  }
  // Every other user restored from a snapshot, then more events for everyone.
  for (const user of USERS.filter((_, i) => i % 2 === 0)) {
    const { projection } = await rebuildUser(redis.client, keys, PARTITIONS, user, { fromStart: true });
    await appendSnapshot(redis.client, keys, partitionOf(user, PARTITIONS), toSnapshot(projection));
  }
  for (const [i, user] of USERS.entries()) checkpoints.set(user, await producer.append(sync(user, 3, 'a', 2, 30 + i, 7)));
  // Past BEHIND's checkpoint: the stream holds it, the actor has not applied it yet.
  await producer.append(sync(BEHIND, 4, 'b', 3, 999, 999));

  // The live rows as the actors committed them: the fold up to each checkpoint, written as a repair writes it.
  for (const user of USERS) {
    const until = checkpoints.get(user)!;
    const [ms, seq] = until.split('-');
    await db.knex('actor_checkpoints').insert({ user_id: user, partition: partitionOf(user, PARTITIONS), last_stream_ms: ms, last_stream_seq: seq, fencing_token: 1 });
    if (user === DELETED) {
      await db.knex('deleted_users').insert({ user_hash: userHash(user) });
      continue;
    }
    const { projection } = await rebuildUser(redis.client, keys, PARTITIONS, user, { fromStart: true, until });
    const live = await loadLiveState(db.knex, user);
    await db.knex.transaction((tx) => repairUser(tx, projection, live));
  }
  const [aapl] = await db.knex('securities').where({ ticker: 'AAPL' }).pluck('id');
  expect(await db.knex('holdings').where({ user_id: CORRUPTED, security_id: aapl }).update({ quantity: '12345' })).toBe(1);
});

afterAll(async () => {
  await Promise.all([redis?.cleanup(), db?.drop()]);
});

async function dryRun(fromStart: boolean, threads?: number): Promise<UserReplayReport[]> {
  const reports: UserReplayReport[] = [];
  await dryRunUsers(db.knex, redis.client, keys, PARTITIONS, USERS, fromStart, (r) => reports.push(r), threads === undefined ? undefined : { threads, redisTarget: singleRedis(redis.url) });
  return reports.sort((a, b) => (a.userId < b.userId ? -1 : 1));
}

/** The pool threads' Redis connections still open. */
async function threadConnections(): Promise<number> {
  const list = (await redis.client.client('LIST')) as string;
  return list.split('\n').filter((line) => line.includes(`name=${rebuildWorkerConnectionName(namespace)} `)).length;
}

async function noThreadsLeft(): Promise<void> {
  const deadline = Date.now() + 5_000;
  while ((await threadConnections()) > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  expect(await threadConnections()).toBe(0);
}

const cli = (...args: string[]) => replayCli({ redisUrl: redis.url, databaseUrl: db.url, namespace, partitionCount: PARTITIONS }, ...args);

describe('a dry run of many users in worker threads', () => {
  it('reports what the calling thread reports, from the snapshots and from the start, and leaves no thread behind', async () => {
    for (const fromStart of [false, true]) {
      const here = await dryRun(fromStart);
      // The calling thread's reports are what the history says they are.
      expect(here.map((r) => r.userId)).toEqual([...USERS].sort());
      expect(here.filter((r) => r.differed).map((r) => r.userId), `fromStart ${fromStart}`).toEqual([CORRUPTED]);
      const corrupted = here.find((r) => r.userId === CORRUPTED)!;
      expect(corrupted.differences.holdings.changed).toHaveLength(1);
      expect(corrupted.differences.holdings.changed[0]!.fields.map((f) => [f.field, f.live])).toContainEqual(['quantity', '12345']);
      expect(here.find((r) => r.userId === BEHIND)!.upTo).not.toBeNull();
      expect(here.find((r) => r.userId === USERS[0])!.fromSnapshot === null).toBe(fromStart);
      expect(here.find((r) => r.userId === USERS[5])!.eventsReplayed).toBe(4);

      for (const threads of [1, 2, 3]) {
        expect(await dryRun(fromStart, threads), `fromStart ${fromStart}, ${threads} thread(s)`).toEqual(here);
        await noThreadsLeft();
      }
    }
  });

  it('fails as the calling thread does, and stops its threads', async () => {
    // A partition trimmed below its start: a replay from the start is refused.
    await redis.client.set(trimmedBelowKey(keys, partitionOf(USERS[9]!, PARTITIONS)), '1-0');
    try {
      await expect(dryRun(true)).rejects.toThrow(/was trimmed/);
      await expect(dryRun(true, 2)).rejects.toThrow(/was trimmed/);
      await noThreadsLeft();
    } finally {
      await redis.client.del(trimmedBelowKey(keys, partitionOf(USERS[9]!, PARTITIONS)));
    }
  });

  it('runs from the CLI with --threads, names the corrupted holding and exits', async () => {
    const run = await cli('--all', '--dry-run', '--threads', '2');
    expect(run.code, run.stderr).toBe(1);
    expect(run.stdout).toMatch(new RegExp(`${CORRUPTED} holdings changed \\S+ quantity: live "12345"`));
    expect(run.stdout).not.toMatch(new RegExp(`${USERS[0]} holdings`));
    expect((await cli('--all', '--dry-run', '--threads', '0')).code).toBe(2);
    await noThreadsLeft();
  });
});
