/**
 * `npm run bench:tick-path`: the worker's live-price path with fixed work, in one process on a core
 * of its own. bench:ticks measures the whole worker under a tick writer, Redis and a subscriber on
 * the same two cores; once the worker is saturated its CPU per tick is one core ÷ the rate, however
 * much work it skipped, so builds and settings cannot be compared there. Here every tick is applied
 * (nothing is skipped), so CPU per tick is the cost of the code.
 *
 * What runs is the product's code from a read batch on: `createTickBatchHandler` with
 * `revalueIncremental` (fold to the newest tick per security, route to the watched holders,
 * revalue, one totals text per user and batch), the delta coalescer with the Redis sequence, and the
 * room emitter publishing each delta on a real Redis (nobody subscribes; publishing costs the
 * worker the same). Left out: reading and decoding the price streams, and the actor mailbox (a
 * task runs at once on the user's state).
 *
 * Workload (the issue's): BENCH_USERS (10000) × BENCH_HOLDINGS (25) over BENCH_SECURITIES (5000),
 * one USD account each, BENCH_WATCHED (1000) of them watched, each portfolio priced with the last
 * prices of what it holds (as an actor's load does); uniform ticks at BENCH_RATE (5000: at 20,000
 * one process on a 2-core machine falls behind the clock, the windows then fold more and the work
 * is no longer fixed) per second for BENCH_SECONDS (10), handed over in read batches every BENCH_READ_MS
 * (100, the worker's read clock since issue 18's fifth pass; a list such as `20,100` makes each a
 * variant) in real time, so the coalescer's 100 ms window (BENCH_WINDOW_MS) folds as it does in the
 * worker. Each read interval runs with each way of sending the deltas in BENCH_SENDERS
 * (`commands,script`, see `Sending`). Variants alternate BENCH_REPEATS (2) times on the same
 * portfolios. BENCH_WRITE=0 leaves docs/BENCHMARKS.md alone.
 *
 * Before the variants, one delta's serialization as the room emitter publishes it, with its
 * repricings in the wire's shortest forms and all as full arrays, as before, alternated in one loop.
 *
 * Per variant: worker CPU per tick (`process.cpuUsage()`, every thread, GC included) over the
 * batches and the sends they cause, the actor tasks, the deltas and repricings, how late the
 * last batch ran (the process could not keep up if it grows), and GC time and the longest pause.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import pino from 'pino';
import { Redis } from 'ioredis';
import { deleteNamespace, loadAverage, machineDescription, median, startBenchServices, writeBenchmarkSection } from './lib/bench-support.ts';
import { createPauseMonitor, type PauseMonitor } from './lib/pause-monitor.ts';
import { profileKind, startProfile, stopProfile } from './lib/step-profiler.ts';
import { symbolOf, syntheticPortfolio, syntheticSecurities } from './lib/synthetic-portfolios.ts';
import type { UserPortfolioState } from '../actors/portfolio/user-portfolio-behavior.ts';
import { TickerHolders } from '../actors/portfolio/ticker-holders.ts';
import { createTickBatchHandler, revalueIncremental, type PriceRevaluationStats } from '../src/app/price-revaluation.ts';
import type { StoredPriceTick } from '../src/market/price-tick.ts';
import { createDeltaCoalescer } from '../src/realtime/delta-coalescer.ts';
import { commandDeltaSender, scriptedDeltaSender } from '../src/realtime/delta-sender.ts';
import { createPortfolioSequence } from '../src/realtime/portfolio-sequence.ts';
import { realtimeKeys } from '../src/realtime/realtime-keys.ts';
import { createRoomEmitter } from '../src/realtime/room-emitter.ts';
import { fullRepricingTuple, PreparedRepricing, repricingOf, type HoldingRepricing, type PortfolioDelta } from '../src/realtime/events.ts';
import { mergeChange, toDelta } from '../src/realtime/pending-delta.ts';
import type { RedisClient } from '../src/runtime/redis-client.ts';
import { createRandom } from '../sandbox/market/seeded-random.ts';

const USERS = Number(process.env.BENCH_USERS ?? 10_000);
const HOLDINGS = Number(process.env.BENCH_HOLDINGS ?? 25);
const SECURITIES = Number(process.env.BENCH_SECURITIES ?? 5_000);
const WATCHED = Number(process.env.BENCH_WATCHED ?? 1_000);
const RATE = Number(process.env.BENCH_RATE ?? 5_000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const READ_MS = (process.env.BENCH_READ_MS ?? '100').split(',').map(Number);
const SENDINGS = (process.env.BENCH_SENDERS ?? 'commands,script').split(',') as Sending[];
const WINDOW_MS = Number(process.env.BENCH_WINDOW_MS ?? 100);
const REPEATS = Number(process.env.BENCH_REPEATS ?? 2);
const WRITE_DOCS = process.env.BENCH_WRITE !== '0';
/** BENCH_PROFILE_DIR: a profile of each reported run (BENCH_PROFILE_KIND: cpu, survivors or allocations; see bench/lib/step-profiler.ts). */
const PROFILE_DIR = process.env.BENCH_PROFILE_DIR;
const PROFILE_KIND = profileKind(process.env.BENCH_PROFILE_KIND);

for (const [name, value] of Object.entries({ USERS, HOLDINGS, SECURITIES, WATCHED, RATE, SECONDS, WINDOW_MS, REPEATS })) {
  if (!Number.isInteger(value) || value <= 0) throw new Error(`BENCH_${name} must be a positive integer, not ${String(value)}`);
}
if (READ_MS.some((ms) => !Number.isInteger(ms) || ms <= 0)) throw new Error(`BENCH_READ_MS must be positive integers, not ${process.env.BENCH_READ_MS}`);
if (SENDINGS.some((s) => s !== 'commands' && s !== 'script')) throw new Error(`BENCH_SENDERS must name commands or script, not ${process.env.BENCH_SENDERS}`);
if (HOLDINGS > SECURITIES) throw new Error('BENCH_HOLDINGS cannot exceed BENCH_SECURITIES');
if (WATCHED > USERS) throw new Error('BENCH_WATCHED cannot exceed BENCH_USERS');

/**
 * How deltas leave: `commands`, an INCR and a PUBLISH per delta (a worker on a Redis Cluster, and
 * every worker before issue 18's seventh pass); `script`, one script call per clock step (a worker
 * on a single Redis).
 */
type Sending = 'commands' | 'script';

interface Market {
  states: Map<string, UserPortfolioState>;
  holders: TickerHolders;
  prices: Float64Array;
  closes: Map<string, number>;
}

/** The portfolios as a worker holds them after loading: aggregated, priced, in the ticker index. */
function buildMarket(): Market {
  const rand = createRandom(42);
  const securities = syntheticSecurities(SECURITIES, rand);
  const closes = new Map(Array.from(securities.prices, (price, i) => [symbolOf(i), price]));
  const asOf = new Date().toISOString();
  const states = new Map<string, UserPortfolioState>();
  const holders = new TickerHolders();
  for (let u = 0; u < USERS; u++) {
    const state = syntheticPortfolio(`bench-user-${u}`, securities, HOLDINGS, rand, asOf);
    states.set(state.userId, state);
    holders.set(state.userId, state.tickers.keys());
  }
  holders.watch(Array.from({ length: WATCHED }, (_, u) => `bench-user-${u}`));
  return { states, holders, prices: securities.prices, closes };
}

/** A run's ticks, uniform over the securities, each a small move of its security's price. */
function ticksOf(market: Market, count: number, seed: number): StoredPriceTick[] {
  const rand = createRandom(seed);
  const ticks: StoredPriceTick[] = [];
  for (let i = 0; i < count; i++) {
    const s = Math.floor(rand() * SECURITIES);
    const price = Math.max(0.01, Math.round(market.prices[s]! * (1 + (rand() - 0.5) * 0.002) * 100) / 100);
    market.prices[s] = price;
    // `at` and `id` are set when the batch is handed over.
    ticks.push({ symbol: symbolOf(s), price, at: 0, size: 100, source: 'stream', shard: 0, id: '' });
  }
  return ticks;
}

/** The actor's `tell`, without the mailbox: the task runs at once on the user's state. */
function runOn(market: Market, userId: string, task: (state: UserPortfolioState) => void): boolean {
  const state = market.states.get(userId);
  if (!state) return false;
  task(state);
  return true;
}

interface VariantResult {
  readMs: number;
  sending: Sending;
  repeat: number;
  ticks: number;
  batches: number;
  tasks: number;
  deltas: number;
  repricings: number;
  cpuUsPerTick: number;
  cores: number;
  lateMs: number;
  gcMs: number;
  gcLongestMs: number;
}

async function runVariant(market: Market, redis: Redis, pauses: PauseMonitor, readMs: number, sending: Sending, repeat: number, seed: number, profileFile?: string): Promise<VariantResult> {
  const namespace = `bench-tick-path-${randomUUID().slice(0, 8)}`;
  const keys = realtimeKeys(namespace);
  const emitter = createRoomEmitter(redis, { namespace });
  const sender =
    sending === 'script'
      ? scriptedDeltaSender(redis, keys)
      : commandDeltaSender(createPortfolioSequence(redis, keys), (userId, delta) => emitter.delta(userId, delta));
  let deltas = 0;
  let repricings = 0;
  let failures = 0;
  const coalescer = createDeltaCoalescer({
    sender: {
      async send(outgoing) {
        const outcomes = await sender.send(outgoing);
        outgoing.forEach(({ pending }, i) => {
          if (typeof outcomes[i] !== 'number') failures++;
          deltas++;
          repricings += pending.onlyRepriced?.length ?? pending.repriced?.size ?? 0;
        });
        return outcomes;
      },
    },
    windowMs: WINDOW_MS,
  });
  const stats: Pick<PriceRevaluationStats, 'batches' | 'revaluations' | 'lastEntryMs'> = { batches: 0, revaluations: 0, lastEntryMs: 0 };
  const onBatch = createTickBatchHandler({
    runtime: { tell: (userId, task) => runOn(market, userId, task) },
    holders: market.holders,
    coalescer,
    revalue: revalueIncremental,
    stats,
    closes: market.closes,
    watchedOnly: true,
  });
  const ticks = ticksOf(market, RATE * SECONDS, seed);
  const perBatch = Math.max(1, Math.round((RATE * readMs) / 1000));
  global.gc?.();
  await sleep(200);
  if (profileFile) await startProfile(PROFILE_KIND);
  pauses.reset();
  const cpuBefore = process.cpuUsage();
  const started = Date.now();
  let lateMs = 0;
  let sequence = 0;
  for (let first = 0, batch = 0; first < ticks.length; first += perBatch, batch++) {
    const due = started + batch * readMs;
    const wait = due - Date.now();
    if (wait > 0) await sleep(wait);
    else {
      lateMs = -wait;
      // The worker's reader awaits each XREAD: timers (the coalescer's clock) and replies run between batches.
      await new Promise((resolve) => setImmediate(resolve));
    }
    const now = Date.now();
    const slice = ticks.slice(first, first + perBatch);
    // Spread over the interval before the read, as a stream's entries are.
    for (let i = 0; i < slice.length; i++) {
      const tick = slice[i]!;
      tick.at = now - readMs + Math.floor((readMs * i) / slice.length);
      tick.id = `${tick.at}-${sequence++}`;
    }
    onBatch(slice);
  }
  await coalescer.close();
  const cpu = process.cpuUsage(cpuBefore);
  const wallMs = Date.now() - started;
  const gc = pauses.read();
  if (profileFile) await stopProfile(profileFile);
  await deleteNamespace(redis, namespace);
  if (failures > 0) throw new Error(`${failures} deltas were not sent (${sending})`);
  const cpuUs = cpu.user + cpu.system;
  return {
    readMs,
    sending,
    repeat,
    ticks: ticks.length,
    batches: stats.batches,
    tasks: stats.revaluations,
    deltas,
    repricings,
    cpuUsPerTick: cpuUs / ticks.length,
    cores: cpuUs / 1000 / wallMs,
    lateMs,
    gcMs: gc.gcTotalMs,
    gcLongestMs: gc.gcMaxMs,
  };
}

interface Serialization {
  repricings: number;
  /** The wire's arrays, in the shortest form that says each repricing. */
  shortUs: number;
  /** Every repricing as the full 12-field array, as before the shorter forms. */
  fullUs: number;
  shortBytes: number;
  fullBytes: number;
}

/**
 * What publishing one delta costs this process in serialization, as the room emitter does it
 * (`realtimeAdapterParser` through the socket.io emitter, then the UTF-8 length and bytes the
 * Redis client writes), with its repricings as the wire's arrays (`toDelta`: the shortest form that
 * says each) and, as the baseline, every one as the full 12-field array, as they were before the
 * shorter forms: the same deltas, alternated in one loop. Deltas are made from
 * the harness's own repricings, so their figures have real lengths.
 */
async function measureSerialization(market: Market, repricingsPerDelta: number): Promise<Serialization> {
  const samples: HoldingRepricing[] = [];
  const onBatch = createTickBatchHandler({
    runtime: { tell: (userId, task) => runOn(market, userId, task) },
    holders: market.holders,
    coalescer: { push: (_userId, change) => void samples.push(...(change.repriced ?? []).map((r) => (r instanceof PreparedRepricing ? r.repricing() : r))) },
    revalue: revalueIncremental,
    stats: { batches: 0, revaluations: 0, lastEntryMs: 0 },
    closes: market.closes,
    watchedOnly: true,
  });
  const ticks = ticksOf(market, 2_000, 7);
  // All at this millisecond: a later time would make the runs' ticks older than these, and ignored.
  const now = Date.now();
  ticks.forEach((tick, i) => {
    tick.at = now;
    tick.id = `${now}-${i}`;
  });
  onBatch(ticks);
  const totals = { totalValue: '123456.78', cash: '1000', invested: '122456.78', costBasis: '100000', unrealizedPl: '22456.78', dayChange: '-123.4', holdingsCount: HOLDINGS, dayChangeHoldings: HOLDINGS };
  const deltas: PortfolioDelta[] = [];
  for (let i = 0; i + repricingsPerDelta <= samples.length && deltas.length < 200; i += repricingsPerDelta) {
    const pending = mergeChange(undefined, { totals, repriced: samples.slice(i, i + repricingsPerDelta) }, new Date().toISOString());
    deltas.push(toDelta(pending, deltas.length + 1));
  }
  if (deltas.length === 0) throw new Error('no repricings to serialize');
  const asFull = deltas.map((d) => ({ ...d, repriced: d.repriced.map((t) => fullRepricingTuple(repricingOf(t)!)) }));
  let bytes = 0;
  // The emitter's publish, to a client that only takes the message's UTF-8 length and bytes, as ioredis does.
  const counting = {
    publish(_channel: string, message: string): Promise<number> {
      bytes += Buffer.byteLength(message);
      Buffer.from(message);
      return Promise.resolve(1);
    },
  } as unknown as RedisClient;
  const emitter = createRoomEmitter(counting);
  const time = async (list: PortfolioDelta[]): Promise<{ us: number; bytes: number }> => {
    bytes = 0;
    const started = process.cpuUsage();
    for (let round = 0; round < 50; round++) for (let i = 0; i < list.length; i++) await emitter.delta(`bench-user-${i}`, list[i]!);
    const cpu = process.cpuUsage(started);
    return { us: (cpu.user + cpu.system) / (50 * list.length), bytes: bytes / (50 * list.length) };
  };
  let shortUs = 0;
  let fullUs = 0;
  let shortBytes = 0;
  let fullBytes = 0;
  for (let pass = 0; pass < 6; pass++) {
    const t = await time(deltas);
    const f = await time(asFull);
    // The first pass warms both up.
    if (pass === 0) continue;
    shortUs += t.us / 5;
    fullUs += f.us / 5;
    shortBytes = t.bytes;
    fullBytes = f.bytes;
  }
  return { repricings: repricingsPerDelta, shortUs, fullUs, shortBytes, fullBytes };
}

async function main(): Promise<void> {
  const log = pino({ level: process.env.LOG_LEVEL ?? 'warn' });
  const services = await startBenchServices(log);
  const redis = new Redis(services.redisUrl, { enableAutoPipelining: true });
  const loadAtStart = loadAverage();
  const pauses = createPauseMonitor();
  try {
    const builtAt = Date.now();
    const market = buildMarket();
    console.log(`built ${USERS} portfolios × ${HOLDINGS} holdings over ${SECURITIES} securities in ${((Date.now() - builtAt) / 1000).toFixed(1)} s`);
    // A warm-up of the first variant, not reported: the JIT and the heap settle.
    for (const sending of SENDINGS) await runVariant(market, redis, pauses, READ_MS[0]!, sending, 0, 1);
    const serialization = [await measureSerialization(market, 3), await measureSerialization(market, 10)];
    for (const row of serialization) console.log(JSON.stringify({ serialization: row }));
    const results: VariantResult[] = [];
    for (let repeat = 1; repeat <= REPEATS; repeat++) {
      for (const readMs of READ_MS) {
        for (const sending of SENDINGS) {
          const profileFile = PROFILE_DIR ? `${PROFILE_DIR}/tick-path-${readMs}ms-${sending}-${repeat}.${PROFILE_KIND === 'cpu' ? 'cpuprofile' : 'heapprofile'}` : undefined;
          const result = await runVariant(market, redis, pauses, readMs, sending, repeat, 1 + repeat * 100 + readMs, profileFile);
          results.push(result);
          console.log(JSON.stringify(result));
        }
      }
    }
    const lines = report(results, serialization, loadAtStart, loadAverage());
    console.log(lines.join('\n'));
    if (WRITE_DOCS) writeBenchmarkSection(lines);
  } finally {
    redis.disconnect();
    await services.stop();
  }
}

function report(results: VariantResult[], serialization: Serialization[], loadAtStart: string, loadAtEnd: string): string[] {
  const variants = READ_MS.flatMap((readMs) => SENDINGS.map((sending) => ({ readMs, sending })));
  const medianOf = (v: { readMs: number; sending: Sending }) => median(results.filter((r) => r.readMs === v.readMs && r.sending === v.sending).map((r) => r.cpuUsPerTick));
  const baseline = medianOf(variants[0]!);
  const rows = results.map(
    (r) =>
      `| ${r.readMs} ms | ${r.sending} | ${r.repeat} | ${r.ticks} | ${r.batches} | ${r.tasks} | ${r.deltas} | ${(r.repricings / Math.max(1, r.deltas)).toFixed(1)} | **${r.cpuUsPerTick.toFixed(1)}** | ${(r.cpuUsPerTick / baseline).toFixed(2)} | ${r.cores.toFixed(2)} | ${r.lateMs} ms | ${Math.round(r.gcMs)} ms | ${r.gcLongestMs.toFixed(1)} ms |`,
  );
  const medians = variants.map((v) => {
    const m = medianOf(v);
    return `read every ${v.readMs} ms, ${v.sending}: ${m.toFixed(1)} µs (${(m / baseline).toFixed(2)})`;
  });
  return [
    '## Live prices, the tick path with fixed work (bench:tick-path)',
    '',
    `Measured ${new Date().toISOString().slice(0, 10)} with \`npm run bench:tick-path\` (bench/tick-path.ts).`,
    '',
    `- Machine: ${machineDescription()}; load average ${loadAtStart} at the start, ${loadAtEnd} at the end.`,
    `- Workload: ${USERS} users × ${HOLDINGS} holdings over ${SECURITIES} securities, one USD account each, ${WATCHED} watched; uniform ticks at ${RATE}/s for ${SECONDS} s per run, in read batches every BENCH_READ_MS in real time; coalescing window ${WINDOW_MS} ms. Every tick is applied: the work is the same whatever the speed.`,
    "- What runs: the product's code from a read batch on (`createTickBatchHandler`, `revalueIncremental`, the delta coalescer and its sender on a real Redis), in one process; the price streams' reading and decoding and the actor mailbox are left out. Redis runs in its own process and is not counted.",
    "- Sending: `commands`, an INCR of the user's seq and a PUBLISH through the room emitter per delta (a worker on a Redis Cluster); `script`, one script call per step of the coalescer's clock that numbers and publishes the deltas of every user due on it (a worker on a single Redis). The variants alternate on the same portfolios.",
    '- µs per tick: CPU time of the process (every thread, GC included) from the first batch until the last delta is sent, ÷ ticks. Ratio: against the median of the first variant. Late: how far behind its schedule the last batch ran.',
    '',
    '| read every | sending | run | ticks | batches | actor tasks | deltas | repricings per delta | µs per tick | ratio | cores | late | GC time | longest GC pause |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...rows,
    '',
    `Median µs per tick: ${medians.join('; ')}.`,
    '',
    "Serializing one delta as the room emitter publishes it (the adapter parser's JSON, then the UTF-8 length and bytes the Redis client takes), with its repricings in the wire's shortest forms (one USD account each: 7 fields) against every one as the full 12-field array (the wire before issue 18's sixth pass), alternated in one loop over the same deltas:",
    '',
    '| repricings per delta | short: µs per delta | full: µs per delta | ratio | short: bytes | full: bytes | ratio |',
    '| ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...serialization.map(
      (r) =>
        `| ${r.repricings} | ${r.shortUs.toFixed(2)} | ${r.fullUs.toFixed(2)} | ${(r.shortUs / r.fullUs).toFixed(2)} | ${Math.round(r.shortBytes)} | ${Math.round(r.fullBytes)} | ${(r.shortBytes / r.fullBytes).toFixed(2)} |`,
    ),
    '',
  ];
}

await main();
