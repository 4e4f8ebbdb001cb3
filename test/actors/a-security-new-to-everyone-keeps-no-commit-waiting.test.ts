import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ActorBehavior } from '../../actors/actor-behavior.ts';
import { eventLogProjection, type EventLogState } from '../../actors/behaviors/event-log-projection.ts';
import { registerSecurities, upsertSecurities } from '../../actors/portfolio/portfolio-repository.ts';
import { UserPortfolioBehavior } from '../../actors/portfolio/user-portfolio-behavior.ts';
import { startWorkerRuntime, type WorkerRuntime } from '../../actors/worker-runtime.ts';
import type { Knex } from '../../src/db/knex.ts';
import type { SecurityRef } from '../../src/portfolio/security-identity.ts';
import { normalizeSynced } from '../../actors/portfolio/portfolio-projection.ts';
import type { PositionsSyncedPayload } from '../../actors/portfolio/portfolio-projection.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { appendEnvelopes, createActorTestEnv, eventLogCount, interleavedEvents, waitFor, type ActorTestEnv } from './support/harness.ts';
import { portfolioLoads } from './support/portfolio-load.ts';

/**
 * Securities are shared by every user. When many users first hold one at the same moment (a
 * listing everybody syncs), the first commit that inserts it keeps it uncommitted until that
 * commit ends, and every other commit inserting it waits on it: commits queue behind one another
 * (seen in bench:scale as `Lock:transactionid` on `insert into securities`). So the actor stores
 * the batch's new securities before its commit transaction opens, in a short transaction of
 * their own, and the commits only find them.
 */
const LOCK_TIMEOUT = "SET LOCAL lock_timeout = '300ms'";

function ref(identityKey: string, ticker: string): SecurityRef {
  return { identityKey, ticker, currency: 'USD', cashEquivalent: false };
}

describe('a security new to everyone', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase({ migrate: true });
  });
  afterAll(async () => {
    await database?.drop();
  });

  /** Runs `second` while a commit that upserted `refs` is still open, then ends that commit. */
  async function whileAnotherCommitHolds<T>(refs: SecurityRef[], second: (tx: Knex.Transaction) => Promise<T>): Promise<T> {
    const first = await database.knex.transaction();
    try {
      await upsertSecurities(first, refs);
      return await database.knex.transaction(async (tx) => {
        await tx.raw(LOCK_TIMEOUT);
        return second(tx);
      });
    } finally {
      await first.commit();
    }
  }

  it('makes a commit inserting it wait for the commit that inserted it first, when nothing registered it before', async () => {
    const fresh = [ref('test:contended-1', 'CNTD')];
    await expect(whileAnotherCommitHolds(fresh, (tx) => upsertSecurities(tx, fresh))).rejects.toMatchObject({ code: '55P03' });
  });

  it('keeps no commit waiting once registered before the commits, and both get the same row', async () => {
    const fresh = [ref('test:registered-1', 'REGD'), ref('test:registered-2', 'REGE')];
    expect(await registerSecurities(database.knex, fresh)).toBe(2);
    // Registering again is harmless: nothing new.
    expect(await registerSecurities(database.knex, fresh)).toBe(0);
    const ids = await whileAnotherCommitHolds(fresh, (tx) => upsertSecurities(tx, fresh));
    const stored = await database.knex('securities').whereIn('identity_key', fresh.map((r) => r.identityKey)).select('id', 'identity_key');
    expect(Object.fromEntries(ids)).toEqual(Object.fromEntries(stored.map((r) => [r.identity_key, r.id])));
  });

  it("is registered by the portfolio actor's prepare step from the batch's synced positions, and from nothing else", async () => {
    const [load] = portfolioLoads('prepare-user', 1, 4, 20261202);
    const synced = load!.events.filter((e) => e.type === 'positions.synced');
    expect(synced.length).toBeGreaterThan(0);
    const behavior = new UserPortfolioBehavior({
      sync: {
        scheduleAccountSync: () => Promise.reject(new Error('prepare schedules nothing')),
        scheduleUserSync: () => Promise.reject(new Error('prepare schedules nothing')),
        scheduleActivitiesSync: () => Promise.reject(new Error('prepare schedules nothing')),
      },
    });
    const before = Number((await database.knex('securities').count({ n: '*' }))[0]!.n);
    await behavior.prepare(database.knex, load!.events.filter((e) => e.type !== 'positions.synced'));
    expect(Number((await database.knex('securities').count({ n: '*' }))[0]!.n)).toBe(before);

    await behavior.prepare(database.knex, synced);
    const wanted = new Set(synced.flatMap((e) => normalizeSynced(e.payload as PositionsSyncedPayload).positions.map((p) => p.security.identityKey)));
    const stored = await database.knex('securities').whereIn('identity_key', [...wanted]).pluck('identity_key');
    expect(new Set(stored)).toEqual(wanted);
  });
});

describe('the actor runtime', () => {
  let env: ActorTestEnv;
  let runtime: WorkerRuntime | undefined;
  beforeEach(async () => {
    env = await createActorTestEnv({ PARTITION_COUNT: '2' });
  });
  afterEach(async () => {
    await runtime?.stop();
    runtime = undefined;
    await env.cleanup();
  });

  it('prepares each commit outside its transaction, with the events the commit then applies', async () => {
    const inner = eventLogProjection({ applyDelayMs: 1 });
    const log: { step: 'prepare' | 'apply'; ids: string[]; inTransaction: boolean }[] = [];
    const behavior: ActorBehavior<EventLogState> = {
      name: 'prepared-event-log',
      load: (db, userId) => inner.load(db, userId),
      async prepare(db, events) {
        log.push({ step: 'prepare', ids: events.map((e) => e.id), inTransaction: Boolean(db.isTransaction) });
      },
      async apply(tx, state, events, context) {
        log.push({ step: 'apply', ids: events.map((e) => e.id), inTransaction: Boolean(tx.isTransaction) });
        return inner.apply(tx, state, events, context);
      },
    };
    runtime = await startWorkerRuntime(env.context(), { behavior, workerId: 'preparing' });
    const events = interleavedEvents(['prepared-1', 'prepared-2'], 5, 2);
    await appendEnvelopes(env.redis.client, env.keys, events);
    await waitFor('every event applied', async () => (await eventLogCount(env.database)) >= events.length);

    const prepares = log.filter((l) => l.step === 'prepare');
    expect(prepares.length).toBeGreaterThan(0);
    expect(prepares.every((p) => !p.inTransaction)).toBe(true);
    expect(log.filter((l) => l.step === 'apply').every((a) => a.inTransaction)).toBe(true);
    // Each commit was prepared before it applied: its first event was in an earlier prepare (a
    // batch may grow by events that arrived while its transaction waited for a connection).
    const unprepared = log.flatMap((entry, i) =>
      entry.step === 'apply' && !log.slice(0, i).some((p) => p.step === 'prepare' && p.ids.includes(entry.ids[0]!)) ? [entry.ids[0]] : [],
    );
    expect(unprepared).toEqual([]);
  });
});
