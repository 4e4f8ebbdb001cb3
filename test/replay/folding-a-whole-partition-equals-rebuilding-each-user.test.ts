import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toSnapshot, type ProjectionSnapshot } from '../../actors/portfolio/portfolio-projection.ts';
import { rebuildPartition } from '../../src/replay/rebuild-partition.ts';
import { rebuildPartitionsInWorkers } from '../../src/replay/rebuild-pool.ts';
import { rebuildUser } from '../../src/replay/rebuild-user.ts';
import { foldUsers } from '../../src/replay/stream-maintenance.ts';
import { ENVELOPE_SCHEMA_VERSION, type Envelope } from '../../streams/envelope.ts';
import { streamKeys, type StreamKeys } from '../../streams/keys.ts';
import { partitionOf } from '../../streams/partition.ts';
import { createStreamProducer } from '../../streams/producer.ts';
import { allSnapshotRefs, appendSnapshot } from '../../streams/snapshots.ts';
import { AAPL, snapBalance, snapPosition, snapPositionsBody } from '../portfolio/provider-payloads.ts';
import { createTestRedis, type TestRedis } from '../support/redis.ts';
import { singleRedis } from '../../src/runtime/redis-client.ts';

/**
 * The partition-wide folds (`rebuildPartition`: every user in one pass, from the start or from
 * the snapshots; `foldUsers`: named users up to their own stream ids, what the dry run of many
 * users and the snapshots use; the same rebuild in a pool of worker threads) give every user
 * exactly what folding that user alone gives (`rebuildUser`, which reads the stream as strings
 * through its own reader): the same projection and the same count of events folded. The streams
 * hold what a real one can: users interleaved, stale and malformed sync results, a poison event,
 * an entry that is not JSON, one without an envelope field, one with another field before it,
 * snapshots taken at different points, and users without a snapshot whose events start before
 * the oldest one (the one-pass rebuild from snapshots must fold them again from the start).
 */
const PARTITIONS = 2;
const TIMES = ['2026-11-02T14:30:00.000Z', '2026-11-02T14:31:00.000Z', '2026-11-02T14:32:00.000Z', '2026-11-02T14:33:00.000Z'];

let redis: TestRedis;
let keys: StreamKeys;
let namespace: string;
const users: string[] = [];
/** Users given no snapshot. */
const unsnapshotted = new Set<string>();
/** Each user's last appended event. */
const lastIds = new Map<string, string>();
/** A user's event in the middle of their history (the partial fold's limit). */
let middle: { user: string; id: string };

function envelope(user: string, n: number, type: string, payload: unknown): Envelope {
  return { id: `${type}-${user}-${n}`, type, user, partition: partitionOf(user, PARTITIONS), time: TIMES[0]!, schema: ENVELOPE_SCHEMA_VERSION, payload };
}

function listing(user: string, n: number, accounts: readonly string[], connection = 'auth'): Envelope {
  return envelope(user, n, 'accounts.synced', {
    provider: 'snaptrade',
    connections: [{ externalId: `${user}-auth`, brokerageSlug: 'QUESTRADE', brokerageName: 'Questrade', status: 'active' }],
    accounts: accounts.map((a) => ({ externalId: `${user}-${a}`, connectionExternalId: `${user}-${connection}`, name: a, numberMasked: null, institutionName: 'Questrade', currency: 'USD', tradingAllowed: true })),
  });
}

function sync(user: string, n: number, account: string, time: number, units: number, malformed = false): Envelope {
  const asOf = TIMES[time]!;
  return envelope(user, n, 'positions.synced', {
    provider: 'snaptrade',
    accountId: `${user}-${account}`,
    positions: malformed ? { results: 'not a list', data_freshness: { as_of: asOf } } : snapPositionsBody(asOf, [snapPosition(AAPL, { units: String(units), price: '100' })]),
    balances: [snapBalance('USD', units * 10)],
    asOf,
    fetchedAt: asOf,
  });
}

function webhook(user: string, n: number, eventType: string, fields: Record<string, string>): Envelope {
  return envelope(user, n, 'snaptrade.webhook', { webhookId: `hook-${user}-${n}`, userId: user, eventType, eventTimestamp: TIMES[0], details: {}, ...fields });
}

/** The n-th step of user i's history: events, or raw entries a real stream may hold too. */
function step(i: number, user: string, n: number): Envelope[] | string[][] {
  switch (n) {
    case 0:
      return [listing(user, n, ['a', 'b'])];
    case 1:
      return [sync(user, n, 'a', 1, 10 + i), sync(user, n + 100, 'b', 1, 20 + i)];
    case 2:
      // Not JSON; no envelope field; another field before the envelope.
      return [['e', `{"user":"${user}",`], ['x', 'y'], ['x', '{}', 'e', JSON.stringify(sync(user, n, 'a', 2, 30 + i))]];
    case 3:
      return i % 2 ? [webhook(user, n, 'CONNECTION_BROKEN', { brokerageAuthorizationId: `${user}-auth` })] : [sync(user, n, 'b', 0, 99)];
    case 4:
      // A poison event (names a connection nobody listed) and a malformed sync result.
      return [listing(user, n, ['a'], 'nowhere'), sync(user, n + 100, 'a', 3, 1, true)];
    case 5:
      return i % 3 === 0 ? [webhook(user, n, 'ACCOUNT_REMOVED', { accountId: `${user}-b` })] : [sync(user, n, 'b', 2, 40 + i)];
    case 6:
      return [listing(user, n, ['a', 'b']), sync(user, n + 100, 'a', 3, 50 + i)];
    default:
      return [i % 2 ? webhook(user, n, 'CONNECTION_FIXED', { brokerageAuthorizationId: `${user}-auth` }) : sync(user, n, 'b', 3, 60 + n)];
  }
}

async function appendSteps(from: number, to: number): Promise<void> {
  const producer = createStreamProducer(redis.client, keys);
  for (let n = from; n < to; n++) {
    for (const [i, user] of users.entries()) {
      for (const entry of step(i, user, n)) {
        if (Array.isArray(entry)) await redis.client.xadd(keys.partitionStream(partitionOf(user, PARTITIONS)), '*', ...entry);
        else lastIds.set(user, await producer.append(entry));
      }
      if (n === 5 && i === 1) middle = { user, id: lastIds.get(user)! };
    }
  }
}

async function snapshotUsers(who: readonly string[]): Promise<void> {
  for (const user of who) {
    const { projection } = await rebuildUser(redis.client, keys, PARTITIONS, user, { fromStart: true });
    await appendSnapshot(redis.client, keys, partitionOf(user, PARTITIONS), toSnapshot(projection));
  }
}

beforeAll(async () => {
  redis = await createTestRedis();
  namespace = `${redis.prefix}fs`;
  keys = streamKeys(namespace);
  // Three users a partition; the first of each gets no snapshot.
  const perPartition = new Map<number, number>();
  for (let n = 0; users.length < 3 * PARTITIONS; n++) {
    const user = `fold-${n}`;
    const p = partitionOf(user, PARTITIONS);
    const count = perPartition.get(p) ?? 0;
    if (count === 3) continue;
    perPartition.set(p, count + 1);
    users.push(user);
    if (count === 0) unsnapshotted.add(user);
  }
  const snapshotted = users.filter((u) => !unsnapshotted.has(u));
  // Snapshots at two points: the pass from snapshots starts at the older, before the others' covers.
  await appendSteps(0, 2);
  await snapshotUsers(snapshotted.slice(0, 2));
  await appendSteps(2, 6);
  await snapshotUsers(snapshotted.slice(2));
  await appendSteps(6, 9);
});

afterAll(async () => {
  await redis?.cleanup();
});

/** What folding each user alone gives: from the start, or from their latest snapshot. */
async function alone(fromStart: boolean): Promise<Map<string, { snapshot: ProjectionSnapshot; events: number }>> {
  const out = new Map<string, { snapshot: ProjectionSnapshot; events: number }>();
  for (const user of users) {
    const rebuilt = await rebuildUser(redis.client, keys, PARTITIONS, user, { fromStart });
    out.set(user, { snapshot: toSnapshot(rebuilt.projection), events: rebuilt.eventsReplayed });
  }
  return out;
}

describe('folding a whole partition', () => {
  it('gives every user what folding them alone gives, in one pass, in named folds and in worker threads', async () => {
    const fromStart = await alone(true);
    const fromSnapshots = await alone(false);
    // The histories do what they are meant to: some events refused, some users restored.
    expect([...fromStart.values()].every((u) => u.snapshot.accounts.length > 0 && u.events > 0)).toBe(true);
    for (const user of users) {
      expect(fromSnapshots.get(user)!.events < fromStart.get(user)!.events).toBe(!unsnapshotted.has(user));
      expect(fromSnapshots.get(user)!.snapshot).toEqual(fromStart.get(user)!.snapshot);
    }

    for (const [label, options, expected] of [
      ['from the start', { fromSnapshots: false }, fromStart],
      ['from snapshots', { fromSnapshots: true }, fromSnapshots],
    ] as const) {
      let entries = 0;
      for (let p = 0; p < PARTITIONS; p++) {
        const rebuilt = await rebuildPartition(redis.client, keys, p, options);
        entries += rebuilt.entriesRead;
        const own = users.filter((u) => partitionOf(u, PARTITIONS) === p);
        expect([...rebuilt.projections.keys()].sort(), label).toEqual(own.sort());
        for (const user of own) {
          const state = rebuilt.projections.get(user)!;
          expect(toSnapshot(state), `${label}: ${user}`).toEqual(expected.get(user)!.snapshot);
          expect(state.eventsFolded, `${label}: ${user}'s events folded`).toBe(expected.get(user)!.events);
        }
      }
      // Every entry read: the raw ones count, and from snapshots the pass starts after the oldest.
      const total = (await redis.client.xlen(keys.partitionStream(0))) + (await redis.client.xlen(keys.partitionStream(1)));
      if (options.fromSnapshots) expect(entries).toBeLessThan(total);
      else expect(entries).toBe(total);

      const pooled = await rebuildPartitionsInWorkers({ redisTarget: singleRedis(redis.url), namespace, partitions: [0, 1], workers: 2, ...options });
      expect(pooled.map((r) => r.partition).sort()).toEqual([0, 1]);
      const byUser = new Map(pooled.flatMap((r) => r.users.map((s) => [s.userId, s] as const)));
      expect([...byUser.keys()].sort(), `${label} in workers`).toEqual([...users].sort());
      for (const user of users) expect(byUser.get(user), `${label} in workers: ${user}`).toEqual(expected.get(user)!.snapshot);
    }

    // Named users, each up to their own limit (one in the middle of their history), from their
    // snapshots where one covers no more than the limit.
    for (let p = 0; p < PARTITIONS; p++) {
      const own = users.filter((u) => partitionOf(u, PARTITIONS) === p);
      const limits = new Map(own.map((u) => [u, u === middle.user ? middle.id : lastIds.get(u)!]));
      const refs = new Map([...(await allSnapshotRefs(redis.client, keys, p))].filter(([u]) => u !== middle.user));
      const folded = await foldUsers(redis.client, keys, p, limits, refs);
      for (const user of own) {
        const expected =
          user === middle.user
            ? await rebuildUser(redis.client, keys, PARTITIONS, user, { fromStart: true, until: middle.id }).then((r) => ({ snapshot: toSnapshot(r.projection), events: r.eventsReplayed }))
            : fromSnapshots.get(user)!;
        expect(toSnapshot(folded.get(user)!), `named fold: ${user}`).toEqual(expected.snapshot);
        expect(folded.get(user)!.eventsFolded, `named fold: ${user}'s events folded`).toBe(expected.events);
      }
    }
    expect(toSnapshot((await rebuildUser(redis.client, keys, PARTITIONS, middle.user, { fromStart: true, until: middle.id })).projection)).not.toEqual(fromStart.get(middle.user)!.snapshot);

    await expect(rebuildPartitionsInWorkers({ redisTarget: singleRedis(redis.url), namespace, partitions: [0], workers: 0, fromSnapshots: false })).rejects.toThrow(/workers/);
  });
});
