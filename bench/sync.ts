/**
 * `npm run bench:sync`: SnapTrade account syncs per minute through the real sync pipeline
 * (BullMQ queue -> SyncWorker -> SnapTradeClient with the shared Redis rate limiter -> sandbox;
 * `positions.synced` appended -> per-user actor -> Postgres), for 1,000 users with 1-2 accounts.
 *
 * - Redis and Postgres come from REDIS_URL/DATABASE_URL, or are started here (throwaway servers).
 *   The run uses a database and a Redis key namespace of its own and removes both afterwards.
 * - The brokerage sandbox runs in this process (`startSandbox`, free ports, webhooks off). Users
 *   and connections are created through its control API (`createUser`, `connect` with
 *   `webhooks: false`, so nothing syncs before the measurement); each user's SnapTrade secret is
 *   stored with `CredentialsStore.saveSnaptrade`, as `POST /api/snaptrade/connection-url` does.
 * - The engine runs in a child process (bench/lib/sync-engine.ts): `startFoliostream` with
 *   `ROLES=worker` (sync workers + actors), every other setting at its default. This process
 *   schedules the jobs with the product's `SyncScheduler` and samples the sandbox's request
 *   counts (control API), the applied syncs (`accounts.last_synced_at`) and the queue.
 * - Setup: a user sync per user (lists the accounts, so the actors know them), unlimited budget.
 * - (b) unlimited (sandbox limit 1,000,000 per 1 s window, engine budget 1,000,000/min): account
 *   syncs of every account scheduled at once (debounce 0); the clock runs until every one is
 *   applied in Postgres. BENCH_ROUNDS rounds (the median is reported), 5.5 s apart (the per-account
 *   floor, SYNC_ACCOUNT_FLOOR_MS, is 5 s).
 * - (a) SnapTrade's limit, 250 requests per rolling 60 s at the sandbox and
 *   SNAPTRADE_REQUESTS_PER_MINUTE=250 in the engine: the same schedule (a backlog of ~12 minutes of
 *   budget), sampled every 500 ms; warm-up BENCH_WARMUP s, then at least BENCH_MEASURE s. The
 *   engine spends its budget in bursts (one per window), so the rate is taken between two burst
 *   starts (whole windows); a window cut mid-burst would be off by up to a whole burst.
 *
 * Options (environment): BENCH_USERS (1000), BENCH_ROUNDS (3), BENCH_WARMUP (60), BENCH_MEASURE
 * (180), BENCH_BUDGET (250), BENCH_LOG_LEVEL of the engine (warn), BENCH_WRITE=0 to skip updating
 * docs/BENCHMARKS.md.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { cpus, loadavg, totalmem } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import pino from 'pino';
import { freshDatabase, startBenchServices, writeBenchmarkSection, type BenchDatabase } from './lib/bench-support.ts';
import { loadConfig } from '../src/config/config.ts';
import { createSecretBox } from '../src/crypto/secret-box.ts';
import { type Knex } from '../src/db/knex.ts';
import { setRootLogger } from '../src/logging/logger.ts';
import { CredentialsStore } from '../src/providers/credentials-store.ts';
import { startSandbox, type Sandbox } from '../sandbox/sandbox.ts';
import type { RequestCounts } from '../sandbox/control-client.ts';
import { SyncScheduler } from '../src/sync/sync-scheduler.ts';
import { createRateLimiter } from '../src/providers/rate-limiter.ts';
import { SnapTradeClient } from '../src/providers/snaptrade/client.ts';
import { SnapTradeProvider } from '../src/providers/snaptrade/snaptrade-provider.ts';
import { ENVELOPE_SCHEMA_VERSION } from '../streams/envelope.ts';
import { partitionOf } from '../streams/partition.ts';
import { createStreamProducer } from '../streams/producer.ts';
import { parseLeaseValue } from '../actors/partition-lease.ts';
import { streamKeys } from '../streams/keys.ts';
import { singleRedis } from '../src/runtime/redis-client.ts';

const USERS = Number(process.env.BENCH_USERS ?? 1_000);
const B_WARMUP_S = Number(process.env.BENCH_B_WARMUP ?? 15);
const B_MEASURE_S = Number(process.env.BENCH_B_MEASURE ?? 60);
const WARMUP_S = Number(process.env.BENCH_WARMUP ?? 60);
const MEASURE_S = Number(process.env.BENCH_MEASURE ?? 180);
const BUDGET = Number(process.env.BENCH_BUDGET ?? 250);
const ENGINE_LOG_LEVEL = process.env.BENCH_LOG_LEVEL ?? 'warn';
const WRITE_DOCS = process.env.BENCH_WRITE !== '0';
const UNLIMITED = 1_000_000;
const SAMPLE_MS = 500;
/** No request for this long before a sample that has some: the sample before starts a burst. */
const QUIET_MS = 5_000;
const TARGET_BUDGET_SHARE = 0.95;
/** 1, 2, 1, 2, 1, 2 accounts: 1,500 accounts for 1,000 users. */
const BROKERAGES = ['ROBINHOOD', 'QUESTRADE', 'FIDELITY', 'SCHWAB', 'INTERACTIVE-BROKERS-FLEX', 'WEALTHSIMPLE'];
const SECTION = '## Sync pipeline (bench:sync)';

const root = fileURLToPath(new URL('..', import.meta.url));
setRootLogger(pino({ level: 'warn' }));
const log = pino({ level: 'warn' });
const config = loadConfig(process.env);

interface BenchAccount {
  userId: string;
  accountId: string;
}

// --- helpers -----------------------------------------------------------------------------------

async function eachLimit<T>(items: readonly T[], concurrency: number, run: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) await run(items[next++]!);
    }),
  );
}

function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

const fmt = (n: number, digits = 0) =>
  Number.isFinite(n) ? n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }) : '—';
const seconds = (ms: number) => (Number.isFinite(ms) ? `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s` : '—');

/** A database of its own on the server, migrated; its version line records the durability settings. */
async function freshBenchDatabase(serverUrl: string): Promise<BenchDatabase> {
  const db = await freshDatabase(serverUrl, { prefix: 'bench_sync', applicationName: 'bench-sync' });
  const settings = (await db.knex.raw(
    `SELECT current_setting('fsync') AS fsync, current_setting('synchronous_commit') AS sync, version() AS version`,
  )) as { rows: { fsync: string; sync: string; version: string }[] };
  const s = settings.rows[0]!;
  return { ...db, version: `${s.version.split(' ').slice(0, 2).join(' ')} (fsync ${s.fsync}, synchronous_commit ${s.sync})` };
}

async function deleteKeys(redis: Redis, pattern: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = next;
    if (keys.length) await redis.unlink(...keys);
  } while (cursor !== '0');
}

async function redisCpuSeconds(redis: Redis): Promise<number> {
  const info = await redis.info('cpu');
  const value = (name: string) => Number(new RegExp(`${name}:([\\d.]+)`).exec(info)?.[1] ?? NaN);
  return value('used_cpu_user') + value('used_cpu_sys');
}

const parentCpuSeconds = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

// --- the engine (child process) ----------------------------------------------------------------

/**
 * The engine's warnings and errors (LOG_LEVEL=warn), counted by message and error code rather
 * than printed (a contended run logs thousands); the first of each kind is printed, shortened.
 */
const engineLog = new Map<string, number>();

function countLogLine(line: string): void {
  let entry: { msg?: string; err?: { code?: string; message?: string } };
  try {
    entry = JSON.parse(line) as typeof entry;
  } catch {
    // Not pino (knex prints pool errors with their stacks): counted, the first few printed.
    const n = (engineLog.get('(non-JSON output lines)') ?? 0) + 1;
    engineLog.set('(non-JSON output lines)', n);
    if (n <= 5 && line.trim()) console.log(`  engine: ${line.slice(0, 300)}`);
    return;
  }
  const key = `${entry.msg ?? '?'}${entry.err?.code ? ` (${entry.err.code})` : ''}`;
  const n = (engineLog.get(key) ?? 0) + 1;
  engineLog.set(key, n);
  if (n === 1) console.log(`  engine: ${key}: ${(entry.err?.message ?? '').slice(-160)}`);
}

const logCounts = () => new Map(engineLog);
function logDelta(before: ReadonlyMap<string, number>): string {
  const parts = [...engineLog].map(([k, n]) => [k, n - (before.get(k) ?? 0)] as const).filter(([, n]) => n > 0);
  return parts.length ? parts.map(([k, n]) => `${fmt(n)} × "${k}"`).join(', ') : 'none';
}

interface Engine {
  workerId: string;
  cpuSeconds(): Promise<number>;
  stop(): Promise<void>;
}

async function startEngine(env: NodeJS.ProcessEnv, redis: Redis, namespace: string): Promise<Engine> {
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'bench/lib/sync-engine.ts'], {
    cwd: root,
    env,
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
  });
  createInterface({ input: child.stdout! }).on('line', countLogLine);
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const workerId = await new Promise<string>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`engine exited with ${code} before it was ready`)));
    child.once('message', (m: { type: string; workerId?: string }) => {
      if (m.type === 'ready' && m.workerId) resolve(m.workerId);
      else reject(new Error(`unexpected message from the engine: ${JSON.stringify(m)}`));
    });
  });
  // Ready to measure once this worker holds every partition (a previous engine may still hold
  // some until its leases are released or expire).
  const keys = streamKeys(namespace);
  const deadline = Date.now() + 60_000;
  for (;;) {
    const values = await Promise.all(
      Array.from({ length: config.PARTITION_COUNT }, (_, p) => redis.get(keys.partitionLease(p))),
    );
    if (values.every((v) => v && parseLeaseValue(v).workerId === workerId)) break;
    if (Date.now() > deadline) throw new Error('the engine did not take every partition within 60 s');
    await sleep(100);
  }
  return {
    workerId,
    cpuSeconds() {
      return new Promise((resolve) => {
        child.once('message', (m: { type: string; usage?: NodeJS.CpuUsage }) =>
          resolve(m.usage ? (m.usage.user + m.usage.system) / 1e6 : NaN),
        );
        child.send({ type: 'cpu' });
      });
    },
    async stop() {
      if (child.exitCode !== null) return;
      child.send({ type: 'stop' });
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

// --- measurements ------------------------------------------------------------------------------

interface Latencies {
  scheduleToApplied: number[];
  appendToApplied: number[];
}

/**
 * For the accounts applied at or after `since` (and before `until`): schedule -> applied (the
 * actor's transaction, `accounts.last_synced_at`) and stream append (the id of the
 * `positions.synced` entry the job returned) -> applied.
 */
async function latencies(
  db: Knex,
  scheduler: SyncScheduler,
  scheduledAt: ReadonlyMap<string, number>,
  since: number,
  until = Infinity,
): Promise<Latencies> {
  const rows = (await db('accounts')
    .where('provider', 'snaptrade')
    .andWhere('last_synced_at', '>=', new Date(since))
    .select('external_id', 'last_synced_at')) as { external_id: string; last_synced_at: Date }[];
  const applied = new Map(rows.map((r) => [r.external_id, r.last_synced_at.getTime()]));
  const appended = new Map<string, number>();
  for (const job of await scheduler.queue.getJobs(['completed'], 0, -1)) {
    const data = job.data;
    if (data.kind !== 'account' || job.timestamp < since) continue;
    const streamId = (job.returnvalue as { streamId?: string } | null)?.streamId;
    if (streamId) appended.set(data.accountId, Number(streamId.split('-')[0]));
  }
  const scheduleToApplied: number[] = [];
  const appendToApplied: number[] = [];
  for (const [accountId, at] of applied) {
    if (at >= until) continue;
    const scheduled = scheduledAt.get(accountId);
    if (scheduled !== undefined) scheduleToApplied.push(at - scheduled);
    const append = appended.get(accountId);
    if (append !== undefined) appendToApplied.push(at - append);
  }
  scheduleToApplied.sort((a, b) => a - b);
  appendToApplied.sort((a, b) => a - b);
  return { scheduleToApplied, appendToApplied };
}

async function appliedSince(db: Knex, since: number): Promise<number> {
  const row = await db('accounts').where('provider', 'snaptrade').andWhere('last_synced_at', '>=', new Date(since)).count({ n: '*' }).first();
  return Number(row?.n ?? 0);
}

async function scheduleAll(scheduler: SyncScheduler, accounts: readonly BenchAccount[], scheduledAt: Map<string, number>): Promise<number> {
  const started = Date.now();
  await eachLimit(accounts, 32, async (a) => {
    scheduledAt.set(a.accountId, Date.now());
    await scheduler.scheduleAccountSync(a.userId, 'snaptrade', a.accountId, 'bench', { debounceMs: 0 });
  });
  return Date.now() - started;
}

const throttled = (counts: RequestCounts) => counts.byStatus['429'] ?? 0;
const byOperation = (counts: RequestCounts) =>
  Object.entries(counts.byOperation)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([op, n]) => `${op} ${fmt(n)}`)
    .join(', ');

interface UnlimitedRun {
  accounts: number;
  /** Whether every account was applied before the time limit (then the window ends there). */
  complete: boolean;
  windowMs: number;
  requestsInWindow: number;
  appliedInWindow: number;
  requests: RequestCounts;
  scheduleMs: number;
  latency: Latencies;
  engineCpu: number;
  parentCpu: number;
  redisCpu: number;
}

/**
 * Every account scheduled at once; sampled every second. The window runs from the end of the
 * warm-up (B_WARMUP_S) to the last account applied, or to B_MEASURE_S later if that comes first.
 */
async function unlimitedRun(
  ctx: { db: Knex; scheduler: SyncScheduler; sandbox: Sandbox; redis: Redis; engine: Engine },
  accounts: readonly BenchAccount[],
): Promise<UnlimitedRun> {
  const { db, scheduler, sandbox, redis, engine } = ctx;
  await sandbox.control.resetRequests();
  const cpu0 = [await engine.cpuSeconds(), parentCpuSeconds(), await redisCpuSeconds(redis)] as const;
  const scheduledAt = new Map<string, number>();
  const t0 = Date.now();
  const samples: Sample[] = [];
  const sample = async () => {
    const [counts, applied] = await Promise.all([sandbox.control.requests(), appliedSince(db, t0)]);
    samples.push({ t: Date.now(), requests: counts.total, throttled: throttled(counts), applied });
  };
  const scheduleMs = await scheduleAll(scheduler, accounts, scheduledAt);
  const end = t0 + (B_WARMUP_S + B_MEASURE_S) * 1000;
  let lastLog = t0;
  for (;;) {
    await sleep(1_000);
    await sample();
    const now = samples.at(-1)!;
    if (now.t - lastLog >= 15_000) {
      lastLog = now.t;
      console.log(`  ${((now.t - t0) / 1000).toFixed(0)} s: ${fmt(now.requests)} requests, ${fmt(now.applied)} accounts applied`);
    }
    if (now.applied >= accounts.length || now.t >= end) break;
  }
  const last = samples.at(-1)!;
  const complete = last.applied >= accounts.length;
  const from = complete ? { t: t0, requests: 0, throttled: 0, applied: 0 } : sampleAt(samples, t0 + B_WARMUP_S * 1000);
  const cpu1 = [await engine.cpuSeconds(), parentCpuSeconds(), await redisCpuSeconds(redis)] as const;
  return {
    accounts: accounts.length,
    complete,
    windowMs: last.t - from.t,
    requestsInWindow: last.requests - from.requests,
    appliedInWindow: last.applied - from.applied,
    requests: await sandbox.control.requests(),
    scheduleMs,
    latency: await latencies(db, scheduler, scheduledAt, t0),
    engineCpu: cpu1[0] - cpu0[0],
    parentCpu: cpu1[1] - cpu0[1],
    redisCpu: cpu1[2] - cpu0[2],
  };
}

interface Sample {
  t: number;
  requests: number;
  throttled: number;
  applied: number;
}

interface LimitedRun {
  samples: Sample[];
  t0: number;
  scheduleMs: number;
  window: { from: Sample; to: Sample; aligned: boolean; bursts: number };
  fixedWindow: { from: Sample; to: Sample };
  rolling60: { min: number; median: number; max: number };
  requests: RequestCounts;
  latency: Latencies;
  engineCpu: number;
  parentCpu: number;
  redisCpu: number;
  backlogLeft: number;
}

/** The sample at or before time t. */
function sampleAt(samples: readonly Sample[], t: number): Sample {
  let found = samples[0]!;
  for (const s of samples) {
    if (s.t > t) break;
    found = s;
  }
  return found;
}

/** Samples that start a burst: the last one before requests resume after QUIET_MS without any. */
function burstStarts(samples: readonly Sample[]): Sample[] {
  const starts: Sample[] = [];
  let lastChange = -Infinity;
  for (let i = 1; i < samples.length; i++) {
    const prev = samples[i - 1]!;
    const cur = samples[i]!;
    if (cur.requests > prev.requests) {
      if (prev.t - lastChange >= QUIET_MS || starts.length === 0) starts.push(prev);
      lastChange = cur.t;
    }
  }
  return starts;
}

async function limitedRun(
  ctx: { db: Knex; scheduler: SyncScheduler; sandbox: Sandbox; redis: Redis; engine: Engine },
  accounts: readonly BenchAccount[],
): Promise<LimitedRun> {
  const { db, scheduler, sandbox, redis, engine } = ctx;
  const cpu0 = [await engine.cpuSeconds(), parentCpuSeconds(), await redisCpuSeconds(redis)] as const;
  const samples: Sample[] = [];
  const sample = async () => {
    const [counts, applied] = await Promise.all([sandbox.control.requests(), appliedSince(db, t0)]);
    samples.push({ t: Date.now(), requests: counts.total, throttled: throttled(counts), applied });
  };
  const scheduledAt = new Map<string, number>();
  const t0 = Date.now();
  await sample();
  const scheduling = scheduleAll(scheduler, accounts, scheduledAt);
  const minEnd = t0 + (WARMUP_S + MEASURE_S) * 1000;
  const maxEnd = minEnd + 75_000;
  let lastLog = t0;
  for (;;) {
    await sleep(SAMPLE_MS - ((Date.now() - t0) % SAMPLE_MS));
    await sample();
    const now = samples.at(-1)!;
    if (now.t - lastLog >= 15_000) {
      lastLog = now.t;
      console.log(`  ${((now.t - t0) / 1000).toFixed(0)} s: ${fmt(now.requests)} requests, ${fmt(now.throttled)} 429, ${fmt(now.applied)} accounts applied`);
    }
    if (now.t < minEnd) continue;
    if (now.t >= maxEnd) break;
    // Bursty traffic: run on until a burst starts at least MEASURE_S after the first one after
    // the warm-up, so the window spans whole bursts. Continuous traffic: the fixed window is fine.
    const starts = burstStarts(samples).filter((s) => s.t >= t0 + WARMUP_S * 1000 - QUIET_MS);
    if (starts.length === 0) break;
    if (starts.length >= 2 && starts.at(-1)!.t - starts[0]!.t >= (MEASURE_S - QUIET_MS / 1000) * 1000) break;
  }
  const scheduleMs = await scheduling;
  const requests = await sandbox.control.requests();
  const cpu1 = [await engine.cpuSeconds(), parentCpuSeconds(), await redisCpuSeconds(redis)] as const;
  const end = samples.at(-1)!;

  const starts = burstStarts(samples).filter((s) => s.t >= t0 + WARMUP_S * 1000 - QUIET_MS);
  const aligned = starts.length >= 2;
  const fixedWindow = { from: sampleAt(samples, t0 + WARMUP_S * 1000), to: end };
  const window = aligned
    ? { from: starts[0]!, to: starts.at(-1)!, aligned, bursts: starts.length - 1 }
    : { ...fixedWindow, aligned, bursts: 0 };
  const rolling = samples
    .filter((s) => s.t >= t0 + 60_000)
    .map((s) => s.requests - sampleAt(samples, s.t - 60_000).requests)
    .sort((a, b) => a - b);
  const counts = await scheduler.queue.getJobCounts('wait', 'delayed', 'prioritized', 'active');
  return {
    samples,
    t0,
    scheduleMs,
    window,
    fixedWindow,
    rolling60: { min: rolling[0] ?? NaN, median: percentile(rolling, 0.5), max: rolling.at(-1) ?? NaN },
    requests,
    latency: await latencies(db, scheduler, scheduledAt, t0, end.t),
    engineCpu: cpu1[0] - cpu0[0],
    parentCpu: cpu1[1] - cpu0[1],
    redisCpu: cpu1[2] - cpu0[2],
    backlogLeft: Object.values(counts).reduce((a, b) => a + b, 0),
  };
}

// --- report ------------------------------------------------------------------------------------


// --- main --------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const loadAtStart = loadavg();
  const startedAt = Date.now();
  console.log(`load average at start: ${loadAtStart.map((l) => l.toFixed(2)).join(' ')}`);
  const services = await startBenchServices(log);
  const namespace = `bench-sync-${randomUUID().slice(0, 8)}`;
  const redis = new Redis(services.redisUrl);
  const db = await freshBenchDatabase(services.databaseUrl);
  const sandbox = await startSandbox({
    snaptradePort: 0,
    alpacaPort: 0,
    webhookUrl: null,
    rateLimit: { limit: UNLIMITED, windowMs: 1_000 },
  });
  const scheduler = new SyncScheduler({ redisTarget: singleRedis(services.redisUrl), prefix: `{${namespace}-bull}`, debounceMs: 0 });
  const engineEnv = (budget: number): NodeJS.ProcessEnv => ({
    ...process.env,
    NODE_ENV: process.env.NODE_ENV ?? 'development',
    LOG_LEVEL: ENGINE_LOG_LEVEL,
    ROLES: 'worker',
    REDIS_URL: services.redisUrl,
    DATABASE_URL: db.url,
    BENCH_NAMESPACE: namespace,
    SNAPTRADE_BASE_URL: sandbox.snaptradeUrl,
    SNAPTRADE_CLIENT_ID: sandbox.clientId,
    SNAPTRADE_CONSUMER_KEY: sandbox.consumerKey,
    SNAPTRADE_REQUESTS_PER_MINUTE: String(budget),
    ALPACA_TRADING_URL: sandbox.alpacaUrl,
    ALPACA_DATA_URL: sandbox.alpacaUrl,
    ALPACA_STREAM_URL: sandbox.alpacaWsUrl,
  });
  let engine: Engine | undefined;
  try {
    const redisVersion = /redis_version:(\S+)/.exec(await redis.info('server'))?.[1] ?? '?';
    const aof = ((await redis.config('GET', 'appendfsync')) as string[])[1];

    // --- users, connections, credentials ---
    console.log(`creating ${fmt(USERS)} sandbox users with 1-2 SnapTrade accounts each ...`);
    const credentials = new CredentialsStore(db.knex, createSecretBox(config.ENCRYPTION_KEY));
    const accounts: BenchAccount[] = [];
    const userIds = Array.from({ length: USERS }, (_, i) => `bench-user-${i}`);
    await eachLimit(userIds, 16, async (userId) => {
      const registered = await sandbox.control.createUser({ userId, webhook: false });
      const brokerage = BROKERAGES[Number(userId.split('-').at(-1)) % BROKERAGES.length]!;
      const authorization = await sandbox.control.connect(registered.userId, { brokerage, webhooks: false });
      for (const account of authorization.accounts) accounts.push({ userId, accountId: account.id });
      await credentials.saveSnaptrade(userId, registered.userId, registered.userSecret);
    });
    console.log(`  ${fmt(accounts.length)} accounts`);

    // --- (a) SnapTrade's limit ---
    engine = await startEngine(engineEnv(BUDGET), redis, namespace);
    console.log(`engine (worker role, SNAPTRADE_REQUESTS_PER_MINUTE=${BUDGET}) started in a child process, worker ${engine.workerId}`);
    // Setup, not measured: the first half of a user sync (list connections and accounts, append
    // `accounts.synced`), run here with the product's provider and an unlimited budget of its
    // own, so the actors know every account before account syncs arrive.
    const log0 = logCounts();
    const setupStart = Date.now();
    const setupProvider = new SnapTradeProvider(
      new SnapTradeClient({
        clientId: sandbox.clientId,
        consumerKey: sandbox.consumerKey,
        basePath: sandbox.snaptradeUrl,
        limiter: createRateLimiter(redis, `${namespace}:bench-setup-budget`, { limit: UNLIMITED, windowMs: 60_000, maxInFlightMs: 21_000 }),
      }),
      credentials,
    );
    const producer = createStreamProducer(redis, streamKeys(namespace));
    await eachLimit(userIds, 16, async (userId) => {
      const list = await setupProvider.listAccounts(userId);
      await producer.append({
        id: randomUUID(),
        type: 'accounts.synced',
        user: userId,
        partition: partitionOf(userId, config.PARTITION_COUNT),
        time: new Date().toISOString(),
        schema: ENVELOPE_SCHEMA_VERSION,
        payload: { provider: 'snaptrade', ...list, fetchedAt: new Date().toISOString() },
      });
    });
    for (const deadline = Date.now() + 120_000; ; ) {
      const row = await db.knex('accounts').where('provider', 'snaptrade').count({ n: '*' }).first();
      if (Number(row?.n ?? 0) >= accounts.length) break;
      if (Date.now() > deadline) throw new Error('the actors did not store every account within 120 s');
      await sleep(100);
    }
    const setup = { ms: Date.now() - setupStart, log: logDelta(log0) };
    console.log(`setup: ${fmt(accounts.length)} accounts listed and stored by the actors in ${seconds(setup.ms)}`);

    console.log(`(a) budget ${BUDGET}/min: sandbox limit ${BUDGET} per rolling 60 s, SNAPTRADE_REQUESTS_PER_MINUTE=${BUDGET} ...`);
    await sandbox.control.setRateLimit({ limit: BUDGET, windowMs: 60_000 });
    await sandbox.control.resetRateLimit();
    await redis.del(`${namespace}:{snaptrade-budget}`);
    await sandbox.control.resetRequests();
    const log1 = logCounts();
    const a = await limitedRun({ db: db.knex, scheduler, sandbox, redis, engine }, accounts);
    const aLog = logDelta(log1);
    // Let the jobs in flight finish without the limit, stop the engine, drop the backlog.
    await scheduler.queue.pause();
    await sandbox.control.setRateLimit({ limit: UNLIMITED, windowMs: 1_000 });
    await redis.del(`${namespace}:{snaptrade-budget}`);
    await engine.stop();
    engine = undefined;
    await scheduler.queue.obliterate({ force: true });

    // --- (b) unlimited ---
    engine = await startEngine(engineEnv(UNLIMITED), redis, namespace);
    console.log(`(b) unlimited: engine restarted with SNAPTRADE_REQUESTS_PER_MINUTE=${fmt(UNLIMITED)}, worker ${engine.workerId}`);
    await sleep(5_500); // SYNC_ACCOUNT_FLOOR_MS (5 s) since the last syncs of (a)
    const log2 = logCounts();
    const b = await unlimitedRun({ db: db.knex, scheduler, sandbox, redis, engine }, accounts);
    const bLog = logDelta(log2);
    await scheduler.queue.pause();
    await engine.stop();
    engine = undefined;
    const bPerMin = (b.appliedInWindow / b.windowMs) * 60_000;
    const bRequestsPerMin = (b.requestsInWindow / b.windowMs) * 60_000;
    console.log(
      `(b): ${fmt(b.appliedInWindow)} accounts applied in ${seconds(b.windowMs)} = ${fmt(bPerMin)} accounts/min, ` +
        `${fmt(bRequestsPerMin / 60)} requests/s (${byOperation(b.requests)}; 429: ${throttled(b.requests)})`,
    );

    const w = a.window;
    const windowMs = w.to.t - w.from.t;
    const aRequestsPerMin = ((w.to.requests - w.from.requests) / windowMs) * 60_000;
    const aAccountsPerMin = ((w.to.applied - w.from.applied) / windowMs) * 60_000;
    const fixedMs = a.fixedWindow.to.t - a.fixedWindow.from.t;
    const fixedRequestsPerMin = ((a.fixedWindow.to.requests - a.fixedWindow.from.requests) / fixedMs) * 60_000;
    const share = aRequestsPerMin / BUDGET;
    const a429 = throttled(a.requests);
    const aSeconds = (a.samples.at(-1)!.t - a.t0) / 1000;
    const met = share >= TARGET_BUDGET_SHARE && a429 === 0;
    const loadAtEnd = loadavg();
    const bSeconds = b.complete ? b.windowMs / 1000 : b.windowMs / 1000 + B_WARMUP_S;

    const cpu = cpus();
    const machine =
      `${cpu.length} CPUs (${cpu[0]?.model.trim() ?? 'unknown'}), ${(totalmem() / 2 ** 30).toFixed(1)} GiB memory, Node ${process.version}. ` +
      `Redis ${redisVersion} (appendfsync ${aof}) and ${db.version} on the same machine` +
      (services.source.postgres === 'local' ? ', started by the benchmark as throwaway servers.' : '.');
    const lat = (l: Latencies, key: keyof Latencies) => `${seconds(percentile(l[key], 0.5))} / ${seconds(percentile(l[key], 0.99))}`;
    const pct = (cpuSeconds: number, ms: number) => `${fmt((100 * cpuSeconds * 1000) / ms)} %`;
    const lines = [
      SECTION,
      '',
      `Measured ${new Date().toISOString().slice(0, 10)} with \`npm run bench:sync\` (bench/sync.ts; ${fmt((Date.now() - startedAt) / 1000)} s in all).`,
      '',
      `Machine: ${machine} Load average (1, 5, 15 min) at the start ${loadAtStart.map((l) => l.toFixed(2)).join(' ')}, ` +
        `at the end ${loadAtEnd.map((l) => l.toFixed(2)).join(' ')} (the machine is shared).`,
      '',
      `Workload: ${fmt(USERS)} sandbox users with ${fmt(accounts.length)} SnapTrade accounts (1 or 2 each), created through the ` +
        'control API with webhooks off; their secrets stored with `CredentialsStore.saveSnaptrade`. Setup (not measured): each user\'s ' +
        'accounts listed with the product\'s `SnapTradeProvider.listAccounts` and appended as `accounts.synced` (the first half of a ' +
        `user sync, run by the benchmark with a budget of its own), until the actors stored every account (${seconds(setup.ms)}). ` +
        'Then an account sync of every account is scheduled at once (`SyncScheduler.scheduleAccountSync`, debounce 0): ' +
        '2 SnapTrade requests each (`positions/all` and `balances`), a `positions.synced` append, and the actor applies it. ' +
        '"Applied" is the actor\'s transaction (`accounts.last_synced_at`).',
      '',
      'Layout: the engine is `startFoliostream` with `ROLES=worker` (sync workers at their concurrency of 8, actors, 16 partitions, ' +
        'every other setting at its default) in one child process; the sandbox (SnapTrade server with request signing, spec ' +
        'validation and its rolling limiter) and the benchmark driver in the parent process; Redis and Postgres in their own. ' +
        'All of them share the CPUs.',
      '',
      '| scenario | sandbox limit / engine budget | accounts | window | accounts/min | requests/min at the sandbox | requests/s | % of budget | 429s | schedule → applied p50 / p99 | append → applied p50 / p99 | engine CPU | sandbox + driver CPU | vs. (b) |',
      '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
      `| (b) unlimited | ${fmt(UNLIMITED)} per 1 s / ${fmt(UNLIMITED)} per min | ${fmt(b.appliedInWindow)} | ${seconds(b.windowMs)} | ${fmt(bPerMin, 1)} | ${fmt(bRequestsPerMin, 1)} | ${fmt(bRequestsPerMin / 60, 2)} | — | ${throttled(b.requests)} | ${lat(b.latency, 'scheduleToApplied')} | ${lat(b.latency, 'appendToApplied')} | ${pct(b.engineCpu, bSeconds * 1000)} | ${pct(b.parentCpu, bSeconds * 1000)} | 1.00 |`,
      `| (a) SnapTrade limit | ${BUDGET} per rolling 60 s / ${BUDGET} per min | ${fmt(w.to.applied - w.from.applied)} | ${seconds(windowMs)} | ${fmt(aAccountsPerMin, 1)} | ${fmt(aRequestsPerMin, 1)} | ${fmt(aRequestsPerMin / 60, 2)} | ${fmt(100 * share, 1)} % | ${a429} | ${lat(a.latency, 'scheduleToApplied')} | ${lat(a.latency, 'appendToApplied')} | ${pct(a.engineCpu, aSeconds * 1000)} | ${pct(a.parentCpu, aSeconds * 1000)} | ${(aAccountsPerMin / bPerMin).toFixed(3)} |`,
      '',
      `Target (a): at least ${fmt(100 * TARGET_BUDGET_SHARE)} % of the budget reaching the sandbox and no 429 — ` +
        `${met ? 'met' : 'NOT met'} (${fmt(100 * share, 1)} %, ${a429} × 429 over the whole ${fmt(aSeconds)} s run).`,
      '',
      `- (a) window: ${w.aligned ? `from the start of one burst to the start of another, ${w.bursts} whole bursts after a ${WARMUP_S} s warm-up` : `${WARMUP_S} s warm-up, then to the end of the run`}; ` +
        `${fmt(w.to.requests - w.from.requests)} requests and ${fmt(w.to.applied - w.from.applied)} accounts applied in it. ` +
        `The plain window from ${WARMUP_S} s to the end (${seconds(fixedMs)}) counts ${fmt(fixedRequestsPerMin, 1)} requests/min (${fmt((100 * fixedRequestsPerMin) / BUDGET, 1)} %): ` +
        'with bursty traffic a window that does not span whole bursts gains or loses part of one. ' +
        `Requests in the sliding 60 s windows after the first minute (sampled every ${SAMPLE_MS} ms): min ${fmt(a.rolling60.min)}, median ${fmt(a.rolling60.median)}, max ${fmt(a.rolling60.max)} (the sandbox allows ${BUDGET}).`,
      `- (a) requests by operation over the run: ${byOperation(a.requests)}; ${fmt(a.backlogLeft)} jobs still queued at the end ` +
        `(${fmt(accounts.length)} were scheduled; the budget drains about ${fmt(aAccountsPerMin)} a minute). Schedule → applied in (a) is the time spent ` +
        'waiting in that backlog, for the accounts applied during the run; append → applied is the actor pipeline alone.',
      `- (b) window: ${b.complete ? 'from scheduling to the last account applied (all of them)' : `from ${B_WARMUP_S} s after scheduling, ${B_MEASURE_S} s (the ${fmt(b.accounts)} accounts take longer than that; the rest were dropped)`}; ` +
        `${fmt(b.requestsInWindow)} requests reached the sandbox in it (${fmt(b.requestsInWindow / 2)} accounts fetched). Run of ${fmt(bSeconds)} s; scheduling the ${fmt(b.accounts)} jobs took ${seconds(b.scheduleMs)}. ` +
        `Requests over the run: ${byOperation(b.requests)}. Redis CPU ${pct(b.redisCpu, bSeconds * 1000)} (Redis ${services.source.redis === 'local' ? 'started here' : 'may be shared'}).`,
      '- CPU columns: CPU time ÷ wall time of the run (100 % = one core).',
      `- Engine warnings (LOG_LEVEL=warn), counted: setup: ${setup.log}; (b): ${bLog}; (a): ${aLog}.`,
    ];
    console.log(`\n${lines.join('\n')}\n`);
    if (WRITE_DOCS) {
      writeBenchmarkSection(lines);
      console.log('docs/BENCHMARKS.md updated');
    }
  } finally {
    await engine?.stop().catch(() => undefined);
    await scheduler.close().catch(() => undefined);
    await sandbox.close();
    await deleteKeys(redis, `${namespace}:*`).catch(() => undefined);
    await deleteKeys(redis, `{${namespace}-bull}:*`).catch(() => undefined);
    redis.disconnect();
    await db.drop().catch(() => undefined);
    await services.stop();
  }
}

await main();
