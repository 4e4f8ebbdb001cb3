/**
 * `npm run bench:ticks`: live prices under load. 10,000 users with 25 holdings each over 5,000
 * synthetic securities (SYN00001..SYN05000), 1,000 of them watched by socket.io clients; ticks
 * written with the product's price writer at increasing rates; per rate: the rate achieved, the
 * engine's CPU, how far the worker's price-stream reading is behind, and the freshness of what the
 * clients receive (client receive time − tick append time, HDR histogram), at a 100 ms coalescing
 * window. Then the same ladder with `PRICE_REVALUATION_MODE=naive` (a whole-portfolio recompute on
 * every tick) as the baseline.
 * Per mode it also reports the worker's heap per actor in memory (heap used after forced full GCs,
 * minus the same before activation, ÷ actors), once all are active and after the steps, and per
 * step the longest GC pause of each process (perf_hooks 'gc' entries).
 *
 * Layout: Redis and Postgres from REDIS_URL/DATABASE_URL or started here (throwaway); the worker
 * role and the web role (`startFoliostream`) in a child process each, as the Procfile runs them; the
 * clients in another; the tick writer here. Seeding skips the SnapTrade pipeline (250 requests/min would take hours): the
 * projection rows are bulk-inserted into a fresh database, the last prices set, and each user's
 * actor is activated by one event of a type the behavior ignores.
 *
 * "Sustained" at a rate: the writer achieved ≥ 95 % of it over the step, the worker's reading of the
 * price streams is < 1 s behind at the end of the step and did not grow from the middle to the end,
 * and the clients' p99 freshness over the step is < 250 ms.
 *
 * Options (environment): BENCH_USERS (10000), BENCH_HOLDINGS (25), BENCH_SECURITIES (5000),
 * BENCH_CLIENTS (1000), BENCH_RATES (2500,5000,10000,20000), BENCH_STEP_SECONDS (20),
 * BENCH_MODES (incremental,naive), BENCH_WRITE=0 to leave docs/BENCHMARKS.md alone,
 * BENCH_PROFILE_DIR to write a CPU profile of the worker, web and clients processes per measured step,
 * BENCH_PROFILE_KIND (cpu, or survivors / allocations: sampling heap profiles, see bench/lib/step-profiler.ts;
 * `npm run bench:heap-top -- <file>` lists their top allocation sites),
 * BENCH_DELIVERY (clients, or counting: the worker's cost alone, see below), BENCH_TICKS (uniform, or
 * zipf with BENCH_ZIPF_S (1)),
 * BENCH_ENGINE_FLAGS for more Node flags of the engine processes, BENCH_SEMI_SPACE_MB (64, the
 * engine's `--max-semi-space-size`), BENCH_WARM_UP_SECONDS (10) of
 * ticks at the first rate before the first measured step, BENCH_WORKERS (1) worker processes.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import pino from 'pino';
import { profileKind } from './lib/step-profiler.ts';
import { symbolOf } from './lib/synthetic-portfolios.ts';
import { deleteNamespace, freshDatabase, loadAverage, machineDescription, startBenchServices, writeBenchmarkSection } from './lib/bench-support.ts';
import { issueUserToken } from '../src/auth/user-tokens.ts';
import { type Knex } from '../src/db/knex.ts';
import { createPriceWriter } from '../src/market/price-writer.ts';
import { encodeLastPrice } from '../src/market/price-tick.ts';
import type { PriceRevaluationStats } from '../src/app/price-revaluation.ts';
import { ENVELOPE_SCHEMA_VERSION, type Envelope } from '../streams/envelope.ts';
import { streamKeys } from '../streams/keys.ts';
import { partitionOf } from '../streams/partition.ts';
import { createStreamProducer } from '../streams/producer.ts';
import { createRandom } from '../sandbox/market/seeded-random.ts';

const USERS = Number(process.env.BENCH_USERS ?? 10_000);
const HOLDINGS = Number(process.env.BENCH_HOLDINGS ?? 25);
const SECURITIES = Number(process.env.BENCH_SECURITIES ?? 5_000);
const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 1_000);
const RATES = (process.env.BENCH_RATES ?? '2500,5000,10000,20000').split(',').map(Number);
const STEP_SECONDS = Number(process.env.BENCH_STEP_SECONDS ?? 20);
const MODES = (process.env.BENCH_MODES ?? 'incremental,naive').split(',') as ('incremental' | 'naive')[];
const WRITE_DOCS = process.env.BENCH_WRITE !== '0';
const PROFILE_DIR = process.env.BENCH_PROFILE_DIR;
const PROFILE_KIND = profileKind(process.env.BENCH_PROFILE_KIND);
/**
 * BENCH_PASSIVATE=1: once the clients are connected, the engine passivates every idle actor
 * nobody watches, as its idle sweep does after ACTOR_IDLE_MS in production, so only the watched
 * portfolios stay in memory. Unset: every actor stays in memory for the whole run (the worst
 * case: all 10,000 users recently active).
 */
const PASSIVATE = process.env.BENCH_PASSIVATE === '1';
/**
 * BENCH_DELIVERY: where the worker's deltas go.
 * - `clients` (default): end to end, through a web node (`ROLES=web`) to BENCH_CLIENTS socket.io
 *   clients with the product's portfolio store.
 * - `counting`: no web node and no clients; one subscriber on the socket.io adapter's channels
 *   (bench/lib/ticks-counter.ts) marks the same users watched, counts the deltas and records their
 *   freshness. The worker does the same work, and its CPU is measured with nothing of the delivery
 *   path sharing the machine beyond that subscriber: the worker's cost per tick.
 */
/**
 * BENCH_TICKS: which securities trade. `uniform` (default): each tick picks a security uniformly.
 * `zipf`: Zipf over the securities, as real markets trade (the security of rank k, SYN0000k, with
 * weight 1/k^BENCH_ZIPF_S, s = 1 by default): a few names carry most ticks, so a read batch folds
 * more ticks per security.
 */
const TICK_DISTRIBUTION = (process.env.BENCH_TICKS ?? 'uniform') as 'uniform' | 'zipf';
if (TICK_DISTRIBUTION !== 'uniform' && TICK_DISTRIBUTION !== 'zipf') throw new Error(`BENCH_TICKS must be uniform or zipf, not ${String(TICK_DISTRIBUTION)}`);
const ZIPF_S = Number(process.env.BENCH_ZIPF_S ?? 1);

/** A sampler of security indexes: `rand` in [0, 1) to an index, uniform or Zipf (inverse CDF, binary search). */
function securitySampler(): (rand: number) => number {
  if (TICK_DISTRIBUTION === 'uniform') return (r) => Math.floor(r * SECURITIES);
  const cdf = new Float64Array(SECURITIES);
  let total = 0;
  for (let k = 0; k < SECURITIES; k++) cdf[k] = total += 1 / (k + 1) ** ZIPF_S;
  return (r) => {
    const target = r * total;
    let lo = 0;
    let hi = SECURITIES - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cdf[mid]! <= target) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
}

const DELIVERY = (process.env.BENCH_DELIVERY ?? 'clients') as 'clients' | 'counting';
if (DELIVERY !== 'clients' && DELIVERY !== 'counting') throw new Error(`BENCH_DELIVERY must be clients or counting, not ${String(DELIVERY)}`);
const WINDOW_MS = 100;
const WARM_UP_SECONDS = Number(process.env.BENCH_WARM_UP_SECONDS ?? 10);
/** Worker-role processes (the partitions are shared out among them, as when the Procfile scales `worker`). */
const WORKERS = Number(process.env.BENCH_WORKERS ?? 1);
const PARTITIONS = 16;
const SHARDS = 8;
const TARGET_RATE = 20_000;
const TARGET_P99_MS = 250;
const AUTH_SECRET = 'bench-ticks-secret-0123456789-abcdefghijklmnop';
const root = fileURLToPath(new URL('..', import.meta.url));
const log = pino({ level: process.env.LOG_LEVEL ?? 'warn' });

const userOf = (i: number) => `bench-u${String(i + 1).padStart(5, '0')}`;



async function insertChunked(knex: Knex, table: string, rows: Record<string, unknown>[], size = 2_000): Promise<void> {
  for (let i = 0; i < rows.length; i += size) await knex(table).insert(rows.slice(i, i + size));
}

/** The projection rows a synced user has: user, connection, account, positions (bulk). */
async function seed(knex: Knex, prices: Float64Array): Promise<void> {
  const rand = createRandom(42);
  const asOf = new Date().toISOString();
  const securityIds = Array.from({ length: SECURITIES }, () => randomUUID());
  await insertChunked(
    knex,
    'securities',
    securityIds.map((id, i) => ({
      id,
      identity_key: `listing:${symbolOf(i)}@XNAS:USD`,
      ticker: symbolOf(i),
      exchange_mic: 'XNAS',
      currency: 'USD',
      description: `Synthetic ${i + 1}`,
      security_type: 'cs',
    })),
  );
  for (let i = 0; i < SECURITIES; i++) prices[i] = Math.round((5 + rand() * 500) * 100) / 100;
  const users: Record<string, unknown>[] = [];
  const connections: Record<string, unknown>[] = [];
  const accounts: Record<string, unknown>[] = [];
  const positions: Record<string, unknown>[] = [];
  for (let u = 0; u < USERS; u++) {
    const userId = userOf(u);
    const connectionId = randomUUID();
    const accountId = randomUUID();
    users.push({ id: userId });
    connections.push({ id: connectionId, user_id: userId, provider: 'snaptrade', external_id: `conn-${u}`, brokerage_name: 'Bench' });
    accounts.push({
      id: accountId,
      user_id: userId,
      connection_id: connectionId,
      provider: 'snaptrade',
      external_id: `acct-${u}`,
      institution_name: 'Bench Brokerage',
      currency: 'USD',
      positions_as_of: asOf,
    });
    const held = new Set<number>();
    while (held.size < HOLDINGS) held.add(Math.floor(rand() * SECURITIES));
    for (const s of held) {
      positions.push({
        account_id: accountId,
        user_id: userId,
        security_id: securityIds[s],
        quantity: (1 + Math.floor(rand() * 50000) / 100).toFixed(2),
        average_cost: (prices[s]! * (0.5 + rand())).toFixed(4),
        currency: 'USD',
        as_of: asOf,
      });
    }
  }
  await insertChunked(knex, 'users', users);
  await insertChunked(knex, 'brokerage_connections', connections);
  await insertChunked(knex, 'accounts', accounts);
  await insertChunked(knex, 'account_positions', positions);
}

interface Child {
  process: ChildProcess;
  /** The child's first message (`{type: 'ready', ...}`). */
  ready: { url?: string };
  request<T>(message: object, type: string): Promise<T>;
}

/**
 * The Node flags the Procfile starts the engine with, plus BENCH_ENGINE_FLAGS (e.g. `--trace-gc`).
 * `--expose-gc` only lets the bench force full GCs for the heap figures (`{cmd: 'heap'}`); nothing
 * calls it during a measured step. BENCH_SEMI_SPACE_MB replaces the Procfile's semi-space size
 * (rather than a second flag in BENCH_ENGINE_FLAGS, which would win only by coming later), so the
 * size a run used is one setting and is named in the report.
 */
const SEMI_SPACE_MB = Number(process.env.BENCH_SEMI_SPACE_MB ?? 64);
const ENGINE_NODE_FLAGS = [`--max-semi-space-size=${SEMI_SPACE_MB}`, '--expose-gc', ...(process.env.BENCH_ENGINE_FLAGS?.split(' ').filter(Boolean) ?? [])];

function forkChild(script: string, env: Record<string, string>): Promise<Child> {
  const flags = script.includes('engine') ? ENGINE_NODE_FLAGS : [];
  const child = fork(script, [], { cwd: root, execArgv: [...flags, '--import', 'tsx'], env: { ...process.env, ...env }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const waiters = new Map<string, ((value: unknown) => void)[]>();
  child.on('message', (message: { type: string; message?: string }) => {
    if (message.type === 'error') throw new Error(`${script}: ${message.message}`);
    const list = waiters.get(message.type);
    list?.shift()?.(message);
  });
  const wait = (type: string) =>
    new Promise<unknown>((resolve, reject) => {
      const list = waiters.get(type) ?? [];
      list.push(resolve);
      waiters.set(type, list);
      child.once('exit', (code) => reject(new Error(`${script} exited with ${code}`)));
    });
  const handle: Omit<Child, 'ready'> = {
    process: child,
    request: <T>(message: object, type: string) => {
      const answer = wait(type) as Promise<T>;
      child.send(message);
      return answer;
    },
  };
  return wait('ready').then((ready) => ({ ...handle, ready: ready as { url?: string } }));
}

/** The workers' stats as one: CPU and counters summed, the slowest reader's position, the worst loop delay. */
async function mergedStats(workers: Child[], reset: boolean): Promise<EngineStats> {
  const all = await Promise.all(workers.map((w) => w.request<EngineStats>({ cmd: 'stats', reset }, 'stats')));
  const sum = (f: (s: EngineStats) => number) => all.reduce((n, s) => n + f(s), 0);
  return {
    now: Math.max(...all.map((s) => s.now)),
    cpu: { user: sum((s) => s.cpu.user), system: sum((s) => s.cpu.system) },
    rss: sum((s) => s.rss),
    activeActors: sum((s) => s.activeActors),
    ownedPartitions: sum((s) => s.ownedPartitions),
    revaluation: {
      ticks: sum((s) => s.revaluation.ticks),
      revaluations: sum((s) => s.revaluation.revaluations),
      batches: sum((s) => s.revaluation.batches),
      lastEntryMs: Math.min(...all.map((s) => s.revaluation.lastEntryMs)),
      indexedUsers: sum((s) => s.revaluation.indexedUsers),
    },
    loopDelayP99Ms: Math.max(...all.map((s) => s.loopDelayP99Ms)),
    loopDelayMaxMs: Math.max(...all.map((s) => s.loopDelayMaxMs)),
    gcMaxMs: Math.max(...all.map((s) => s.gcMaxMs)),
    majorGcs: sum((s) => s.majorGcs),
  };
}

/** The web node's stats when there is none (counting delivery): nothing used. */
function idleStats(): EngineStats {
  return {
    now: Date.now(),
    cpu: { user: 0, system: 0 },
    rss: 0,
    activeActors: 0,
    ownedPartitions: 0,
    revaluation: { ticks: 0, revaluations: 0, batches: 0, lastEntryMs: 0, indexedUsers: 0 },
    loopDelayP99Ms: 0,
    loopDelayMaxMs: 0,
    gcMaxMs: 0,
    majorGcs: 0,
  };
}

function stopChild(child: Child): Promise<void> {
  return new Promise<void>((resolve) => {
    child.process.once('exit', () => resolve());
    child.process.send({ cmd: 'stop' });
    setTimeout(() => {
      child.process.kill('SIGKILL');
      resolve();
    }, 30_000).unref();
  });
}

interface EngineStats {
  now: number;
  cpu: NodeJS.CpuUsage;
  rss: number;
  activeActors: number;
  ownedPartitions: number;
  revaluation: PriceRevaluationStats;
  loopDelayP99Ms: number;
  loopDelayMaxMs: number;
  gcMaxMs: number;
  majorGcs: number;
}
interface ClientReport {
  p50: number;
  p99: number;
  max: number;
  count: number;
  deltas: number;
  gaps: number;
  mismatches: number;
  snapshots: number;
  connected: number;
  cpu: NodeJS.CpuUsage;
  loopDelayMaxMs: number;
  gcMaxMs: number;
}

/**
 * The worker's heap (used, after forced full GCs) per actor in memory: (heap − heap before any
 * actor was activated) ÷ actors in memory, once every actor is active and indexed and again after
 * the last step (when the reprice caches hold the quotes the ticks brought).
 */
interface HeapResult {
  mode: string;
  baselineBytes: number;
  actors: number;
  perActorActivated: number;
  actorsAfterSteps: number;
  perActorAfterSteps: number;
}

/** The workers' heap after forced full GCs, summed, and the actors they hold. */
async function workersHeap(workers: Child[]): Promise<{ heapUsed: number; activeActors: number }> {
  const all = await Promise.all(workers.map((w) => w.request<{ heapUsed: number; activeActors: number }>({ cmd: 'heap' }, 'heap')));
  return { heapUsed: all.reduce((n, h) => n + h.heapUsed, 0), activeActors: all.reduce((n, h) => n + h.activeActors, 0) };
}

interface StepResult {
  mode: string;
  target: number;
  achieved: number;
  engineCpu: number;
  /** Worker CPU time per tick written in the step (µs): the worker's cost of a tick. */
  workerUsPerTick: number;
  webCpu: number;
  clientsCpu: number;
  /** The tick writer (this process). */
  writerCpu: number;
  redisCpu: number;
  behindMidMs: number;
  behindEndMs: number;
  p50: number;
  p99: number;
  max: number;
  deltasPerSecond: number;
  /** Seq gaps and repricing mismatches the clients' stores saw (each costs a snapshot). */
  clientResyncs: number;
  revaluationsPerSecond: number;
  loopDelayP99Ms: number;
  webLoopDelayP99Ms: number;
  /** Longest event-loop stall in the step: worker, web, clients. */
  loopDelayMaxMs: [number, number, number];
  /** Longest GC pause in the step: worker, web, clients; and the worker's major GCs. */
  gcMaxMs: [number, number, number];
  workerMajorGcs: number;
  sustained: boolean;
}

const cpuMs = (c: NodeJS.CpuUsage) => (c.user + c.system) / 1000;

/** CPU seconds the Redis server has used (INFO cpu). */
async function redisCpuSeconds(redis: Redis): Promise<number> {
  const info = await redis.info('cpu');
  const field = (name: string) => Number(new RegExp(`^${name}:([0-9.]+)`, 'm').exec(info)?.[1] ?? 0);
  return field('used_cpu_sys') + field('used_cpu_user');
}

async function runMode(
  mode: 'incremental' | 'naive',
  urls: { redis: string; database: string },
  namespace: string,
  prices: Float64Array,
  heaps: HeapResult[],
): Promise<StepResult[]> {
  const redis = new Redis(urls.redis);
  const keys = streamKeys(namespace);
  const engineEnv = (roles: string) => ({
    NODE_ENV: 'development',
    LOG_LEVEL: 'warn',
    ROLES: roles,
    HOST: '127.0.0.1',
    PORT: '0',
    REDIS_URL: urls.redis,
    DATABASE_URL: urls.database,
    AUTH_SECRET,
    BENCH_NAMESPACE: namespace,
    PARTITION_COUNT: String(PARTITIONS),
    PRICE_SHARDS: String(SHARDS),
    MAX_ACTIVE_ACTORS: String(USERS * 2),
    ACTOR_IDLE_MS: String(3_600_000),
    REALTIME_DELTA_WINDOW_MS: String(WINDOW_MS),
    PRICE_REVALUATION_MODE: mode,
    SNAPTRADE_BASE_URL: 'http://127.0.0.1:9/unreachable',
  });
  // As the Procfile runs them: the worker (actors, revaluation, deltas) and the web node (socket.io
  // gateway) in processes of their own, talking through Redis.
  // In the counting delivery there is no web node: the counting subscriber stands for it.
  const [web, ...workers] = await Promise.all([
    DELIVERY === 'clients' ? forkChild('bench/lib/ticks-engine.ts', engineEnv('web')) : undefined,
    ...Array.from({ length: WORKERS }, () => forkChild('bench/lib/ticks-engine.ts', engineEnv('worker'))),
  ]) as [Child | undefined, ...Child[]];
  const workerStats = (reset = true) => mergedStats(workers, reset);
  const webStats = (): Promise<EngineStats> => (web ? web.request<EngineStats>({ cmd: 'stats' }, 'stats') : Promise.resolve(idleStats()));
  const results: StepResult[] = [];
  let clients: Child | undefined;
  try {
    // Activation below is one event per user: it must reach the partition's final owner, so the
    // workers first share the partitions out (each owning some, all owned, and no change for 3 s).
    for (let started = Date.now(), stableSince = 0, last = ''; ; await sleep(250)) {
      const owned = (await Promise.all(workers.map((w) => w.request<EngineStats>({ cmd: 'stats' }, 'stats')))).map((s) => s.ownedPartitions);
      const settled = owned.every((n) => n > 0) && owned.reduce((a, b) => a + b, 0) === PARTITIONS;
      if (owned.join() !== last || !settled) {
        last = owned.join();
        stableSince = Date.now();
      } else if (Date.now() - stableSince >= 3_000) break;
      if (Date.now() - started > 120_000) throw new Error(`the workers did not share out the partitions (${last})`);
    }
    const baseline = await workersHeap(workers);
    // Activate every actor: one event of a type the behavior ignores, per user.
    const producer = createStreamProducer(redis, keys);
    const time = new Date().toISOString();
    const envelopes: Envelope[] = Array.from({ length: USERS }, (_, u) => ({
      id: `activate-${mode}-${u}`,
      type: 'bench.activate',
      user: userOf(u),
      partition: partitionOf(userOf(u), PARTITIONS),
      time,
      schema: ENVELOPE_SCHEMA_VERSION,
      payload: {},
    }));
    for (let i = 0; i < envelopes.length; i += 2_000) await producer.appendMany(envelopes.slice(i, i + 2_000));
    const activationStarted = Date.now();
    for (;;) {
      const stats = await workerStats();
      if (stats.activeActors >= USERS && stats.revaluation.indexedUsers >= USERS) break;
      if (Date.now() - activationStarted > 300_000) throw new Error(`only ${stats.activeActors} actors active after 5 minutes`);
      await sleep(500);
    }
    console.log(`[${mode}] ${USERS} actors active in ${((Date.now() - activationStarted) / 1000).toFixed(1)} s`);
    const activated = await workersHeap(workers);
    const heap: HeapResult = {
      mode,
      baselineBytes: baseline.heapUsed,
      actors: activated.activeActors,
      perActorActivated: (activated.heapUsed - baseline.heapUsed) / activated.activeActors,
      actorsAfterSteps: 0,
      perActorAfterSteps: 0,
    };
    heaps.push(heap);
    console.log(`[${mode}] worker heap ${(baseline.heapUsed / 2 ** 20).toFixed(1)} MB before activation, ${heap.perActorActivated.toFixed(0)} bytes per actor once ${heap.actors} are active`);

    const connectStarted = Date.now();
    if (web) {
      clients = await forkChild('bench/lib/ticks-clients.ts', {});
      const tokens: [string, string][] = [];
      for (let u = 0; u < CLIENTS; u++) tokens.push([userOf(u), await issueUserToken(AUTH_SECRET, userOf(u), 24 * 3600)]);
      await clients.request({ cmd: 'connect', url: web.ready.url!, tokens }, 'connected');
      console.log(`[${mode}] ${CLIENTS} clients connected with their snapshots in ${((Date.now() - connectStarted) / 1000).toFixed(1)} s`);
    } else {
      clients = await forkChild('bench/lib/ticks-counter.ts', {});
      const users = Array.from({ length: CLIENTS }, (_, u) => userOf(u));
      await clients.request({ cmd: 'connect', redisUrl: urls.redis, namespace, users }, 'connected');
      // The worker learns who is watched within a presence poll (1 s) and catches them up.
      await sleep(2_000);
      console.log(`[${mode}] counting subscriber on the rooms of ${CLIENTS} watched users in ${((Date.now() - connectStarted) / 1000).toFixed(1)} s`);
    }
    if (PASSIVATE) {
      // Presence reaches the workers within a poll (1 s): wait for it, then sweep.
      await sleep(2_000);
      const done = await Promise.all(workers.map((w) => w.request<{ passivated: number; activeActors: number }>({ cmd: 'passivate' }, 'passivated')));
      const sum = (f: (d: { passivated: number; activeActors: number }) => number) => done.reduce((n, d) => n + f(d), 0);
      console.log(`[${mode}] ${sum((d) => d.passivated)} unwatched actors passivated; ${sum((d) => d.activeActors)} active`);
    }

    const writer = createPriceWriter(redis, keys, { shards: SHARDS, maxLen: 200_000 });
    const rand = createRandom(7);
    const pick = securitySampler();
    /** Queues the ticks due at `rate` since `started` beyond `written` (random securities, small moves); returns how many. */
    const writeDue = (rate: number, started: number, written: number): number => {
      const now = Date.now();
      const due = Math.floor(((now - started) / 1000) * rate) - written;
      for (let i = 0; i < due; i++) {
        const s = pick(rand());
        prices[s] = Math.max(0.01, Math.round(prices[s]! * (1 + (rand() - 0.5) * 0.002) * 100) / 100);
        writer.write(symbolOf(s), prices[s]!, now, 100, 'stream');
      }
      return Math.max(due, 0);
    };
    // Warm-up, not measured: the JIT compiles the tick path and the GC reclaims the passivated
    // states (a production worker passivates a few at a time, never 9,000 at once).
    const warmUpUntil = Date.now() + WARM_UP_SECONDS * 1000;
    for (let written = 0, started = Date.now(); Date.now() < warmUpUntil; await sleep(10)) written += writeDue(RATES[0]!, started, written);
    for (const rate of RATES) {
      // Drain: wait until the worker has read everything written so far.
      await writer.flush();
      const drainDeadline = Date.now() + 30_000;
      for (;;) {
        const s = await workerStats();
        const last = await redis.xrevrange(keys.priceStream(0), '+', '-', 'COUNT', 1);
        const lastMs = last[0] ? Number(last[0][0].split('-')[0]) : 0;
        if (s.revaluation.lastEntryMs >= lastMs - 50 || Date.now() > drainDeadline) break;
        await sleep(250);
      }
      await sleep(1_000);
      await clients.request({ cmd: 'reset' }, 'reset');
      const before = await workerStats();
      const webBefore = await webStats();
      const profiled = [...workers, ...(web ? [web] : []), clients];
      if (PROFILE_DIR) await Promise.all(profiled.map((c) => c.request({ cmd: 'profile-start', kind: PROFILE_KIND }, 'profiling')));
      const clientsBefore = await clients.request<ClientReport>({ cmd: 'report' }, 'report');
      const redisCpuBefore = await redisCpuSeconds(redis);
      const writerCpuBefore = process.cpuUsage();
      const started = Date.now();
      let written = 0;
      let behindMidMs = 0;
      let midAsked = false;
      const tickEvery = 10;
      while (Date.now() - started < STEP_SECONDS * 1000) {
        const elapsed = Date.now() - started;
        written += writeDue(rate, started, written);
        if (!midAsked && elapsed >= (STEP_SECONDS * 1000) / 2) {
          // Not awaited: a busy engine answers late, and the writer must keep its pace meanwhile.
          midAsked = true;
          void workerStats(false).then((mid) => {
            behindMidMs = Math.max(0, mid.now - mid.revaluation.lastEntryMs);
          });
        }
        await sleep(tickEvery);
      }
      const seconds = (Date.now() - started) / 1000;
      const writerCpu = cpuMs(process.cpuUsage(writerCpuBefore)) / 1000 / seconds;
      const redisCpu = ((await redisCpuSeconds(redis)) - redisCpuBefore) / seconds;
      const after = await workerStats();
      const webAfter = await webStats();
      if (PROFILE_DIR) {
        await Promise.all(
          [
            ...workers.map((w, i) => [w, workers.length > 1 ? `worker${i + 1}` : 'worker']),
            ...(web ? [[web, 'web']] : []),
            [clients, DELIVERY === 'clients' ? 'clients' : 'counter'],
          ].map(([c, role]) => (c as Child).request({ cmd: 'profile-stop', file: `${PROFILE_DIR}/${mode}-${rate}-${role as string}.${PROFILE_KIND === 'cpu' ? 'cpuprofile' : `${PROFILE_KIND}.heapprofile`}` }, 'profiled')),
        );
      }
      const report = await clients.request<ClientReport>({ cmd: 'report' }, 'report');
      const behindEndMs = Math.max(0, after.now - after.revaluation.lastEntryMs);
      const engineSeconds = (after.now - before.now) / 1000;
      const achieved = written / seconds;
      const result: StepResult = {
        mode,
        target: rate,
        achieved: Math.round(achieved),
        engineCpu: (cpuMs(after.cpu) - cpuMs(before.cpu)) / 1000 / engineSeconds,
        workerUsPerTick: ((cpuMs(after.cpu) - cpuMs(before.cpu)) * 1000) / Math.max(1, written),
        webCpu: web ? (cpuMs(webAfter.cpu) - cpuMs(webBefore.cpu)) / 1000 / ((webAfter.now - webBefore.now) / 1000) : 0,
        clientsCpu: (cpuMs(report.cpu) - cpuMs(clientsBefore.cpu)) / 1000 / seconds,
        writerCpu,
        redisCpu,
        behindMidMs,
        behindEndMs,
        p50: report.p50,
        p99: report.p99,
        max: report.max,
        deltasPerSecond: Math.round(report.deltas / seconds),
        clientResyncs: report.gaps - clientsBefore.gaps + report.mismatches - clientsBefore.mismatches,
        revaluationsPerSecond: Math.round((after.revaluation.revaluations - before.revaluation.revaluations) / engineSeconds),
        loopDelayP99Ms: after.loopDelayP99Ms,
        webLoopDelayP99Ms: webAfter.loopDelayP99Ms,
        loopDelayMaxMs: [after.loopDelayMaxMs, webAfter.loopDelayMaxMs, report.loopDelayMaxMs],
        gcMaxMs: [after.gcMaxMs, webAfter.gcMaxMs, report.gcMaxMs],
        workerMajorGcs: after.majorGcs,
        sustained: false,
      };
      result.sustained =
        achieved >= 0.95 * rate && behindEndMs < 1_000 && behindEndMs <= behindMidMs + 250 && report.p99 < TARGET_P99_MS && report.count > 0;
      results.push(result);
      console.log(`[${mode}] ${JSON.stringify(result)}`);
      if (!result.sustained && behindEndMs > 5_000) break;
    }
    await writer.close();
    const end = await workersHeap(workers);
    heap.actorsAfterSteps = end.activeActors;
    heap.perActorAfterSteps = (end.heapUsed - baseline.heapUsed) / end.activeActors;
    console.log(`[${mode}] worker heap after the steps: ${heap.perActorAfterSteps.toFixed(0)} bytes per actor (${end.activeActors} in memory)`);
  } finally {
    clients?.process.disconnect();
    await Promise.all([...workers, ...(web ? [web] : [])].map(stopChild));
    redis.disconnect();
  }
  return results;
}

function table(results: StepResult[]): string {
  const lines = [
    `| mode | target ticks/s | achieved | worker CPU (cores) | worker µs per tick | web CPU | ${DELIVERY === 'clients' ? 'clients' : 'counter'} CPU | writer CPU | Redis CPU | worker behind, mid → end | freshness p50 | p99 | max | deltas/s received | client resyncs | actor revaluations/s | loop delay p99 worker / web | longest stall worker / web / clients | longest GC pause worker / web / clients (worker major GCs) | sustained |`,
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
  ];
  for (const r of results) {
    lines.push(
      `| ${r.mode} | ${r.target} | ${r.achieved} | ${r.engineCpu.toFixed(2)} | ${r.workerUsPerTick.toFixed(1)} | ${DELIVERY === 'clients' ? r.webCpu.toFixed(2) : '—'} | ${r.clientsCpu.toFixed(2)} | ${r.writerCpu.toFixed(2)} | ${r.redisCpu.toFixed(2)} | ${r.behindMidMs} → ${r.behindEndMs} ms | ${r.p50} ms | ${r.p99} ms | ${r.max} ms | ${r.deltasPerSecond} | ${r.clientResyncs} | ${r.revaluationsPerSecond} | ${r.loopDelayP99Ms.toFixed(0)} / ${r.webLoopDelayP99Ms.toFixed(0)} ms | ${r.loopDelayMaxMs.map((m) => m.toFixed(0)).join(' / ')} ms | ${r.gcMaxMs.map((m) => m.toFixed(0)).join(' / ')} ms (${r.workerMajorGcs}) | ${r.sustained ? 'yes' : 'no'} |`,
    );
  }
  return lines.join('\n');
}

async function main() {
  const loadStart = loadAverage();
  const services = await startBenchServices(log);
  const db = await freshDatabase(services.databaseUrl, { prefix: 'bench_ticks', applicationName: 'bench-ticks' });
  const all: StepResult[] = [];
  const heaps: HeapResult[] = [];
  const namespaces: string[] = [];
  try {
    const prices = new Float64Array(SECURITIES);
    const seedStarted = Date.now();
    await seed(db.knex, prices);
    console.log(`seeded ${USERS} users × ${HOLDINGS} holdings over ${SECURITIES} securities in ${((Date.now() - seedStarted) / 1000).toFixed(1)} s`);
    for (const mode of MODES) {
      const namespace = `bench-ticks-${randomUUID().slice(0, 8)}`;
      namespaces.push(namespace);
      const redis = new Redis(services.redisUrl);
      const keys = streamKeys(namespace);
      const args: string[] = [];
      const at = Date.now();
      for (let s = 0; s < SECURITIES; s++) args.push(symbolOf(s), encodeLastPrice(prices[s]!, at, 'stream'));
      await redis.hset(keys.lastPrices(), ...args);
      redis.disconnect();
      all.push(...(await runMode(mode, { redis: services.redisUrl, database: db.url }, namespace, prices, heaps)));
    }
  } finally {
    const redis = new Redis(services.redisUrl);
    for (const ns of namespaces) await deleteNamespace(redis, ns);
    redis.disconnect();
    await db.drop();
    await services.stop();
  }

  const best = (mode: string) => Math.max(0, ...all.filter((r) => r.mode === mode && r.sustained).map((r) => r.target));
  const inc = best('incremental');
  const naive = best('naive');
  const loadEnd = loadAverage();
  const common = all.filter((r) => r.mode === 'incremental').find((r) => all.some((n) => n.mode === 'naive' && n.target === r.target));
  const naiveCommon = common ? all.find((n) => n.mode === 'naive' && n.target === common.target) : undefined;
  const perTick = all
    .filter((r) => r.mode === 'incremental')
    .map((r) => `${r.target}: ${r.workerUsPerTick.toFixed(1)} µs`)
    .join(', ');
  const summary = [
    `Highest sustained rate: incremental **${inc || 'none'}** ticks/s, naive **${naive || 'none'}** ticks/s` +
      (inc && naive ? ` (ratio ${(inc / naive).toFixed(1)}×).` : '.'),
    common && naiveCommon
      ? `At ${common.target} ticks/s: worker CPU ${common.engineCpu.toFixed(2)} vs ${naiveCommon.engineCpu.toFixed(2)} cores, p99 freshness ${common.p99} vs ${naiveCommon.p99} ms.`
      : '',
    `Target (20,000 ticks/s sustained, p99 < ${TARGET_P99_MS} ms): ${inc >= TARGET_RATE ? 'met' : '**not met**'}.`,
    perTick ? `Worker CPU per tick (incremental), by rate: ${perTick}.` : '',
  ].join(' ');
  // Each variant of the run has a section of its own, named by what differs from the default.
  const variants: [boolean, string, string][] = [
    [PASSIVATE, 'unwatched actors passivated', 'BENCH_PASSIVATE=1'],
    [WORKERS > 1, `${WORKERS} workers`, `BENCH_WORKERS=${WORKERS}`],
    [TICK_DISTRIBUTION === 'zipf', `Zipf-skewed ticks (s = ${ZIPF_S})`, `BENCH_TICKS=zipf${ZIPF_S === 1 ? '' : `, BENCH_ZIPF_S=${ZIPF_S}`}`],
    [DELIVERY === 'counting', "the worker's cost (deltas counted on the adapter channel)", 'BENCH_DELIVERY=counting'],
  ];
  const on = variants.filter(([set]) => set);
  const delivery =
    DELIVERY === 'clients'
      ? `${CLIENTS} socket.io clients (websocket, the product's portfolio store) for ${CLIENTS} of the users`
      : `no web node and no socket.io clients: one Redis subscriber on the socket.io adapter's channels (bench/lib/ticks-counter.ts, a child process) marks ${CLIENTS} users watched in the presence set, counts their deltas, checks their seq and records freshness`;
  const section = [
    `## Live prices${on.map(([, words]) => `, ${words}`).join('')} (bench:ticks${on.map(([, , env]) => `, ${env}`).join('')})`,
    '',
    `Measured ${new Date().toISOString().slice(0, 10)} with \`npm run bench:ticks\` (bench/ticks.ts), ${STEP_SECONDS} s per rate.`,
    '',
    `- Machine: ${machineDescription()}; load average at the start ${loadStart}, at the end ${loadEnd} (the machine is shared).`,
    `- Workload: ${USERS} users × ${HOLDINGS} holdings over ${SECURITIES} securities (seeded as projection rows), ${delivery}, coalescing window ${WINDOW_MS} ms, ${SHARDS} price shards, ${PARTITIONS} partitions, engine semi-space ${SEMI_SPACE_MB} MB. ${PASSIVATE ? 'Before the measurement, the actors nobody watches are passivated (as the idle sweep does in production); the watched ones stay.' : 'Every actor stays in memory for the whole run (all users recently active).'}`,
    `- Layout (as the Procfile runs it): the worker role (actors, revaluation, delta coalescing; \`startFoliostream\` with \`ROLES=worker\`${WORKERS > 1 ? `, ${WORKERS} processes sharing the partitions; their CPU is summed` : ''}) ${DELIVERY === 'clients' ? 'and the web role (the socket.io gateway, `ROLES=web`) in child processes, talking through Redis; the clients in another child process' : 'in a child process; the counting subscriber in another'}; the tick writer (\`createPriceWriter\`, ${TICK_DISTRIBUTION === 'zipf' ? `securities drawn Zipf (s = ${ZIPF_S}) over their rank` : 'uniform random securities'}) in the parent; Redis and Postgres in their own processes. All share the same 2 cores. CPU columns: CPU time ÷ wall time (1.00 = one core).`,
    '- Worker µs per tick = the worker process\'s CPU time over the step (`process.cpuUsage()` in that process: every thread of it, GC included) ÷ the ticks written in the step.',
    '- Freshness = client receive time − the tick\'s `at` (set when the bench queued it for the append), per holding in each delta received, HDR histogram (hdr-histogram-js). "Worker behind" = engine clock − the time in the id of the newest price-stream entry the worker handled, at the middle and end of the step.',
    '- Sustained: ≥ 95 % of the target written, worker < 1 s behind at the end and not falling further behind, p99 freshness < 250 ms.',
    '',
    table(all),
    '',
    summary,
    '',
    `Worker heap per actor in memory (heap used after forced full GCs, minus the same before any actor was activated, ÷ the actors in memory): ${heaps
      .map(
        (h) =>
          `${h.mode}: ${Math.round(h.perActorActivated).toLocaleString('en-US')} bytes once ${h.actors} actors are active, ${Math.round(h.perActorAfterSteps).toLocaleString('en-US')} bytes after the steps (${h.actorsAfterSteps} in memory; ${(h.baselineBytes / 2 ** 20).toFixed(1)} MB before activation)`,
      )
      .join('; ')}.`,
    '',
  ].join('\n');
  console.log(`\n${section}`);
  if (WRITE_DOCS) writeBenchmarkSection(section.split('\n'));
}

await main();
