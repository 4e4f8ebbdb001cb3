import { WAIT_FLOOR_MS } from '../../support/wait-floor.ts';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import pino from 'pino';
import { expect } from 'vitest';
import { createEventLogTable, appliedStreamIds } from '../../../actors/behaviors/event-log-projection.ts';
import { parseLeaseValue } from '../../../actors/partition-lease.ts';
import { loadConfig, type Config } from '../../../src/config/config.ts';
import { setRootLogger } from '../../../src/logging/logger.ts';
import { createContext, type AppContext } from '../../../src/runtime/context.ts';
import { groupBacklog } from '../../../streams/consumer-group.ts';
import { encodeEnvelope, ENVELOPE_FIELD, ENVELOPE_SCHEMA_VERSION, type Envelope } from '../../../streams/envelope.ts';
import type { StreamKeys } from '../../../streams/keys.ts';
import { partitionOf } from '../../../streams/partition.ts';
import { replayPartitionByUser } from '../../../streams/replay.ts';
import { createTestDatabase, type TestDatabase } from '../../support/database.ts';
import { createTestRedis, type TestRedis } from '../../support/redis.ts';
import { singleRedis } from '../../../src/runtime/redis-client.ts';

// Runtime logs at error and above only (LOG_LEVEL=warn or info to see more): a passing run stays quiet.
setRootLogger(pino({ level: process.env.LOG_LEVEL ?? 'error' }));

export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

export interface ActorTestEnv {
  redis: TestRedis;
  database: TestDatabase;
  config: Config;
  keys: StreamKeys;
  /** Contexts made by `context()`; closed by `cleanup()`. */
  context(): AppContext;
  cleanup(): Promise<void>;
}

/** A fresh key namespace, a fresh migrated database with the event-log table, and a config. */
export async function createActorTestEnv(env: Record<string, string> = {}): Promise<ActorTestEnv> {
  const redis = await createTestRedis();
  const database = await createTestDatabase();
  await createEventLogTable(database.knex);
  const config = loadConfig({ NODE_ENV: 'test', LEASE_TTL_MS: '2000', PARTITION_COUNT: '16', ...env });
  const contexts: AppContext[] = [];
  const context = () => {
    const ctx = createContext({ config, redisTarget: singleRedis(redis.url), databaseUrl: database.url, namespace: redis.prefix });
    contexts.push(ctx);
    return ctx;
  };
  const keys = context().keys;
  return {
    redis,
    database,
    config,
    keys,
    context,
    async cleanup() {
      for (const ctx of contexts.splice(0)) await ctx.close();
      await redis.cleanup();
      await database.drop();
    },
  };
}

let eventCounter = 0;

export function envelopeFor(user: string, partitionCount: number, payload: unknown = {}): Envelope {
  return {
    id: `evt-${process.pid}-${++eventCounter}`,
    type: 'test.event',
    user,
    partition: partitionOf(user, partitionCount),
    time: new Date().toISOString(),
    schema: ENVELOPE_SCHEMA_VERSION,
    payload,
  };
}

/** Appends envelopes to their partition streams (pipelined XADD `e <json>`); returns the entry ids. */
export async function appendEnvelopes(redis: Redis, keys: StreamKeys, envelopes: readonly Envelope[]): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < envelopes.length; i += 1000) {
    const pipeline = redis.pipeline();
    for (const envelope of envelopes.slice(i, i + 1000)) {
      pipeline.xadd(keys.partitionStream(envelope.partition), '*', ENVELOPE_FIELD, encodeEnvelope(envelope));
    }
    for (const [err, id] of (await pipeline.exec()) ?? []) {
      if (err) throw err;
      ids.push(id as string);
    }
  }
  return ids;
}

/** `count` events for each user, interleaved across users (user order kept per user). */
export function interleavedEvents(users: readonly string[], count: number, partitionCount: number): Envelope[] {
  const out: Envelope[] = [];
  for (let n = 0; n < count; n++) for (const user of users) out.push(envelopeFor(user, partitionCount, { n }));
  return out;
}

export async function waitFor(
  what: string,
  condition: () => Promise<boolean> | boolean,
  timeoutMs = 20_000,
  everyMs = 50,
): Promise<void> {
  // A guard, not a speed limit (see WAIT_FLOOR_MS).
  const limit = Math.max(timeoutMs, WAIT_FLOOR_MS);
  const deadline = Date.now() + limit;
  for (;;) {
    if (await condition()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${limit} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

export async function eventLogCount(database: TestDatabase): Promise<number> {
  const row = (await database.knex('actor_event_log').count({ n: '*' }).first()) as { n: number | string };
  return Number(row.n);
}

/** Entries delivered but not acked, and not yet delivered, over all partitions. */
export async function backlog(redis: Redis, keys: StreamKeys, partitionCount: number): Promise<{ pending: number; lag: number }> {
  let pending = 0;
  let lag = 0;
  for (let p = 0; p < partitionCount; p++) {
    const b = await groupBacklog(redis, keys.partitionStream(p));
    pending += b.pending;
    lag += b.lag ?? 0;
  }
  return { pending, lag };
}

/**
 * Waits until the event log holds at least `count` rows (the first wait's `timeoutMs` and `everyMs`,
 * as waitFor's) and then until no partition has an entry delivered but not acked, or not yet
 * delivered: the workers are done with everything appended.
 */
export async function waitUntilEveryEventApplied(env: ActorTestEnv, count: number, partitionCount: number, timeoutMs?: number, everyMs?: number): Promise<void> {
  await waitFor('every event applied', async () => (await eventLogCount(env.database)) >= count, timeoutMs, everyMs);
  await waitFor('nothing pending or undelivered', async () => {
    const left = await backlog(env.redis.client, env.keys, partitionCount);
    return left.pending === 0 && left.lag === 0;
  });
}

/** The `count` events appended were applied exactly once, in order: as many event-log rows, equal to a replay of the streams. */
export async function expectEveryEventAppliedOnceInOrder(env: ActorTestEnv, count: number, partitionCount: number): Promise<void> {
  expect(await eventLogCount(env.database)).toBe(count);
  expect(await replayMismatches(env.redis.client, env.keys, env.database, partitionCount)).toEqual([]);
}

/**
 * Compares every user's applied events (event-log rows, in commit order) with a fresh replay of
 * its stream. Returns a description of each difference; empty means exactly once, in order.
 */
export async function replayMismatches(
  redis: Redis,
  keys: StreamKeys,
  database: TestDatabase,
  partitionCount: number,
  isExpected: (user: string, streamId: string) => boolean = () => true,
): Promise<string[]> {
  const applied = await appliedStreamIds(database.knex);
  const problems: string[] = [];
  const seen = new Set<string>();
  for (let p = 0; p < partitionCount; p++) {
    for (const [user, events] of await replayPartitionByUser(redis, keys, p)) {
      seen.add(user);
      const expected = events.map((e) => e.id).filter((id) => isExpected(user, id));
      const actual = applied.get(user) ?? [];
      if (expected.length !== actual.length || expected.some((id, i) => actual[i] !== id)) {
        const dupes = actual.length - new Set(actual).size;
        problems.push(`${user}: expected ${expected.length} events, applied ${actual.length} (${dupes} duplicates)`);
      }
    }
  }
  for (const user of applied.keys()) if (!seen.has(user)) problems.push(`${user}: applied but not in any stream`);
  return problems;
}

export interface WorkerProcess {
  id: string;
  child: ChildProcess;
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Spawns `actors/worker-process.ts` (node --import tsx) against the test's Redis and database. */
export function spawnWorker(env: ActorTestEnv, workerId: string, extraEnv: Record<string, string> = {}): WorkerProcess {
  return spawnProcess('actors/worker-process.ts', env, workerId, extraEnv);
}

/**
 * Spawns `support/replay-worker-process.ts`: a process running only a replay worker (BullMQ jobs
 * under `bullPrefix`), to be killed mid-job.
 */
export function spawnReplayWorker(env: ActorTestEnv, workerId: string, bullPrefix: string, extraEnv: Record<string, string> = {}): WorkerProcess {
  return spawnProcess('test/actors/support/replay-worker-process.ts', env, workerId, { BULL_PREFIX: bullPrefix, ...extraEnv });
}

function spawnProcess(script: string, env: ActorTestEnv, workerId: string, extraEnv: Record<string, string>): WorkerProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', script], {
    cwd: REPO_ROOT,
    env: {
      ...process.env,
      NODE_ENV: 'test',
      LOG_LEVEL: 'info',
      REDIS_URL: env.redis.url,
      DATABASE_URL: env.database.url,
      NAMESPACE: env.redis.prefix,
      WORKER_ID: workerId,
      LEASE_TTL_MS: String(env.config.LEASE_TTL_MS),
      PARTITION_COUNT: String(env.config.PARTITION_COUNT),
      ...extraEnv,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return { id: workerId, child, output: () => out, exited };
}

/** Kills what is still running (SIGCONT first, for a paused one) and waits for it to go. */
export async function killAll(workers: readonly WorkerProcess[]): Promise<void> {
  for (const w of workers) {
    if (w.child.exitCode === null && w.child.signalCode === null) {
      w.child.kill('SIGCONT');
      w.child.kill('SIGKILL');
    }
  }
  await Promise.all(workers.map((w) => w.exited));
}

/** Current lease holder (worker id) of every partition; null where none. */
export async function leaseHolders(redis: Redis, keys: StreamKeys, partitionCount: number): Promise<(string | null)[]> {
  const out: (string | null)[] = [];
  for (let p = 0; p < partitionCount; p++) {
    const value = await redis.get(keys.partitionLease(p));
    out.push(value ? parseLeaseValue(value).workerId : null);
  }
  return out;
}

/** Whether every partition has a lease holder and they are `count` workers in all. */
export async function everyPartitionHeldBy(env: ActorTestEnv, partitionCount: number, count: number): Promise<boolean> {
  const holders = await leaseHolders(env.redis.client, env.keys, partitionCount);
  return holders.every((h) => h !== null) && new Set(holders).size === count;
}

/** Appends `perTick` events for random users every `everyMs` until stopped; `stop()` returns the count. */
export function steadyLoad(env: ActorTestEnv, users: readonly string[], partitionCount: number, perTick: number, everyMs: number) {
  let running = true;
  let appended = 0;
  const done = (async () => {
    while (running) {
      const batch = Array.from({ length: perTick }, () =>
        envelopeFor(users[Math.floor(Math.random() * users.length)]!, partitionCount),
      );
      await appendEnvelopes(env.redis.client, env.keys, batch);
      appended += batch.length;
      await sleep(everyMs);
    }
  })();
  return {
    async stop(): Promise<number> {
      running = false;
      await done;
      return appended;
    },
  };
}
