/**
 * `npm run bench:actors`: events per second through the actor runtime, and memory per actor.
 *
 * - Redis and Postgres come from REDIS_URL/DATABASE_URL, or are started here (throwaway local
 *   servers; their durability settings are printed in the report).
 * - Baseline: the same events drained with bare XREADGROUP + XACK (no actors, no Postgres).
 * - Runtime: 1 then 2 worker processes (`actors/worker-process.ts`, counting projection: one
 *   upsert per batch). Once they own every partition, the events are appended as fast as the
 *   producer can; the clock runs from the first append until Postgres counts every event.
 * - Memory: a child process with `--expose-gc` activates 10,000 actors whose state holds 25
 *   positions each, measures the heap, passivates them all and measures again.
 *
 * Options (environment): BENCH_EVENTS (200000), BENCH_USERS (1000), BENCH_ACTORS (10000),
 * BENCH_WRITE=0 to skip updating docs/BENCHMARKS.md.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { cpus, loadavg, totalmem } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { deleteNamespace, freshDatabase, startBenchServices, writeBenchmarkSection, type BenchDatabase } from './lib/bench-support.ts';
import type { ActorBehavior } from '../actors/actor-behavior.ts';
import { createEventCountTable, totalCounted } from '../actors/behaviors/counting-projection.ts';
import { startWorkerRuntime } from '../actors/worker-runtime.ts';
import { loadConfig } from '../src/config/config.ts';
import { createDatabase, type Knex } from '../src/db/knex.ts';
import { setRootLogger } from '../src/logging/logger.ts';
import { createContext } from '../src/runtime/context.ts';
import { ensureConsumerGroup } from '../streams/consumer-group.ts';
import { ENVELOPE_SCHEMA_VERSION, type Envelope } from '../streams/envelope.ts';
import { CONSUMER_GROUP, streamKeys, type StreamKeys } from '../streams/keys.ts';
import { partitionOf } from '../streams/partition.ts';
import { createStreamProducer } from '../streams/producer.ts';
import { Redis } from 'ioredis';
import { singleRedis, type RedisClient } from '../src/runtime/redis-client.ts';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 200_000);
const USERS = Number(process.env.BENCH_USERS ?? 1_000);
const ACTORS = Number(process.env.BENCH_ACTORS ?? 10_000);
const POSITIONS = Number(process.env.BENCH_POSITIONS ?? 25);
const PARTITIONS = 16;
/** Per partition: with 1,000 users over 16 partitions, about 150 queued events per user can form one batch. */
const MAX_IN_FLIGHT = Number(process.env.BENCH_MAX_IN_FLIGHT ?? 10_000);
const WRITE_DOCS = process.env.BENCH_WRITE !== '0';
const TARGET_EVENTS_PER_SECOND = 20_000;
const TARGET_BYTES_PER_ACTOR = 16 * 1024;
const root = fileURLToPath(new URL('..', import.meta.url));

setRootLogger(pino({ level: process.env.LOG_LEVEL ?? 'warn' }));
const log = pino({ level: 'warn' });

function envelopes(count: number, users: number): Envelope[] {
  const time = new Date().toISOString();
  return Array.from({ length: count }, (_, i) => {
    const user = `bench-user-${i % users}`;
    return {
      id: `bench-${i}`,
      type: 'positions.synced',
      user,
      partition: partitionOf(user, PARTITIONS),
      time,
      schema: ENVELOPE_SCHEMA_VERSION,
      payload: { accountId: `acct-${i % users}`, n: i },
    };
  });
}

async function append(redis: RedisClient, keys: StreamKeys, events: readonly Envelope[]): Promise<void> {
  const producer = createStreamProducer(redis, keys);
  for (let i = 0; i < events.length; i += 2_000) await producer.appendMany(events.slice(i, i + 2_000));
}

/** A database of its own, migrated, with the counting projection's table. */
async function freshBenchDatabase(serverUrl: string): Promise<BenchDatabase> {
  const db = await freshDatabase(serverUrl, { prefix: 'bench_actors' });
  await createEventCountTable(db.knex);
  return db;
}


/** Bare consumer-group throughput: XREADGROUP (500 per call) + XACK per partition, no actors. */
async function baseline(redisUrl: string): Promise<number> {
  const redis = new Redis(redisUrl);
  const namespace = `bench-${randomUUID()}:`;
  const keys = streamKeys(namespace);
  try {
    for (let p = 0; p < PARTITIONS; p++) await ensureConsumerGroup(redis, keys.partitionStream(p));
    await append(redis, keys, envelopes(EVENTS, USERS));
    const started = performance.now();
    let read = 0;
    await Promise.all(
      Array.from({ length: PARTITIONS }, async (_, p) => {
        const stream = keys.partitionStream(p);
        for (;;) {
          const reply = (await redis.xreadgroup('GROUP', CONSUMER_GROUP, 'bench', 'COUNT', 500, 'STREAMS', stream, '>')) as
            | [string, [string, string[]][]][]
            | null;
          const entries = reply?.[0]?.[1] ?? [];
          if (entries.length === 0) return;
          for (const [, fields] of entries) JSON.parse(fields[1]!);
          await redis.xack(stream, CONSUMER_GROUP, ...entries.map(([id]) => id));
          read += entries.length;
        }
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    if (read !== EVENTS) throw new Error(`baseline read ${read} of ${EVENTS}`);
    return EVENTS / seconds;
  } finally {
    await deleteNamespace(redis, namespace);
    redis.disconnect();
  }
}

function spawnWorker(env: Record<string, string>): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', 'actors/worker-process.ts'], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  return child;
}

async function commits(knex: Knex): Promise<number> {
  const { rows } = (await knex.raw('SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()')) as {
    rows: { xact_commit: number | string }[];
  };
  return Number(rows[0]!.xact_commit);
}

/** End-to-end events/s through `workers` worker processes. */
async function throughput(
  workers: number,
  services: { redisUrl: string; databaseUrl: string },
): Promise<{ perSecond: number; appendPerSecond: number; seconds: number; meanBatch: number }> {
  const redis = new Redis(services.redisUrl);
  const namespace = `bench-${randomUUID()}:`;
  const keys = streamKeys(namespace);
  const db = await freshBenchDatabase(services.databaseUrl);
  const children: ChildProcess[] = [];
  try {
    for (let w = 0; w < workers; w++) {
      children.push(
        spawnWorker({
          REDIS_URL: services.redisUrl,
          DATABASE_URL: db.url,
          NAMESPACE: namespace,
          WORKER_ID: `bench-worker-${w + 1}`,
          BEHAVIOR: 'counting',
          PARTITION_COUNT: String(PARTITIONS),
          PARTITION_MAX_IN_FLIGHT: String(MAX_IN_FLIGHT),
          LOG_LEVEL: 'warn',
        }),
      );
    }
    // Ready when the partitions are split evenly between the workers (no hand-over under way).
    const deadline = Date.now() + 60_000;
    for (;;) {
      const holders = await Promise.all(
        Array.from({ length: PARTITIONS }, (_, p) => redis.get(keys.partitionLease(p))),
      );
      const counts = new Map<string, number>();
      for (const h of holders) if (h) counts.set(h.slice(h.indexOf(':') + 1), (counts.get(h.slice(h.indexOf(':') + 1)) ?? 0) + 1);
      const even = [...counts.values()].every((n) => n === PARTITIONS / workers);
      if (holders.every(Boolean) && counts.size === workers && even) break;
      if (Date.now() > deadline) throw new Error('workers did not take the partitions within 60 s');
      await sleep(100);
    }
    const events = envelopes(EVENTS, USERS);
    const commitsBefore = await commits(db.knex);
    const started = performance.now();
    await append(redis, keys, events);
    const appendSeconds = (performance.now() - started) / 1000;
    while ((await totalCounted(db.knex)) < EVENTS) await sleep(20);
    const seconds = (performance.now() - started) / 1000;
    await sleep(1_000); // let the statistics collector catch up
    const transactions = (await commits(db.knex)) - commitsBefore;
    return {
      perSecond: EVENTS / seconds,
      appendPerSecond: EVENTS / appendSeconds,
      seconds,
      meanBatch: transactions > 0 ? EVENTS / transactions : NaN,
    };
  } finally {
    for (const child of children) child.kill('SIGTERM');
    await Promise.all(children.map((c) => new Promise((resolve) => (c.exitCode !== null ? resolve(null) : c.once('exit', resolve)))));
    await deleteNamespace(redis, namespace);
    redis.disconnect();
    await db.drop();
  }
}

// --- memory (child process with --expose-gc) ---------------------------------------------------

interface Position {
  securityId: string;
  symbol: string;
  accountId: string;
  quantity: string;
  averageCost: string;
  price: string;
  currency: string;
  marketValue: string;
}
interface PortfolioState {
  positions: Map<string, Position>;
  applied: number;
}

/** A state shaped like the portfolio actor's: 25 positions, values as exact decimal strings. */
function portfolioBehavior(): ActorBehavior<PortfolioState> {
  return {
    name: 'bench-portfolio',
    async load(_db, userId) {
      const rows: Position[] = [];
      for (let i = 0; i < POSITIONS; i++) {
        const quantity = (Math.random() * 1000).toFixed(4);
        const price = (10 + Math.random() * 500).toFixed(2);
        rows.push({
          securityId: randomUUID(),
          symbol: `SYM${i}${userId.length % 10}`,
          accountId: `acct-${userId}`,
          quantity,
          averageCost: (Number(price) * 0.9).toFixed(4),
          price,
          currency: 'USD',
          marketValue: (Number(quantity) * Number(price)).toFixed(2),
        });
      }
      // As if read from Postgres: flat strings, not the concatenation ropes built above.
      const loaded = JSON.parse(JSON.stringify(rows)) as Position[];
      const positions = new Map(loaded.map((p) => [p.securityId, p]));
      return { positions, applied: 0 };
    },
    async apply(_tx, state, events) {
      state.applied += events.length;
      return state;
    },
  };
}

function heapUsed(): number {
  const gc = (globalThis as { gc?: () => void }).gc!;
  for (let i = 0; i < 4; i++) gc();
  return process.memoryUsage().heapUsed;
}

async function memoryChild(): Promise<void> {
  const redisUrl = process.env.REDIS_URL!;
  const db = await freshBenchDatabase(process.env.DATABASE_URL!);
  const namespace = `bench-${randomUUID()}:`;
  const config = loadConfig({ ...process.env, PARTITION_COUNT: String(PARTITIONS), ACTOR_IDLE_MS: '3600000' });
  const ctx = createContext({ config, redisTarget: singleRedis(redisUrl), databaseUrl: db.url, namespace });
  const runtime = await startWorkerRuntime(ctx, { behavior: portfolioBehavior(), workerId: 'bench-memory', maxActiveActors: ACTORS * 2 });
  try {
    const checkpoints = async () => Number((await ctx.db('actor_checkpoints').count({ n: '*' }).first())!.n);
    const usersEvents = (prefix: string) =>
      envelopes(ACTORS, ACTORS).map((e) => {
        const user = `${prefix}-${e.user}`;
        return { ...e, user, partition: partitionOf(user, PARTITIONS) };
      });
    // Warm-up round with as many other users (activated, then passivated; not measured), so the
    // structures that grow with load (pools, buffers, hash tables) are at their size before the baseline.
    await append(ctx.redis, ctx.keys, usersEvents('warm'));
    while ((await checkpoints()) < ACTORS) await sleep(50);
    await sleep(200);
    runtime.passivateIdle(0);
    const baselineHeap = heapUsed();

    await append(ctx.redis, ctx.keys, usersEvents('measured'));
    while ((await checkpoints()) < 2 * ACTORS) await sleep(100);
    await sleep(200);
    const active = runtime.activeActors();
    const activeHeap = heapUsed();

    const passivated = runtime.passivateIdle(0);
    const passivatedHeap = heapUsed();
    process.stdout.write(
      `${JSON.stringify({
        actors: active,
        passivated,
        perActiveActor: (activeHeap - passivatedHeap) / active,
        perPassivatedUser: (passivatedHeap - baselineHeap) / passivated,
        remaining: runtime.activeActors(),
      })}\n`,
    );
  } finally {
    await runtime.stop();
    await deleteNamespace(ctx.redis, namespace);
    await ctx.close();
    await db.drop();
  }
}

async function memory(services: { redisUrl: string; databaseUrl: string }): Promise<{
  actors: number;
  perActiveActor: number;
  perPassivatedUser: number;
  remaining: number;
}> {
  const child = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', 'bench/actors.ts', '--memory'], {
    cwd: root,
    env: { ...process.env, REDIS_URL: services.redisUrl, DATABASE_URL: services.databaseUrl, LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  if (code !== 0) throw new Error(`memory benchmark exited with ${code}`);
  return JSON.parse(out.trim().split('\n').pop()!) as {
    actors: number;
    perActiveActor: number;
    perPassivatedUser: number;
    remaining: number;
  };
}

// --- report ------------------------------------------------------------------------------------


const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

async function main(): Promise<void> {
  const loadAtStart = loadavg()[0]!;
  const services = await startBenchServices(log);
  try {
    const probe = createDatabase({ url: services.databaseUrl, poolMax: 1 });
    const settings = (await probe.raw(
      `SELECT current_setting('fsync') AS fsync, current_setting('synchronous_commit') AS sync, version() AS version`,
    )) as { rows: { fsync: string; sync: string; version: string }[] };
    await probe.destroy();
    const redisProbe = new Redis(services.redisUrl);
    const redisInfo = (await redisProbe.info('server')).match(/redis_version:(\S+)/)?.[1] ?? '?';
    const aof = ((await redisProbe.config('GET', 'appendfsync')) as string[])[1];
    redisProbe.disconnect();
    const pgSettings = settings.rows[0]!;

    console.log(`baseline: bare XREADGROUP + XACK of ${fmt(EVENTS)} events ...`);
    const raw = await baseline(services.redisUrl);
    console.log(`  ${fmt(raw)} events/s`);
    const runs: { workers: number; perSecond: number; appendPerSecond: number; seconds: number; meanBatch: number }[] = [];
    for (const workers of [1, 2]) {
      console.log(`runtime: ${workers} worker process(es), ${fmt(EVENTS)} events over ${fmt(USERS)} users ...`);
      const result = await throughput(workers, services);
      runs.push({ workers, ...result });
      console.log(`  ${fmt(result.perSecond)} events/s (${result.meanBatch.toFixed(1)} events per Postgres commit)`);
    }
    console.log(`memory: ${fmt(ACTORS)} actors with ${POSITIONS} positions ...`);
    const mem = await memory(services);
    console.log(`  ${fmt(mem.perActiveActor)} bytes per active actor, ${mem.perPassivatedUser.toFixed(1)} per passivated user`);

    const cpu = cpus();
    const best = Math.max(...runs.map((r) => r.perSecond));
    const lines = [
      '## Actor runtime',
      '',
      `Measured ${new Date().toISOString().slice(0, 10)} with \`npm run bench:actors\` (bench/actors.ts).`,
      '',
      `Machine: ${cpu.length} CPUs (${cpu[0]?.model.trim() ?? 'unknown'}), ${(totalmem() / 2 ** 30).toFixed(1)} GiB memory, Node ${process.version}. ` +
        `Redis ${redisInfo} (appendfsync ${aof}) and ${pgSettings.version.split(' ').slice(0, 2).join(' ')} ` +
        `(fsync ${pgSettings.fsync}, synchronous_commit ${pgSettings.sync}) on the same machine` +
        (services.source.postgres === 'local' ? ', started by the benchmark as throwaway servers.' : '.'),
      '',
      `Workload: ${fmt(EVENTS)} events over ${fmt(USERS)} users in ${PARTITIONS} partitions, appended once the workers own every partition; ` +
        'the clock runs from the first append until Postgres has counted every event. Projection: one upsert per user batch ' +
        '(`actors/behaviors/counting-projection.ts`); each batch is one transaction with the fence check and the checkpoint. Settings: ' +
        `\`ACTOR_MAX_BATCH=200\` (default), \`PARTITION_MAX_IN_FLIGHT=${MAX_IN_FLIGHT}\` (default 2,000, which caps batches at about ` +
        '32 events per user here, since 1,000 users share 16 × 2,000 in-flight slots; the bound is per partition and sized for ' +
        `events of a few hundred bytes). Load average when the run started: ${loadAtStart.toFixed(2)} (the machine is shared).`,
      '',
      'Two worker processes on two CPUs compete with each other, Postgres, Redis and the producer for the same cores, and split ' +
        "each user's queue across fewer events per transaction; the second process adds fault tolerance here, not throughput. " +
        'On a machine with spare cores, or workers on separate machines, the processes scale with the partitions they own.',
      '',
      '| run | events/s | vs. baseline | events per Postgres commit (activation reads count as commits too) |',
      '| --- | ---: | ---: | ---: |',
      `| baseline: bare XREADGROUP + JSON.parse + XACK, one process, no actors, no Postgres | ${fmt(raw)} | 1.00 | — |`,
      ...runs.map(
        (r) =>
          `| runtime, ${r.workers} worker process${r.workers > 1 ? 'es' : ''} | ${fmt(r.perSecond)} | ${(r.perSecond / raw).toFixed(2)} | ${r.meanBatch.toFixed(1)} |`,
      ),
      '',
      `Target: at least ${fmt(TARGET_EVENTS_PER_SECOND)} events/s end to end with batching — ${best >= TARGET_EVENTS_PER_SECOND ? 'met' : 'NOT met'} (best ${fmt(best)}).`,
      '',
      `Memory (heap used after forced GC, in the worker runtime itself, ${fmt(mem.actors)} users: per active actor = (heap with all of them active − ` +
        `heap after passivating them) / users; per passivated user = (heap after passivating − heap before they arrived) / users; each state ` +
        `holds ${POSITIONS} positions of 8 fields with decimal strings, as loaded from Postgres):`,
      '',
      '| | bytes |',
      '| --- | ---: |',
      `| per active actor (actor, mailbox, state with ${POSITIONS} positions) | ${fmt(mem.perActiveActor)} |`,
      `| per passivated user | ${mem.perPassivatedUser.toFixed(1)} |`,
      '',
      `Target: under ${fmt(TARGET_BYTES_PER_ACTOR)} bytes per active actor — ${mem.perActiveActor < TARGET_BYTES_PER_ACTOR ? 'met' : 'NOT met'}. ` +
        'A passivated user has no object left in the worker (the registry drops the actor and its state); the figure is heap noise ' +
        'over the same number of users, and its sign can go either way.',
    ];
    console.log(`\n${lines.join('\n')}\n`);
    if (WRITE_DOCS) {
      writeBenchmarkSection(lines);
      console.log('docs/BENCHMARKS.md updated');
    }
  } finally {
    await services.stop();
  }
}

if (process.argv.includes('--memory')) await memoryChild();
else await main();
