/**
 * `npm run bench:replay`: how fast a replay rebuilds users from their partition streams, and where
 * the time goes.
 *
 * - Redis and Postgres come from REDIS_URL / DATABASE_URL, or throwaway servers are started here.
 * - Workload: BENCH_USERS (10,000) users × BENCH_EVENTS_PER_USER (100) events over 16 partitions,
 *   as the engine writes them: per user one `accounts.synced` (a SnapTrade connection, two
 *   accounts), then `positions.synced` with SnapTrade's wire bodies (`positions/all` with 3 to 6
 *   positions, `balances`) and `ACCOUNT_HOLDINGS_UPDATED` webhooks, users interleaved. After 90 %
 *   of each user's events a `snapshot` of every user is appended (not timed), then the rest.
 * - Baseline: every entry of every partition read with bare XRANGE (2,000 per call) and
 *   JSON.parse, nothing else.
 * - Stages, one partition at a time: its pages read into memory as the rebuild receives them
 *   (Buffers, `streamBufferPages`), then with Redis out of the way its entries decoded alone
 *   (made strings, then `decodeEnvelope`), then folded (`PartitionFold`), settled and aggregated (the fold alone);
 *   and BENCH_WRITE_USERS (1,000) rebuilt users written to a fresh database as a repair writes them
 *   (`repairUser`).
 * - From the start: `rebuildPartition` over every partition on this thread, then in BENCH_WORKERS
 *   ("1,2") worker threads (`rebuildPartitionsInWorkers`); each user's holdings aggregated.
 * - From snapshots: the same starting from each user's latest snapshot, on this thread and in the
 *   most worker threads.
 * - Dry run of many users (`dryRunUsers`, what `npm run replay -- --all --dry-run` runs): the users
 *   written in the write stage, given checkpoints, checked against their streams from snapshots and
 *   from the start, on this thread and in BENCH_DRY_RUN_THREADS ("1,2") worker threads, in
 *   BENCH_DRY_RUN_ROUNDS (2) rounds of alternating order, each setting's fastest kept; every report
 *   the same as this thread's, and none with a difference.
 * - Rate: the events the rebuilt state stands for (users × events per user) ÷ wall time; the
 *   snapshot rebuild folds only the events after the snapshots, which is the point of them.
 * Every rebuild is checked equal to the one from the start, user by user.
 *
 * BENCH_WRITE=0 to skip updating docs/BENCHMARKS.md.
 */
import { randomUUID } from 'node:crypto';
import { cpus, loadavg, totalmem } from 'node:os';
import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import pino from 'pino';
import { deleteNamespace, freshDatabase, startBenchServices, writeBenchmarkSection, type BenchDatabase } from './lib/bench-support.ts';
import { fromSnapshot, toSnapshot, type PortfolioProjection, type ProjectionSnapshot } from '../actors/portfolio/portfolio-projection.ts';
import { setRootLogger } from '../src/logging/logger.ts';
import { aggregateHoldings, EMPTY_FX_TABLE, type AccountPositions } from '../src/portfolio/index.ts';
import { loadLiveState } from '../src/replay/live-state.ts';
import { PartitionFold } from '../src/replay/partition-fold.ts';
import { rebuildPartition } from '../src/replay/rebuild-partition.ts';
import { rebuildPartitionsInWorkers } from '../src/replay/rebuild-pool.ts';
import { repairUser } from '../src/replay/repair.ts';
import { dryRunUsers } from '../src/replay/user-replay.ts';
import { decodeEnvelope, ENVELOPE_FIELD, ENVELOPE_SCHEMA_VERSION, type Envelope } from '../streams/envelope.ts';
import { streamKeys, type StreamKeys } from '../streams/keys.ts';
import { partitionOf } from '../streams/partition.ts';
import { createStreamProducer } from '../streams/producer.ts';
import { streamBufferPages } from '../streams/replay.ts';
import { appendSnapshot } from '../streams/snapshots.ts';
import { accountsSynced, positionsSynced, seededRandom } from './lib/portfolio-events.ts';
import { singleRedis } from '../src/runtime/redis-client.ts';

const USERS = Number(process.env.BENCH_USERS ?? 10_000);
const PER_USER = Number(process.env.BENCH_EVENTS_PER_USER ?? 100);
const PARTITIONS = 16;
const SNAPSHOT_AT = Math.floor(PER_USER * 0.9);
const TARGET = 50_000;
const WRITE_DOCS = process.env.BENCH_WRITE !== '0';
/** Worker-thread counts to rebuild with (comma-separated). */
const WORKERS = (process.env.BENCH_WORKERS ?? '1,2').split(',').map(Number);
/** Worker-thread counts of the dry-run stage (comma-separated). */
const DRY_RUN_THREADS = (process.env.BENCH_DRY_RUN_THREADS ?? '1,2').split(',').map(Number);
/** Rounds of the dry-run stage (each setting keeps its fastest). */
const DRY_RUN_ROUNDS = Number(process.env.BENCH_DRY_RUN_ROUNDS ?? 2);
/** Rebuilt users written to Postgres for the write stage and the dry run (0: skip both). */
const WRITE_USERS = Number(process.env.BENCH_WRITE_USERS ?? 1_000);

setRootLogger(pino({ level: process.env.LOG_LEVEL ?? 'warn' }));
const log = pino({ level: 'warn' });
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

const SYMBOLS = [
  ['AAPL', 'BBG000B9XRY4', 'Apple Inc.'],
  ['MSFT', 'BBG000BPH459', 'Microsoft Corporation'],
  ['SPY', 'BBG000BDTBL9', 'SPDR S&P 500 ETF Trust'],
  ['NVDA', 'BBG000BBJQV0', 'NVIDIA Corporation'],
  ['AMZN', 'BBG000BVPV84', 'Amazon.com Inc.'],
  ['GOOGL', 'BBG009S39JX6', 'Alphabet Inc.'],
  ['TSLA', 'BBG000N9MNX3', 'Tesla Inc.'],
  ['VTI', 'BBG000QVQPW8', 'Vanguard Total Stock Market ETF'],
] as const;

/** The n-th event of user u, as a sync job or the webhook ingest appends it. */
function eventOf(u: number, n: number): Envelope {
  const user = `bench-replay-user-${u}`;
  const base = { user, partition: partitionOf(user, PARTITIONS), schema: ENVELOPE_SCHEMA_VERSION };
  const time = new Date(Date.UTC(2026, 10, 1) + n * 60_000).toISOString();
  const accounts = [`acct-${u}-a`, `acct-${u}-b`];
  if (n === 0) return accountsSynced(base, time, { id: `accounts-${u}`, connection: `auth-${u}`, accounts });
  const rand = seededRandom(u * 1_000 + n);
  const account = accounts[n % 2]!;
  if (rand() < 0.15) {
    return {
      ...base,
      id: `hook-${u}-${n}`,
      type: 'snaptrade.webhook',
      time,
      payload: { webhookId: `hook-${u}-${n}`, userId: user, eventType: 'ACCOUNT_HOLDINGS_UPDATED', accountId: account, eventTimestamp: time, details: {} },
      meta: { eventType: 'ACCOUNT_HOLDINGS_UPDATED', webhookSchema: 'api_key', knownEventType: true },
    };
  }
  const count = 3 + Math.floor(rand() * 4);
  const picked = [...SYMBOLS].sort(() => rand() - 0.5).slice(0, count);
  const instruments = picked.map(([symbol, figi, description], i) => ({ id: `00000000-0000-4000-8000-00000000000${i}`, symbol, description, figi }));
  return positionsSynced(base, time, { id: `sync-${u}-${n}`, account }, instruments, rand);
}

async function appendRange(redis: Redis, keys: StreamKeys, from: number, to: number): Promise<number> {
  const producer = createStreamProducer(redis, keys);
  let batch: Envelope[] = [];
  let appended = 0;
  for (let n = from; n < to; n++) {
    for (let u = 0; u < USERS; u++) {
      batch.push(eventOf(u, n));
      if (batch.length === 2_000) {
        await producer.appendMany(batch);
        appended += batch.length;
        batch = [];
      }
    }
  }
  if (batch.length) await producer.appendMany(batch);
  return appended + batch.length;
}

/** Holdings of a rebuilt user, as a replay aggregates them before comparing. */
function holdingsOf(projection: PortfolioProjection): number {
  const byAccount = new Map<string, AccountPositions>();
  for (const [key, a] of projection.accounts) {
    const p = projection.positions.get(key);
    if (p) byAccount.set(key, { institution: a.institution, currency: a.currency, ...p });
  }
  return aggregateHoldings(byAccount, { baseCurrency: 'USD', fx: EMPTY_FX_TABLE }).holdings.size;
}

const seconds = (since: number) => (performance.now() - since) / 1000;

async function baseline(redis: Redis, keys: StreamKeys): Promise<{ seconds: number; entries: number }> {
  const started = performance.now();
  let entries = 0;
  for (let p = 0; p < PARTITIONS; p++) {
    for (let cursor = '-'; ; ) {
      const page = await redis.xrange(keys.partitionStream(p), cursor, '+', 'COUNT', 2_000);
      for (const [, fields] of page) {
        JSON.parse(fields[fields.indexOf(ENVELOPE_FIELD) + 1]!);
        entries++;
      }
      if (page.length < 2_000) break;
      cursor = `(${page[page.length - 1]![0]}`;
    }
  }
  return { seconds: seconds(started), entries };
}

type Page = [Buffer, Buffer[]][];

/**
 * Where the time of a rebuild from the start goes, one partition at a time on this thread: the
 * partition's pages read into memory as the rebuild receives them (Buffers, the next page asked
 * for ahead), then, with Redis out of the way, the entries decoded alone, then folded
 * (`PartitionFold`: decoding and `project`), settled and aggregated.
 */
async function stages(redis: Redis, keys: StreamKeys) {
  const t = { read: 0, text: 0, decode: 0, fold: 0, settle: 0, aggregate: 0 };
  let entries = 0;
  let bytes = 0;
  let folded = 0;
  for (let p = 0; p < PARTITIONS; p++) {
    let started = performance.now();
    const pages: Page[] = [];
    for await (const page of streamBufferPages(redis, keys.partitionStream(p), '-', '+', 2_000)) pages.push(page);
    t.read += seconds(started);

    // The texts die young, as in the fold: the text alone, then the text and its parse.
    started = performance.now();
    for (const page of pages) {
      for (const [, fields] of page) {
        const source = fields[fields.findIndex((f, i) => i % 2 === 0 && f.length === 1 && f[0] === 0x65) + 1]!;
        bytes += source.length;
        entries++;
        if (source.toString().length === 0) throw new Error('an empty envelope');
      }
    }
    t.text += seconds(started);
    started = performance.now();
    for (const page of pages) {
      for (const [, fields] of page) decodeEnvelope(fields[fields.findIndex((f, i) => i % 2 === 0 && f.length === 1 && f[0] === 0x65) + 1]!.toString());
    }
    t.decode += seconds(started);

    started = performance.now();
    const fold = new PartitionFold(new Map());
    for (const page of pages) fold.page(page);
    t.fold += seconds(started);
    folded += fold.eventsFolded;
    started = performance.now();
    const states = fold.finish();
    t.settle += seconds(started);
    started = performance.now();
    for (const state of states.values()) holdingsOf(state);
    t.aggregate += seconds(started);
  }
  return { ...t, entries, bytes, folded };
}

interface Rebuild {
  seconds: number;
  /** Worker threads: until the last had loaded its code (included in `seconds`). */
  startup: number;
  folded: number;
  read: number;
  holdings: number;
  /** User -> the rebuilt state (compared after the timing). */
  states: Map<string, ProjectionSnapshot>;
}

const comparable = (s: ProjectionSnapshot) => JSON.stringify({ ...s, covers: null });

/** `rebuildPartition` over every partition, one after the other on this thread; holdings aggregated. */
async function rebuild(redis: Redis, keys: StreamKeys, fromSnapshots: boolean): Promise<Rebuild> {
  const started = performance.now();
  const out: Rebuild = { seconds: 0, startup: 0, folded: 0, read: 0, holdings: 0, states: new Map() };
  for (let p = 0; p < PARTITIONS; p++) {
    const result = await rebuildPartition(redis, keys, p, { fromSnapshots });
    out.folded += result.eventsFolded;
    out.read += result.entriesRead;
    for (const [user, state] of result.projections) {
      out.holdings += holdingsOf(state);
      out.states.set(user, toSnapshot(state));
    }
  }
  out.seconds = seconds(started);
  return out;
}

/** The same in a pool of worker threads; holdings aggregated on this thread as partitions come back. */
async function rebuildInWorkers(redisUrl: string, namespace: string, workers: number, fromSnapshots: boolean): Promise<Rebuild> {
  const started = performance.now();
  const out: Rebuild = { seconds: 0, startup: 0, folded: 0, read: 0, holdings: 0, states: new Map() };
  await rebuildPartitionsInWorkers({
    redisTarget: singleRedis(redisUrl),
    namespace,
    partitions: Array.from({ length: PARTITIONS }, (_, p) => p),
    workers,
    fromSnapshots,
    onReady() {
      out.startup = seconds(started);
    },
    onPartition(rebuilt) {
      out.folded += rebuilt.eventsFolded;
      out.read += rebuilt.entriesRead;
      for (const snapshot of rebuilt.users) {
        out.holdings += holdingsOf(fromSnapshot(snapshot));
        out.states.set(snapshot.userId, snapshot);
      }
    },
  });
  out.seconds = seconds(started);
  return out;
}

/** Rebuilt users written to a fresh database as a repair writes them (`repairUser`, one transaction each). */
async function writeUsers(db: BenchDatabase, states: Iterable<PortfolioProjection>): Promise<{ seconds: number; users: number }> {
  const started = performance.now();
  let users = 0;
  for (const state of states) {
    const live = await loadLiveState(db.knex, state.userId);
    await db.knex.transaction((tx) => repairUser(tx, state, live));
    users++;
  }
  return { seconds: seconds(started), users };
}

/** The checkpoints of the written users: each at the last event their rebuilt state covers. */
async function writeCheckpoints(db: BenchDatabase, states: readonly PortfolioProjection[]): Promise<void> {
  const rows = states.map((s) => {
    const [ms, seq] = s.lastStreamId!.split('-');
    return { user_id: s.userId, partition: partitionOf(s.userId, PARTITIONS), last_stream_ms: ms, last_stream_seq: seq, fencing_token: 1 };
  });
  for (let i = 0; i < rows.length; i += 1_000) await db.knex('actor_checkpoints').insert(rows.slice(i, i + 1_000));
}

interface DryRun {
  label: string;
  fromStart: boolean;
  threads: number | null;
  /** The fastest round's wall time. */
  seconds: number;
  /** Every round's wall time, in the order they ran. */
  rounds: number[];
  /** User -> the report as JSON (compared after the timing). */
  reports: Map<string, string>;
  differed: number;
}

/** `dryRunUsers` over `users`: on this thread (`threads` null) or in worker threads. */
async function dryRun(db: BenchDatabase, redis: Redis, redisUrl: string, keys: StreamKeys, users: readonly string[], fromStart: boolean, threads: number | null): Promise<DryRun> {
  const label = `${fromStart ? 'from the start' : 'from snapshots'}, ${threads === null ? 'on the calling thread' : `${threads} worker thread${threads === 1 ? '' : 's'}`}`;
  console.log(`dry run of ${fmt(users.length)} users ${label} ...`);
  const reports = new Map<string, string>();
  let differed = 0;
  const started = performance.now();
  await dryRunUsers(db.knex, redis, keys, PARTITIONS, users, fromStart, (report) => {
    reports.set(report.userId, JSON.stringify(report));
    if (report.differed) differed++;
  }, threads === null ? undefined : { threads, redisTarget: singleRedis(redisUrl) });
  const elapsed = seconds(started);
  const run = { label, fromStart, threads, seconds: elapsed, rounds: [elapsed], reports, differed };
  console.log(`  ${fmt(reports.size)} users in ${run.seconds.toFixed(2)} s: ${fmt(reports.size / run.seconds)} users/s, ${differed} differed`);
  return run;
}

async function main(): Promise<void> {
  const loadStart = loadavg().map((l) => l.toFixed(2)).join(' ');
  const services = await startBenchServices(log);
  const redis = new Redis(services.redisUrl);
  const namespace = `bench-replay-${randomUUID().slice(0, 8)}`;
  const keys = streamKeys(namespace);
  const wallStart = performance.now();
  let db: BenchDatabase | null = null;
  try {
    const redisVersion = /redis_version:(\S+)/.exec(await redis.info('server'))?.[1] ?? '?';
    console.log(`appending ${fmt(USERS * SNAPSHOT_AT)} events (${fmt(USERS)} users × ${SNAPSHOT_AT}) ...`);
    await appendRange(redis, keys, 0, SNAPSHOT_AT);
    console.log('writing a snapshot of every user ...');
    let snapshots = 0;
    for (let p = 0; p < PARTITIONS; p++) {
      const { projections } = await rebuildPartition(redis, keys, p, { fromSnapshots: false });
      for (const state of projections.values()) {
        await appendSnapshot(redis, keys, p, toSnapshot(state));
        snapshots++;
      }
    }
    console.log(`appending the last ${fmt(USERS * (PER_USER - SNAPSHOT_AT))} events ...`);
    await appendRange(redis, keys, SNAPSHOT_AT, PER_USER);
    let streamBytes = 0;
    for (let p = 0; p < PARTITIONS; p++) streamBytes += Number((await redis.memory('USAGE', keys.partitionStream(p))) ?? 0);

    const events = USERS * PER_USER;
    const perEvent = (s: number) => `${((s * 1e6) / events).toFixed(2)} µs`;
    console.log('baseline: XRANGE + JSON.parse of every entry ...');
    const base = await baseline(redis, keys);
    console.log(`  ${fmt(base.entries)} entries in ${base.seconds.toFixed(2)} s: ${fmt(base.entries / base.seconds)} entries/s`);
    console.log('stages: reading, then decoding, folding, settling and aggregating in memory ...');
    const stage = await stages(redis, keys);
    const foldAlone = stage.fold + stage.settle + stage.aggregate;
    for (const [name, s] of Object.entries({ read: stage.read, text: stage.text, decode: stage.decode, fold: stage.fold, settle: stage.settle, aggregate: stage.aggregate, 'fold alone': foldAlone })) {
      console.log(`  ${name}: ${s.toFixed(2)} s, ${perEvent(s)} per event, ${fmt(events / s)} events/s`);
    }
    console.log('rebuild from the start, on this thread ...');
    const fromStart = await rebuild(redis, keys, false);
    console.log(`  ${fmt(fromStart.folded)} events folded in ${fromStart.seconds.toFixed(2)} s: ${fmt(events / fromStart.seconds)} events/s`);
    const pooled: { workers: number; run: Rebuild }[] = [];
    for (const workers of WORKERS) {
      console.log(`rebuild from the start in ${workers} worker thread(s) ...`);
      const run = await rebuildInWorkers(services.redisUrl, namespace, workers, false);
      console.log(`  ${fmt(run.folded)} events folded in ${run.seconds.toFixed(2)} s (threads ready after ${run.startup.toFixed(2)} s): ${fmt(events / run.seconds)} events/s`);
      pooled.push({ workers, run });
    }
    console.log('rebuild from snapshots, on this thread ...');
    const fromSnap = await rebuild(redis, keys, true);
    console.log(`  ${fmt(fromSnap.folded)} events folded in ${fromSnap.seconds.toFixed(2)} s: ${fmt(events / fromSnap.seconds)} events/s rebuilt`);
    const snapWorkers = Math.max(...WORKERS);
    console.log(`rebuild from snapshots in ${snapWorkers} worker thread(s) ...`);
    const fromSnapPooled = await rebuildInWorkers(services.redisUrl, namespace, snapWorkers, true);
    console.log(`  ${fmt(fromSnapPooled.folded)} events folded in ${fromSnapPooled.seconds.toFixed(2)} s: ${fmt(events / fromSnapPooled.seconds)} events/s rebuilt`);

    let mismatches = 0;
    const reference = new Map([...fromStart.states].map(([user, state]) => [user, comparable(state)]));
    for (const other of [fromSnap, fromSnapPooled, ...pooled.map((p) => p.run)]) {
      if (other.states.size !== USERS) throw new Error(`a rebuild missed users (${other.states.size} of ${USERS})`);
      for (const [user, state] of other.states) if (reference.get(user) !== comparable(state)) mismatches++;
    }
    console.log(`  ${mismatches} users differ between the rebuilds`);
    if (mismatches > 0 || fromStart.states.size !== USERS) throw new Error(`the rebuilds disagree (${mismatches} users) or miss users (${fromStart.states.size})`);

    let write: { seconds: number; users: number; postgres: string } | null = null;
    const dryRuns: DryRun[] = [];
    if (WRITE_USERS > 0) {
      console.log(`writing ${fmt(WRITE_USERS)} rebuilt users to Postgres (repairUser) ...`);
      db = await freshDatabase(services.databaseUrl, { prefix: 'bench_replay' });
      const sample = [...fromStart.states.values()].slice(0, WRITE_USERS).map(fromSnapshot);
      write = { ...(await writeUsers(db, sample)), postgres: db.version };
      console.log(`  ${write.users} users in ${write.seconds.toFixed(2)} s: ${fmt(write.users / write.seconds)} users/s (${fmt((write.users * PER_USER) / write.seconds)} events/s)`);
      await writeCheckpoints(db, sample);
      const users = sample.map((s) => s.userId);
      for (const fromStartRun of [false, true]) {
        // Rounds in alternating order (calling thread, 1, 2, then 2, 1, calling thread...): a load
        // that drifts during the stage weighs on every setting alike; each keeps its fastest round.
        const settings = [null, ...DRY_RUN_THREADS];
        const best = new Map<number | null, DryRun>();
        for (let round = 0; round < DRY_RUN_ROUNDS; round++) {
          for (const threads of round % 2 ? [...settings].reverse() : settings) {
            const run = await dryRun(db, redis, services.redisUrl, keys, users, fromStartRun, threads);
            const kept = best.get(threads);
            best.set(threads, kept ? { ...(run.seconds < kept.seconds ? run : kept), rounds: [...kept.rounds, run.seconds] } : run);
          }
        }
        const here = best.get(null)!;
        for (const threads of settings) {
          const run = best.get(threads)!;
          dryRuns.push(run);
          const unlike = users.filter((u) => run.reports.get(u) !== here.reports.get(u)).length;
          if (unlike > 0) throw new Error(`the dry run ${run.label} reports ${unlike} users unlike the calling thread`);
        }
        if (here.reports.size !== users.length || here.differed > 0) throw new Error(`the dry run ${here.label} missed users or found differences (${here.differed})`);
      }
    }

    const cpu = cpus();
    const machine = `${cpu.length} CPUs (${cpu[0]?.model.trim() ?? 'unknown'}), ${(totalmem() / 2 ** 30).toFixed(1)} GiB memory, Node ${process.version}`;
    const rate = (n: number, s: number) => fmt(n / s);
    const met = (r: number) => (r >= TARGET ? 'met' : 'not met');
    const ratio = (s: number) => (base.seconds / s).toFixed(2);
    const best = Math.max(events / fromStart.seconds, ...pooled.map((p) => events / p.run.seconds));
    const bestRun = pooled.find((p) => events / p.run.seconds === best);
    const writeRate = write ? (write.users * PER_USER) / write.seconds : null;
    const lines = [
      '## Replay (bench:replay)',
      '',
      `Measured ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC with \`npm run bench:replay\` (bench/replay.ts; ${seconds(wallStart).toFixed(0)} s in all).`,
      '',
      `Machine: ${machine}. Redis ${redisVersion} on the same machine (${services.source.redis === 'environment' ? 'from REDIS_URL' : 'started by the benchmark'})${write ? `, PostgreSQL ${write.postgres} too` : ''}. Load average (1, 5, 15 min) at the start ${loadStart}, at the end ${loadavg().map((l) => l.toFixed(2)).join(' ')} (the machine is shared).`,
      '',
      `Workload: ${fmt(USERS)} users × ${PER_USER} events over ${PARTITIONS} partitions (${fmt(events)} events, ${fmt(stage.entries)} entries, ${(stage.bytes / 2 ** 20).toFixed(0)} MiB of envelope JSON, ${(streamBytes / 2 ** 20).toFixed(0)} MiB of streams in Redis): per user one \`accounts.synced\` (a SnapTrade connection, two accounts), then \`positions.synced\` with SnapTrade's wire bodies (3 to 6 positions and a balance) and about 15 % \`ACCOUNT_HOLDINGS_UPDATED\` webhooks, users interleaved; a \`snapshot\` of every user after ${SNAPSHOT_AT} of their events (${fmt(snapshots)} snapshots). Rate = the ${fmt(events)} events the rebuilt state stands for ÷ wall time (µs per event likewise); the holdings of every user are aggregated (\`aggregateHoldings\`, ${fmt(fromStart.holdings)} holdings) inside the time. Every rebuild is checked equal to the one from the start, user by user (${mismatches} differ).`,
      '',
      '### Where the time goes (from the start, one thread)',
      '',
      'Each partition read into memory first (the reading), then, with Redis out of the way, its entries decoded alone, then folded, settled and aggregated: the fold alone.',
      '',
      '| stage | time | per event | events/s |',
      '| --- | ---: | ---: | ---: |',
      `| baseline: bare XRANGE + JSON.parse, a page after the other | ${base.seconds.toFixed(2)} s | ${perEvent(base.seconds)} | ${rate(events, base.seconds)} |`,
      `| reading: XRANGE pages as Buffers, the next asked for ahead (\`streamBufferPages\`) | ${stage.read.toFixed(2)} s | ${perEvent(stage.read)} | ${rate(events, stage.read)} |`,
      `| decoding alone, the text: the envelope field's Buffer made a string | ${stage.text.toFixed(2)} s | ${perEvent(stage.text)} | ${rate(events, stage.text)} |`,
      `| decoding alone: the text and \`decodeEnvelope\` (JSON.parse, envelope check) | ${stage.decode.toFixed(2)} s | ${perEvent(stage.decode)} | ${rate(events, stage.decode)} |`,
      `| folding: \`PartitionFold\` over the entries (decoding included, ${fmt(stage.folded)} events folded) | ${stage.fold.toFixed(2)} s | ${perEvent(stage.fold)} | ${rate(events, stage.fold)} |`,
      `| settling: the sync results that decide each account normalized | ${stage.settle.toFixed(2)} s | ${perEvent(stage.settle)} | ${rate(events, stage.settle)} |`,
      `| aggregating holdings (\`aggregateHoldings\`, big.js) | ${stage.aggregate.toFixed(2)} s | ${perEvent(stage.aggregate)} | ${rate(events, stage.aggregate)} |`,
      `| **fold alone** (folding + settling + aggregating) | **${foldAlone.toFixed(2)} s** | **${perEvent(foldAlone)}** | **${rate(events, foldAlone)}** |`,
      ...(write && writeRate
        ? [`| writing the rebuilt state to Postgres (\`repairUser\`, ${fmt(write.users)} users, one transaction each, into empty tables) | ${write.seconds.toFixed(2)} s | ${((write.seconds * 1e6) / (write.users * PER_USER)).toFixed(2)} µs | ${fmt(writeRate)} |`]
        : []),
      '',
      `Fold alone: ${fmt(events / foldAlone)} events/s, target ${fmt(TARGET)}: ${met(events / foldAlone)}.`,
      '',
      '### End to end',
      '',
      '| run | entries read | events folded | wall time | events/s rebuilt | vs. baseline |',
      '| --- | ---: | ---: | ---: | ---: | ---: |',
      `| baseline: bare XRANGE + JSON.parse | ${fmt(base.entries)} | — | ${base.seconds.toFixed(2)} s | ${rate(base.entries, base.seconds)} (entries/s) | 1.00 |`,
      `| rebuild from the start, one thread | ${fmt(fromStart.read)} | ${fmt(fromStart.folded)} | ${fromStart.seconds.toFixed(2)} s | ${rate(events, fromStart.seconds)} | ${ratio(fromStart.seconds)} |`,
      ...pooled.map(({ workers, run }) => `| rebuild from the start, ${workers} worker thread${workers === 1 ? '' : 's'} (ready after ${run.startup.toFixed(2)} s) | ${fmt(run.read)} | ${fmt(run.folded)} | ${run.seconds.toFixed(2)} s | ${rate(events, run.seconds)} | ${ratio(run.seconds)} |`),
      `| rebuild from snapshots, one thread | ${fmt(fromSnap.read)} | ${fmt(fromSnap.folded)} | ${fromSnap.seconds.toFixed(2)} s | ${rate(events, fromSnap.seconds)} | ${ratio(fromSnap.seconds)} |`,
      `| rebuild from snapshots, ${snapWorkers} worker thread${snapWorkers === 1 ? '' : 's'} (ready after ${fromSnapPooled.startup.toFixed(2)} s) | ${fmt(fromSnapPooled.read)} | ${fmt(fromSnapPooled.folded)} | ${fromSnapPooled.seconds.toFixed(2)} s | ${rate(events, fromSnapPooled.seconds)} | ${ratio(fromSnapPooled.seconds)} |`,
      '',
      `End to end from the start: best ${fmt(best)} events/s (${bestRun ? `${bestRun.workers} worker thread${bestRun.workers === 1 ? '' : 's'}` : 'one thread'}), target ${fmt(TARGET)}: ${met(best)}.`,
      '',
      '- "vs. baseline" is the baseline\'s wall time ÷ the run\'s (above 1: faster than bare reading and parsing on one thread).',
      `- Worker threads (\`rebuildPartitionsInWorkers\`) each have their own Redis connection and take partitions from a shared queue; the rebuilt users come back as snapshots and are aggregated on the calling thread as they arrive. Their wall time includes starting the threads (loading the code: "ready after"). V8's heap settings are its defaults in every thread. Redis serves every thread from one core of the same two.`,
      ...(dryRuns.length
        ? [
            '',
            '### Dry run of many users (`npm run replay -- --all --dry-run`)',
            '',
            `\`dryRunUsers\` over the ${fmt(dryRuns[0]!.reports.size)} users written above, each given a checkpoint at the last event their state covers: per partition their checkpoints and rows read in one repeatable-read snapshot (\`loadLiveStates\`), the stream folded for them up to their checkpoints (\`foldUsers\`: their events are interleaved with the other users', so the whole partition is read from the oldest snapshot, or the start), and diffed. On the calling thread, and with the folds in worker threads (\`REPLAY_THREADS\` / \`--threads\`; the reading of rows and the diff stay on the calling thread, a partition more in hand than threads). Every run's reports are checked equal to the calling thread's, user by user, and none differed. ${DRY_RUN_ROUNDS} rounds in alternating order (the calling thread, 1, 2 threads, then back), so a load that drifts weighs on each setting alike; each keeps its fastest. Rate = the events the checked users' states stand for (users × ${PER_USER}) ÷ the fastest wall time, which includes starting the threads.`,
            '',
            '| run | users | wall time (fastest) | every round | users/s | events/s | vs. calling thread |',
            '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
            ...dryRuns.map((run) => {
              const here = dryRuns.find((d) => d.fromStart === run.fromStart && d.threads === null)!;
              return `| ${run.label} | ${fmt(run.reports.size)} | ${run.seconds.toFixed(2)} s | ${run.rounds.map((r) => r.toFixed(2)).join(', ')} s | ${rate(run.reports.size, run.seconds)} | ${rate(run.reports.size * PER_USER, run.seconds)} | ${(here.seconds / run.seconds).toFixed(2)} |`;
            }),
            '',
            '- "vs. calling thread" is the calling thread\'s wall time ÷ the run\'s, in the same run of the benchmark (above 1: faster). The machine was shared with other sessions while it ran (load averages above).',
          ]
        : []),
    ];
    console.log(lines.join('\n'));
    if (WRITE_DOCS) writeBenchmarkSection(lines);
  } finally {
    await db?.drop();
    await deleteNamespace(redis, namespace);
    redis.disconnect();
    await services.stop();
  }
}

await main();
