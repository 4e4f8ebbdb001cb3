/**
 * `npm run bench:replay`: how fast a replay rebuilds users from their partition streams.
 *
 * - Redis comes from REDIS_URL, or a throwaway server is started here (Postgres too, unused).
 * - Workload: BENCH_USERS (10,000) users × BENCH_EVENTS_PER_USER (100) events over 16 partitions,
 *   as the engine writes them: per user one `accounts.synced` (a SnapTrade connection, two
 *   accounts), then `positions.synced` with SnapTrade's wire bodies (`positions/all` with 3 to 6
 *   positions, `balances`) and `ACCOUNT_HOLDINGS_UPDATED` webhooks, users interleaved. After 90 %
 *   of each user's events a `snapshot` of every user is appended (not timed), then the rest.
 * - Baseline: every entry of every partition read with bare XRANGE (2,000 per call) and
 *   JSON.parse, nothing else.
 * - From the start: `rebuildPartition` over every partition (envelope validation, the actor's pure
 *   fold, SnapTrade normalization of the sync results that decide the outcome, the next page read
 *   while one is folded), then each user's holdings aggregated (`aggregateHoldings`).
 * - From snapshots: the same starting from each user's latest snapshot.
 * - Rate: the events the rebuilt state stands for (users × events per user) ÷ wall time; the
 *   snapshot rebuild folds only the events after the snapshots, which is the point of them.
 * The two rebuilds are checked equal, user by user.
 *
 * BENCH_WRITE=0 to skip updating docs/BENCHMARKS.md.
 */
import { randomUUID } from 'node:crypto';
import { cpus, loadavg, totalmem } from 'node:os';
import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import pino from 'pino';
import { deleteNamespace, startBenchServices, writeBenchmarkSection } from './lib/bench-support.ts';
import { toSnapshot, type PortfolioProjection } from '../actors/portfolio/portfolio-projection.ts';
import { setRootLogger } from '../src/logging/logger.ts';
import { aggregateHoldings, EMPTY_FX_TABLE, type AccountPositions } from '../src/portfolio/index.ts';
import { rebuildPartition } from '../src/replay/rebuild-partition.ts';
import { ENVELOPE_FIELD, ENVELOPE_SCHEMA_VERSION, type Envelope } from '../streams/envelope.ts';
import { streamKeys, type StreamKeys } from '../streams/keys.ts';
import { partitionOf } from '../streams/partition.ts';
import { createStreamProducer } from '../streams/producer.ts';
import { appendSnapshot } from '../streams/snapshots.ts';

const USERS = Number(process.env.BENCH_USERS ?? 10_000);
const PER_USER = Number(process.env.BENCH_EVENTS_PER_USER ?? 100);
const PARTITIONS = 16;
const SNAPSHOT_AT = Math.floor(PER_USER * 0.9);
const TARGET = 50_000;
const WRITE_DOCS = process.env.BENCH_WRITE !== '0';

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

function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The n-th event of user u, as a sync job or the webhook ingest appends it. */
function eventOf(u: number, n: number): Envelope {
  const user = `bench-replay-user-${u}`;
  const base = { user, partition: partitionOf(user, PARTITIONS), schema: ENVELOPE_SCHEMA_VERSION };
  const time = new Date(Date.UTC(2026, 10, 1) + n * 60_000).toISOString();
  const accounts = [`acct-${u}-a`, `acct-${u}-b`];
  if (n === 0) {
    return {
      ...base,
      id: `accounts-${u}`,
      type: 'accounts.synced',
      time,
      payload: {
        provider: 'snaptrade',
        connections: [{ externalId: `auth-${u}`, brokerageSlug: 'QUESTRADE', brokerageName: 'Questrade', status: 'active' }],
        accounts: accounts.map((a, i) => ({
          externalId: a,
          connectionExternalId: `auth-${u}`,
          name: i === 0 ? 'Margin' : 'TFSA',
          numberMasked: '****1234',
          institutionName: 'Questrade',
          currency: 'USD',
          tradingAllowed: true,
        })),
      },
    };
  }
  const rand = random(u * 1_000 + n);
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
  const results = picked.map(([symbol, figi, description], i) => ({
    instrument: {
      kind: 'stock',
      id: `00000000-0000-4000-8000-00000000000${i}`,
      symbol,
      raw_symbol: symbol,
      description,
      currency: 'USD',
      exchange: 'XNAS',
      figi_instrument: { figi_code: figi, figi_share_class: null },
    },
    units: String(1 + Math.floor(rand() * 200)),
    price: (50 + rand() * 400).toFixed(2),
    cost_basis: (40 + rand() * 300).toFixed(2),
    currency: 'USD',
    cash_equivalent: false,
    tax_lots: [],
  }));
  return {
    ...base,
    id: `sync-${u}-${n}`,
    type: 'positions.synced',
    time,
    payload: {
      provider: 'snaptrade',
      accountId: account,
      positions: { results, data_freshness: { as_of: time } },
      balances: [{ currency: { id: '00000000-0000-4000-8000-000000000001', code: 'USD', name: 'USD' }, cash: Math.round(rand() * 10_000), buying_power: 1_000 }],
      asOf: time,
      fetchedAt: time,
    },
  };
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
  return { seconds: (performance.now() - started) / 1000, entries };
}

async function rebuild(redis: Redis, keys: StreamKeys, fromSnapshots: boolean) {
  const started = performance.now();
  const states = new Map<string, PortfolioProjection>();
  let folded = 0;
  let read = 0;
  let holdings = 0;
  for (let p = 0; p < PARTITIONS; p++) {
    const result = await rebuildPartition(redis, keys, p, { fromSnapshots });
    folded += result.eventsFolded;
    read += result.entriesRead;
    for (const [user, state] of result.projections) {
      holdings += holdingsOf(state);
      states.set(user, state);
    }
  }
  return { seconds: (performance.now() - started) / 1000, folded, read, holdings, states };
}

const comparable = (s: PortfolioProjection) => JSON.stringify({ ...toSnapshot(s), covers: null });

async function main(): Promise<void> {
  const loadStart = loadavg().map((l) => l.toFixed(2)).join(' ');
  const services = await startBenchServices(log);
  const redis = new Redis(services.redisUrl);
  const namespace = `bench-replay-${randomUUID().slice(0, 8)}`;
  const keys = streamKeys(namespace);
  const wallStart = performance.now();
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
    console.log('baseline: XRANGE + JSON.parse of every entry ...');
    const base = await baseline(redis, keys);
    console.log(`  ${fmt(base.entries)} entries in ${base.seconds.toFixed(2)} s: ${fmt(base.entries / base.seconds)} entries/s`);
    console.log('rebuild from the start ...');
    const fromStart = await rebuild(redis, keys, false);
    console.log(`  ${fmt(fromStart.folded)} events folded in ${fromStart.seconds.toFixed(2)} s: ${fmt(events / fromStart.seconds)} events/s`);
    console.log('rebuild from snapshots ...');
    const fromSnap = await rebuild(redis, keys, true);
    console.log(`  ${fmt(fromSnap.folded)} events folded in ${fromSnap.seconds.toFixed(2)} s: ${fmt(events / fromSnap.seconds)} events/s rebuilt`);
    let mismatches = 0;
    for (const [user, state] of fromStart.states) if (comparable(state) !== comparable(fromSnap.states.get(user)!)) mismatches++;
    console.log(`  ${mismatches} users differ between the two rebuilds`);
    if (mismatches > 0 || fromStart.states.size !== USERS) throw new Error(`the rebuilds disagree (${mismatches} users) or miss users (${fromStart.states.size})`);

    const cpu = cpus();
    const machine = `${cpu.length} CPUs (${cpu[0]?.model.trim() ?? 'unknown'}), ${(totalmem() / 2 ** 30).toFixed(1)} GiB memory, Node ${process.version}`;
    const rate = (n: number, s: number) => fmt(n / s);
    const startRate = events / fromStart.seconds;
    const lines = [
      '## Replay (bench:replay)',
      '',
      `Measured ${new Date().toISOString().slice(0, 10)} with \`npm run bench:replay\` (bench/replay.ts; ${((performance.now() - wallStart) / 1000).toFixed(0)} s in all).`,
      '',
      `Machine: ${machine}. Redis ${redisVersion} on the same machine (${services.source.redis === 'environment' ? 'from REDIS_URL' : 'started by the benchmark'}). Load average (1, 5, 15 min) at the start ${loadStart}, at the end ${loadavg().map((l) => l.toFixed(2)).join(' ')} (the machine is shared).`,
      '',
      `Workload: ${fmt(USERS)} users × ${PER_USER} events over ${PARTITIONS} partitions (${fmt(events)} events, ${(streamBytes / 2 ** 20).toFixed(0)} MiB of streams): per user one \`accounts.synced\` (a SnapTrade connection, two accounts), then \`positions.synced\` with SnapTrade's wire bodies (3 to 6 positions and a balance) and about 15 % \`ACCOUNT_HOLDINGS_UPDATED\` webhooks, users interleaved; a \`snapshot\` of every user after ${SNAPSHOT_AT} of their events (${fmt(snapshots)} snapshots). Single process, one partition after the other. Rate = the ${fmt(events)} events the rebuilt state stands for ÷ wall time; the holdings of every user are aggregated (\`aggregateHoldings\`, ${fmt(fromStart.holdings)} holdings) inside the time. The two rebuilds are checked equal user by user (${mismatches} differ).`,
      '',
      '| run | entries read | events folded | wall time | events/s rebuilt | vs. baseline |',
      '| --- | ---: | ---: | ---: | ---: | ---: |',
      `| baseline: bare XRANGE + JSON.parse | ${fmt(base.entries)} | — | ${base.seconds.toFixed(2)} s | ${rate(base.entries, base.seconds)} (entries/s) | 1.00 |`,
      `| rebuild from the start | ${fmt(fromStart.read)} | ${fmt(fromStart.folded)} | ${fromStart.seconds.toFixed(2)} s | ${rate(events, fromStart.seconds)} | ${(base.seconds / fromStart.seconds).toFixed(2)} |`,
      `| rebuild from snapshots | ${fmt(fromSnap.read)} | ${fmt(fromSnap.folded)} | ${fromSnap.seconds.toFixed(2)} s | ${rate(events, fromSnap.seconds)} | ${(base.seconds / fromSnap.seconds).toFixed(2)} |`,
      '',
      `Target: at least ${fmt(TARGET)} events/s rebuilt from the start — ${startRate >= TARGET ? 'met' : 'not met'} (${fmt(startRate)}).`,
      '',
      '- "vs. baseline" is the baseline\'s wall time ÷ the run\'s: the share of the bare read-and-parse speed a rebuild keeps (above 1 when it reads less).',
      '- The rebuild validates each envelope (zod), normalizes SnapTrade\'s bodies with the product\'s schemas (what the actor does; only the sync results that decide an account\'s outcome, the others are kept as their entry\'s text until then) and aggregates with big.js; it asks Redis for the next page before it folds the one it has (the baseline reads one page after the other, as before). The baseline only parses.',
    ];
    console.log(lines.join('\n'));
    if (WRITE_DOCS) writeBenchmarkSection(lines);
  } finally {
    await deleteNamespace(redis, namespace);
    redis.disconnect();
    await services.stop();
  }
}

await main();
