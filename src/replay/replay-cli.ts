import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import cliProgress from 'cli-progress';
import Table from 'cli-table3';
import { loadConfig } from '../config/config.ts';
import { createLogger } from '../logging/logger.ts';
import { createContext } from '../runtime/context.ts';
import { createStreamProducer } from '../../streams/producer.ts';
import { diffCount, type PortfolioDiff } from './portfolio-diff.ts';
import { readReport, runReplay } from './replay-jobs.ts';
import { dryRunUsers, type UserReplayReport } from './user-replay.ts';
import { redisTarget } from '../runtime/redis-client.ts';

/**
 * `npm run replay -- --user <id> [--user <id>...] | --all [--dry-run] [--from-start] [--threads <n>]`
 *
 * Rebuilds users from their partition streams with the actor's pure fold and compares with the
 * live rows in Postgres (`REDIS_URL`, `DATABASE_URL`; `NAMESPACE` when the engine uses another
 * key namespace than `fs`).
 * - `--dry-run` needs only Redis and Postgres: each user's checkpoint and rows are read in one
 *   repeatable-read snapshot and the stream is folded up to that checkpoint, beside live traffic.
 *   The folds run in `--threads` worker threads (default `REPLAY_THREADS`).
 * - Without it, the repair goes through the engine: one `admin.replay` event per user, applied by
 *   the user's actor in order with their live events, which repairs in its fenced commit and
 *   writes the report; a worker must own every partition (`npm start`, or the `worker` role).
 *
 * Exit code: 0 when nothing differed, 1 when differences were found (repaired unless
 * `--dry-run`), 2 on an error (bad arguments, unreachable services, a stalled replay).
 */
const USAGE = 'usage: npm run replay -- --user <id> [--user <id>...] | --all [--dry-run] [--from-start] [--threads <n>] [--stall-timeout-ms <ms>]';

function fail(message: string): never {
  console.error(message);
  process.exit(2);
}

let args: ReturnType<typeof parse>;
function parse() {
  return parseArgs({
    options: {
      user: { type: 'string', multiple: true },
      all: { type: 'boolean', default: false },
      'dry-run': { type: 'boolean', default: false },
      'from-start': { type: 'boolean', default: false },
      'stall-timeout-ms': { type: 'string' },
      threads: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  }).values;
}
try {
  args = parse();
} catch (err) {
  fail(`${(err as Error).message}\n${USAGE}`);
}
if (args.help) {
  console.log(USAGE);
  process.exit(0);
}
const named = args.user ?? [];
if ((named.length > 0) === args.all) fail(`give --user <id> (one or more) or --all, not both\n${USAGE}`);
const stallTimeoutMs = args['stall-timeout-ms'] === undefined ? undefined : Number(args['stall-timeout-ms']);
if (stallTimeoutMs !== undefined && !(Number.isInteger(stallTimeoutMs) && stallTimeoutMs > 0)) fail('--stall-timeout-ms: a whole number of milliseconds');
const threadsFlag = args.threads === undefined ? undefined : Number(args.threads);
if (threadsFlag !== undefined && !(Number.isInteger(threadsFlag) && threadsFlag >= 1)) fail('--threads: a whole number of worker threads, at least 1');

let config: ReturnType<typeof loadConfig>;
try {
  config = loadConfig();
} catch (err) {
  fail((err as Error).message);
}
if (!(config.REDIS_URL || config.REDIS_NODES?.length) || !config.DATABASE_URL) fail('REDIS_URL (or REDIS_NODES) and DATABASE_URL must name the engine\'s Redis and Postgres');
const target = redisTarget(config.REDIS_URL ?? config.REDIS_NODES?.[0] ?? '', config);
const log = createLogger('replay');
const ctx = createContext({ config, redisTarget: target, databaseUrl: config.DATABASE_URL, namespace: process.env.NAMESPACE || undefined, log });

/**
 * Below this many users a dry run stays on the calling thread unless `--threads` asks: starting
 * the threads (about 1 s for two) costs what they save. bench:replay on a quiet machine: 2,000
 * users came out even or slower in threads; the 10,000 users' rebuild, 1.5 times faster in two.
 */
const THREADS_FROM_USERS = 5_000;

/** No colours: the tables are read by people and scripts alike. */
const PLAIN = { head: [], border: [] };

const counts = (diff: PortfolioDiff, part: keyof PortfolioDiff) => `+${diff[part].added.length} -${diff[part].removed.length} ~${diff[part].changed.length}`;

async function main(): Promise<number> {
  const dryRun = args['dry-run'];
  const fromStart = args['from-start'];
  const users = args.all ? ((await ctx.db('users').orderBy('id').pluck('id')) as string[]) : [...new Set(named)];
  const bar = new cliProgress.SingleBar(
    { format: ' {bar} {percentage}% | {value}/{total} users | {rate} users/s | ETA {eta_formatted}', hideCursor: true, etaBuffer: 50 },
    cliProgress.Presets.shades_classic,
  );
  const started = Date.now();
  const rate = (done: number) => (done / Math.max(0.001, (Date.now() - started) / 1000)).toFixed(1);
  bar.start(users.length, 0, { rate: '0.0' });
  let reports: UserReplayReport[];
  let summary: { matched: number; differed: number; repaired: number };
  try {
    if (dryRun) {
      reports = [];
      let done = 0;
      await dryRunUsers(
        ctx.db,
        ctx.redis,
        ctx.keys,
        config.PARTITION_COUNT,
        users,
        fromStart,
        (report) => {
          if (report.differed) reports.push(report);
          done++;
          bar.update(done, { rate: rate(done) });
        },
        threadsFlag !== undefined || users.length >= THREADS_FROM_USERS ? { threads: threadsFlag ?? config.REPLAY_THREADS, redisTarget: target } : undefined,
      );
      summary = { matched: users.length - reports.length, differed: reports.length, repaired: 0 };
    } else {
      const replayId = randomUUID();
      summary = await runReplay(
        {
          db: ctx.db,
          producer: createStreamProducer(ctx.redis, ctx.keys),
          partitionCount: config.PARTITION_COUNT,
          pollMs: 200,
          stallTimeoutMs: stallTimeoutMs ?? config.REPLAY_STALL_TIMEOUT_MS,
        },
        replayId,
        users,
        { dryRun: false, fromStart, alreadyAppended: false },
        (done) => bar.update(done, { rate: rate(done) }),
      );
      reports = (await readReport(ctx.db, replayId)).users;
    }
  } finally {
    bar.stop();
  }
  reports.sort((a, b) => (a.userId < b.userId ? -1 : 1));
  if (reports.length) {
    const table = new Table({ head: ['user', 'holdings', 'accounts', 'connections', 'orders', 'events', 'from', 'repaired'], style: PLAIN });
    for (const r of reports) {
      table.push([r.userId, counts(r.differences, 'holdings'), counts(r.differences, 'accounts'), counts(r.differences, 'connections'), counts(r.differences, 'orders'), r.eventsReplayed, r.fromSnapshot ? `snapshot ${r.fromSnapshot}` : 'start', r.repaired ? 'yes' : 'no']);
    }
    console.log(table.toString());
    for (const r of reports) {
      for (const part of ['holdings', 'accounts', 'connections', 'orders', 'settings'] as const) {
        const d = r.differences[part];
        // Reports written before settings were compared have none.
        if (!d) continue;
        for (const a of d.added) console.log(`${r.userId} ${part} added ${a.key}: ${JSON.stringify(a.rebuilt)}`);
        for (const x of d.removed) console.log(`${r.userId} ${part} removed ${x.key}: ${JSON.stringify(x.live)}`);
        for (const c of d.changed) for (const f of c.fields) console.log(`${r.userId} ${part} changed ${c.key} ${f.field}: live ${JSON.stringify(f.live)}, rebuilt ${JSON.stringify(f.rebuilt)}`);
      }
      if (diffCount(r.differences) === 0 && r.skipped.length) console.log(`${r.userId}: ${r.skipped.length} event(s) skipped`);
    }
  }
  const totals = new Table({ head: ['users', 'matched', 'differed', 'repaired', 'seconds'], style: PLAIN });
  totals.push([users.length, summary.matched, summary.differed, summary.repaired, ((Date.now() - started) / 1000).toFixed(1)]);
  console.log(totals.toString());
  return summary.differed > 0 ? 1 : 0;
}

let code = 2;
try {
  code = await main();
} catch (err) {
  console.error(`replay failed: ${(err as Error).message}`);
  code = 2;
} finally {
  await ctx.close();
}
process.exit(code);
