/**
 * `npm run bench:history`: the daily-close job and the history query at scale.
 *
 * - Postgres and Redis from DATABASE_URL / REDIS_URL, or throwaway servers started here.
 * - Workload: BENCH_USERS (10,000) users, each with a SnapTrade-like account of four US positions
 *   (last prices and previous closes in Redis), and BENCH_DAYS (365) daily closes each in
 *   `portfolio_daily_closes` (3.65 M rows, inserted by one INSERT ... SELECT, not timed), plus a
 *   day of intraday points for 1,000 of them (390 a user).
 * - Daily close: `HistoryJobs.closeUsers` over every user in chunks of HISTORY_CHUNK_USERS (200),
 *   as the chunk jobs run them (without the spacing between chunks, which only spreads the load):
 *   each user valued as `GET /api/portfolio` does, the day's rows upserted.
 * - History query: `readHistory(range=1Y)` for BENCH_QUERIES (2,000) random users, one after the
 *   other; latencies p50/p99. Baselines in the same run: `SELECT 1` round trips, and range=1M.
 *
 * BENCH_WRITE=0 to skip updating docs/BENCHMARKS.md.
 */
import { cpus, loadavg, totalmem } from 'node:os';
import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import pino from 'pino';
import { deleteNamespace, freshDatabase, startBenchServices, writeBenchmarkSection } from './lib/bench-support.ts';
import { HistoryJobs, marketDay } from '../src/history/daily-close-jobs.ts';
import type { HistoryRange } from '../src/history/history-range.ts';
import { readHistory } from '../src/history/value-history-store.ts';
import { setRootLogger } from '../src/logging/logger.ts';
import { encodePreviousClose } from '../src/market/previous-closes.ts';
import { encodeLastPrice } from '../src/market/price-tick.ts';
import { streamKeys } from '../streams/keys.ts';
import { singleRedis } from '../src/runtime/redis-client.ts';

const USERS = Number(process.env.BENCH_USERS ?? 10_000);
const DAYS = Number(process.env.BENCH_DAYS ?? 365);
const QUERIES = Number(process.env.BENCH_QUERIES ?? 2_000);
const CHUNK = Number(process.env.HISTORY_CHUNK_USERS ?? 200);
const WRITE_DOCS = process.env.BENCH_WRITE !== '0';
const TARGET_P99_MS = 20;

setRootLogger(pino({ level: process.env.LOG_LEVEL ?? 'warn' }));
const log = pino({ level: 'warn' });

const SECURITIES = [
  ['AAPL', 'BBG000B9XRY4', 'XNAS', 190.5, 188.25],
  ['MSFT', 'BBG000BPH459', 'XNAS', 410.2, 405.1],
  ['SPY', 'BBG000BDTBL9', 'ARCX', 520.35, 518.9],
  ['NVDA', 'BBG000BBJQV0', 'XNAS', 120.75, 123.4],
] as const;

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

async function latencies(runs: number, call: (i: number) => Promise<unknown>): Promise<{ p50: number; p99: number; max: number }> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    await call(i);
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  return { p50: percentile(times, 50), p99: percentile(times, 99), max: times[times.length - 1]! };
}

async function main(): Promise<void> {
  const loadStart = loadavg().map((l) => l.toFixed(2)).join(' ');
  const services = await startBenchServices(log);
  const db = await freshDatabase(services.databaseUrl, { prefix: 'bench_history', poolMax: 8 });
  const namespace = `bench-history-${process.pid}`;
  const keys = streamKeys(namespace);
  const redis = new Redis(services.redisUrl, { maxRetriesPerRequest: 3 });
  const jobs = new HistoryJobs({ redisTarget: singleRedis(services.redisUrl), prefix: `{${namespace}-bull}`, db: db.knex, redis, keys, log });
  try {
    const knex = db.knex;
    const now = new Date();
    const seedStarted = performance.now();
    for (const [ticker, figi, mic, price, close] of SECURITIES) {
      await knex('securities').insert({ identity_key: `figi:${figi}`, figi, ticker, exchange_mic: mic, currency: 'USD', description: ticker, security_type: 'cs' });
      await redis.hset(keys.lastPrices(), ticker, encodeLastPrice(price, now.getTime() - 1000, 'stream'));
      await redis.hset(keys.previousCloses(), ticker, encodePreviousClose(close, now.getTime() - 86_400_000));
    }
    await knex.raw(`INSERT INTO users (id) SELECT 'user-' || lpad(i::text, 6, '0') FROM generate_series(1, ?) i`, [USERS]);
    await knex.raw(
      `INSERT INTO brokerage_connections (user_id, provider, external_id, brokerage_name)
       SELECT id, 'snaptrade', 'auth-' || id, 'Questrade' FROM users`,
    );
    await knex.raw(
      `INSERT INTO accounts (user_id, connection_id, provider, external_id, name, institution_name, currency, positions_as_of)
       SELECT user_id, id, 'snaptrade', 'acct-' || user_id, 'Margin', 'Questrade', 'USD', now() - interval '1 hour' FROM brokerage_connections`,
    );
    await knex.raw(
      `INSERT INTO account_positions (account_id, user_id, security_id, quantity, average_cost, currency, as_of)
       SELECT a.id, a.user_id, s.id, 1 + (abs(hashtext(a.user_id || s.ticker)) % 50), 100, 'USD', now() - interval '1 hour'
         FROM accounts a CROSS JOIN securities s`,
    );
    await knex.raw(
      `INSERT INTO portfolio_daily_closes (user_id, day, base_currency, total_value, cash_value, invested_value, cost_basis, unrealized_pl, day_change, holdings_count, day_change_holdings, taken_at)
       SELECT u.id, d::date, 'USD', 10000 + (abs(hashtext(u.id)) % 5000) + g, 500, 9500 + g, 8000, 1500 + g, 12.5, 4, 4, d + interval '21 hours 30 minutes'
         FROM users u CROSS JOIN generate_series(current_date - ?::int, current_date - 1, interval '1 day') WITH ORDINALITY AS s(d, g)`,
      [DAYS],
    );
    await knex.raw(
      `INSERT INTO portfolio_snapshots (user_id, taken_at, base_currency, total_value, cash_value, invested_value, cost_basis, unrealized_pl, day_change)
       SELECT u.id, date_trunc('minute', now()) - (m * interval '1 minute'), 'USD', 10000 + m, 500, 9500 + m, 8000, 1500, 12.5
         FROM (SELECT id FROM users ORDER BY id LIMIT 1000) u CROSS JOIN generate_series(0, 389) m`,
    );
    // What autovacuum does after bulk inserts (insert-triggered since PostgreSQL 13): sets the visibility map the index-only scans need.
    await knex.raw('VACUUM ANALYZE');
    const seedSeconds = (performance.now() - seedStarted) / 1000;
    const closeRows = Number((await knex('portfolio_daily_closes').count<{ count: string }[]>('* as count'))[0]!.count);

    // The daily close for today, every user, chunk by chunk as the jobs run them.
    const ids = (await knex('users').orderBy('id').pluck('id')) as string[];
    const day = marketDay(now);
    const jobStarted = performance.now();
    let written = 0;
    for (let i = 0; i < ids.length; i += CHUNK) written += await jobs.closeUsers(day, ids.slice(i, i + CHUNK));
    const jobSeconds = (performance.now() - jobStarted) / 1000;
    if (written !== USERS) throw new Error(`the daily close wrote ${written} rows, not ${USERS}`);
    const sample = await knex('portfolio_daily_closes').where({ user_id: ids[0], day }).first();
    if (!sample || Number(sample.holdings_count) !== 4 || Number(sample.day_change_holdings) !== 4) throw new Error('the daily close valued the user wrongly');

    // The history query.
    const userAt = (i: number) => ids[(i * 7919) % ids.length]!;
    const query = (range: HistoryRange) => async (i: number) => {
      const points = await readHistory(knex, userAt(i), range, 'USD', now);
      if (range === '1Y' && points.length < 300) throw new Error(`1Y returned ${points.length} points`);
    };
    await latencies(200, query('1Y')); // warm-up
    const roundTrip = await latencies(QUERIES, () => knex.raw('SELECT 1'));
    const month = await latencies(QUERIES, query('1M'));
    const year = await latencies(QUERIES, query('1Y'));
    const dayRange = await latencies(Math.min(QUERIES, 1000), (i) => readHistory(knex, ids[i % 1000]!, '1W', 'USD', now));

    const ms = (v: number) => `${v.toFixed(2)} ms`;
    const cpu = cpus();
    const machine = `${cpu.length} CPUs (${cpu[0]?.model.trim() ?? 'unknown'}), ${(totalmem() / 2 ** 30).toFixed(1)} GiB memory, Node ${process.version}`;
    const lines = [
      '## Value history (bench:history)',
      '',
      `Run ${now.toISOString().slice(0, 16).replace('T', ' ')} UTC with \`npm run bench:history\`. Machine: ${machine}; PostgreSQL ${db.version} and Redis on the same machine (${services.source.postgres === 'environment' ? 'from DATABASE_URL' : 'started by the benchmark'}). Load average (1, 5, 15 min) at the start ${loadStart}, at the end ${loadavg().map((l) => l.toFixed(2)).join(' ')} (the machine is shared).`,
      '',
      `Workload: ${USERS.toLocaleString('en-US')} users with four US positions each, ${closeRows.toLocaleString('en-US')} daily closes (${DAYS} days a user) and a day of minute points for 1,000 users; seeded in ${seedSeconds.toFixed(1)} s (not timed below).`,
      '',
      '| what | result |',
      '| --- | --- |',
      `| daily close of every user (\`closeUsers\`, chunks of ${CHUNK}, one after the other) | ${jobSeconds.toFixed(1)} s, ${Math.round(USERS / jobSeconds).toLocaleString('en-US')} users/s |`,
      `| baseline: \`SELECT 1\` round trip, p50 / p99 | ${ms(roundTrip.p50)} / ${ms(roundTrip.p99)} |`,
      `| history range=1M (about 30 closes), p50 / p99 | ${ms(month.p50)} / ${ms(month.p99)} |`,
      `| **history range=1Y (${DAYS} closes), p50 / p99 / max** | **${ms(year.p50)} / ${ms(year.p99)}** / ${ms(year.max)} (target p99 < ${TARGET_P99_MS} ms: ${year.p99 < TARGET_P99_MS ? 'met' : 'missed'}) |`,
      `| history range=1W (390 minute points in 30-minute buckets), p50 / p99 | ${ms(dayRange.p50)} / ${ms(dayRange.p99)} |`,
      '',
      `The job's budget: it calls no brokerage, so its cost is Postgres reads (one portfolio load per user) on the worker that runs a chunk. With the defaults (chunks of 200 spaced 2 s apart) the ${USERS.toLocaleString('en-US')} users are planned over ${Math.ceil(USERS / CHUNK) * 2} s, longer than the ${jobSeconds.toFixed(0)} s of work measured here, so the chunks trickle rather than pile up. ${QUERIES.toLocaleString('en-US')} queries each, one at a time, over random users; a 1Y read is one index-only range scan of the (user_id, day) primary key, which includes the values.`,
    ];
    console.log(lines.join('\n'));
    if (WRITE_DOCS) writeBenchmarkSection(lines);
  } finally {
    await jobs.close();
    await deleteNamespace(redis, namespace);
    redis.disconnect();
    await db.drop();
    await services.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
