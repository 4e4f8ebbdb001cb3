/**
 * `npm run bench:first-sight`: commits of users who all see new securities at once.
 *
 * A security inserted inside an actor's commit stays uncommitted until that commit ends, and
 * every other commit inserting it waits (the unique index's check of an in-progress insert), so
 * users whose first syncs name the same new listings queue behind one another, in chains when
 * each commit also inserts others' listings. The actor's `prepare` step stores a batch's new
 * securities before its transaction, in a short one of their own. This measures both, in one
 * run, on fresh databases: the portfolio actor without the prepare step (the baseline) and with
 * it, alternating.
 *
 * - One worker runtime in this process (`UserPortfolioBehavior`, no sync jobs), 16 partitions,
 *   the engine's Postgres pool of 10 connections.
 * - Each user first lists a connection with two accounts (not timed); then the clock runs from
 *   the append of every user's first `positions.synced` (BENCH_POSITIONS of BENCH_SECURITIES
 *   listings new to the database) until every entry is acknowledged.
 * - Lock waits: sessions of the database waiting on a lock (`pg_stat_activity`), sampled every
 *   20 ms while the clock runs.
 *
 * Options (environment): BENCH_USERS (2000), BENCH_SECURITIES (500), BENCH_POSITIONS (5),
 * BENCH_ROUNDS (2 of each), BENCH_WRITE=0 to leave docs/BENCHMARKS.md alone.
 */
import { randomUUID } from 'node:crypto';
import { cpus, loadavg, totalmem } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import pino from 'pino';
import { freshDatabase, deleteNamespace, startBenchServices, writeBenchmarkSection } from './lib/bench-support.ts';
import { portfolioEvent } from './lib/portfolio-events.ts';
import type { ActorBehavior } from '../actors/actor-behavior.ts';
import { UserPortfolioBehavior, type UserPortfolioState } from '../actors/portfolio/user-portfolio-behavior.ts';
import { startWorkerRuntime } from '../actors/worker-runtime.ts';
import { loadConfig } from '../src/config/config.ts';
import { setRootLogger } from '../src/logging/logger.ts';
import { createContext } from '../src/runtime/context.ts';
import { singleRedis } from '../src/runtime/redis-client.ts';
import { groupBacklog } from '../streams/consumer-group.ts';
import { createStreamProducer } from '../streams/producer.ts';

const USERS = Number(process.env.BENCH_USERS ?? 2_000);
const SECURITIES = Number(process.env.BENCH_SECURITIES ?? 500);
const POSITIONS = Number(process.env.BENCH_POSITIONS ?? 5);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
/** The engine's Postgres pool per process (createContext). */
const POOL = 10;
const PARTITIONS = 16;
const WRITE_DOCS = process.env.BENCH_WRITE !== '0';

setRootLogger(pino({ level: process.env.LOG_LEVEL ?? 'warn' }));
const log = pino({ level: 'warn' });

type Mode = 'without prepare (baseline)' | 'with prepare';

interface Result {
  mode: Mode;
  seconds: number;
  eventsPerSecond: number;
  maxLockWaiters: number;
  meanLockWaiters: number;
}

/** The product's behavior, or the same without its prepare step. */
function behavior(mode: Mode): ActorBehavior<UserPortfolioState> {
  const none = () => Promise.resolve();
  const portfolio = new UserPortfolioBehavior({ sync: { scheduleAccountSync: none, scheduleUserSync: none, scheduleActivitiesSync: none } });
  if (mode === 'with prepare') return portfolio;
  return {
    name: portfolio.name,
    load: (db, userId) => portfolio.load(db, userId),
    apply: (tx, state, events, context) => portfolio.apply(tx, state, events, context),
    afterCommit: (state) => portfolio.afterCommit(state),
  };
}

async function round(services: { redisUrl: string; databaseUrl: string }, mode: Mode): Promise<Result> {
  const db = await freshDatabase(services.databaseUrl, { prefix: 'bench_first_sight', poolMax: 2 });
  const namespace = `bench-first-sight-${randomUUID()}`;
  const config = loadConfig({ ...process.env, PARTITION_COUNT: String(PARTITIONS), ACTOR_IDLE_MS: '3600000' });
  const ctx = createContext({ config, redisTarget: singleRedis(services.redisUrl), databaseUrl: db.url, namespace });
  const runtime = await startWorkerRuntime(ctx, { behavior: behavior(mode) as ActorBehavior<unknown>, workerId: 'bench-first-sight' });
  const producer = createStreamProducer(ctx.redis, ctx.keys);
  const drained = async () => {
    for (;;) {
      const backlogs = await Promise.all(Array.from({ length: PARTITIONS }, (_, p) => groupBacklog(ctx.redis, ctx.keys.partitionStream(p))));
      if (backlogs.every((b) => b.pending === 0 && b.lag === 0)) return;
      await sleep(20);
    }
  };
  const options = { userPrefix: 'first-sight-user-', partitionCount: PARTITIONS, securities: SECURITIES, positions: POSITIONS };
  const appendAll = async (n: number) => {
    const batch = Array.from({ length: USERS }, (_, u) => portfolioEvent(options, u, n));
    for (let i = 0; i < batch.length; i += 1_000) await producer.appendMany(batch.slice(i, i + 1_000));
  };
  try {
    await appendAll(0);
    await drained();
    const databaseName = new URL(db.url).pathname.slice(1);
    const samples: number[] = [];
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const row = await db.knex.raw<{ rows: { n: string }[] }>(
          "select count(*) as n from pg_stat_activity where datname = ? and wait_event_type = 'Lock'",
          [databaseName],
        );
        samples.push(Number(row.rows[0]!.n));
        await sleep(20);
      }
    })();
    const started = performance.now();
    await appendAll(1);
    await drained();
    const seconds = (performance.now() - started) / 1000;
    sampling = false;
    await sampler;
    const securities = Number((await db.knex('securities').count({ n: '*' }))[0]!.n);
    if (securities < Math.min(SECURITIES, USERS * POSITIONS) * 0.9) throw new Error(`only ${securities} securities stored`);
    return {
      mode,
      seconds,
      eventsPerSecond: USERS / seconds,
      maxLockWaiters: Math.max(0, ...samples),
      meanLockWaiters: samples.reduce((a, b) => a + b, 0) / Math.max(samples.length, 1),
    };
  } finally {
    await runtime.stop();
    await deleteNamespace(ctx.redis, namespace);
    await ctx.close();
    await db.drop();
  }
}

const services = await startBenchServices(log);
const loadStart = loadavg();
const results: Result[] = [];
try {
  for (let r = 0; r < ROUNDS; r++) {
    for (const mode of ['without prepare (baseline)', 'with prepare'] as const) {
      const result = await round(services, mode);
      console.log(JSON.stringify(result));
      results.push(result);
    }
  }
} finally {
  await services.stop();
}
const loadEnd = loadavg();

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)]!;
};
const of = (mode: Mode) => results.filter((r) => r.mode === mode);
const baseline = median(of('without prepare (baseline)').map((r) => r.seconds));
const prepared = median(of('with prepare').map((r) => r.seconds));
const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
const lines = [
  '## First sight of securities: commits that insert the same new securities (bench:first-sight)',
  '',
  `Measured ${new Date().toISOString().slice(0, 10)} with \`npm run bench:first-sight\` (bench/first-sight.ts).`,
  '',
  `- Machine: ${cpus().length} CPUs (${cpus()[0]?.model.trim() ?? '?'}), ${fmt(totalmem() / 2 ** 30, 1)} GiB memory, Node ${process.version}; load average at the start ${loadStart.map((l) => l.toFixed(2)).join(' ')}, at the end ${loadEnd.map((l) => l.toFixed(2)).join(' ')}.`,
  `- Workload: ${fmt(USERS)} users, each one \`positions.synced\` of ${POSITIONS} listings drawn from ${fmt(SECURITIES)} that no commit stored before, all appended at once; the portfolio actor in one worker runtime, ${PARTITIONS} partitions, a pool of ${POOL} Postgres connections. Wall time from the append to the last acknowledgement; lock waiters = sessions waiting on a lock, sampled every 20 ms. Modes alternate, ${ROUNDS} rounds each, a fresh database per round.`,
  '',
  '| mode | round | wall time | events/s | lock waiters, max | lock waiters, mean |',
  '| --- | ---: | ---: | ---: | ---: | ---: |',
  ...results.map((r, i) => `| ${r.mode} | ${Math.floor(i / 2) + 1} | ${fmt(r.seconds, 2)} s | ${fmt(r.eventsPerSecond)} | ${r.maxLockWaiters} | ${fmt(r.meanLockWaiters, 2)} |`),
  '',
  `Median wall time: ${fmt(baseline, 2)} s without the prepare step, ${fmt(prepared, 2)} s with it: **${fmt(baseline / prepared, 2)}×** as fast. Most lock waiters seen at once: ${Math.max(...of('without prepare (baseline)').map((r) => r.maxLockWaiters))} without it, ${Math.max(...of('with prepare').map((r) => r.maxLockWaiters))} with it.`,
  '',
  'The prepare step takes the securities out of the commits, so no commit waits on another for them; the wall time gains only what those waits cost, which a run on one worker runtime (at most 10 commits at once) keeps small, and which the load of the machine can hide.',
];
console.log(lines.join('\n'));
if (WRITE_DOCS) writeBenchmarkSection(lines);
