import { Queue, Worker, type Job } from 'bullmq';
import { createRedisClient, type RedisClient, type RedisTarget } from '../runtime/redis-client.ts';
import { readPortfolio } from '../../actors/portfolio/portfolio-read-model.ts';
import type { StreamKeys } from '../../streams/keys.ts';
import type { Knex } from '../db/knex.ts';
import type { Logger } from '../logging/logger.ts';
import { pruneIntradayPoints, writeAccountDailyCloses, writeDailyCloses, type AccountValueRow, type ValueRow } from './value-history-store.ts';
import { accountValues } from './account-values.ts';

/**
 * The daily close: once per market day a BullMQ job scheduler (`HISTORY_DAILY_CLOSE_CRON`, UTC)
 * starts a `daily-close` job, which pages through every user (keyset on the id) and adds one
 * `daily-close-chunk` job per `chunkUsers` users, each delayed `chunkSpacingMs` after the one
 * before, so the reads spread over time like the nightly sync's (the job calls no brokerage: its
 * cost is Postgres reads, one portfolio load per user, and the chunks keep that a steady trickle
 * rather than a spike). A chunk values each of its users as `GET /api/portfolio` does (committed
 * rows and the last prices) and upserts the day's row. The fan-out job then prunes the intraday
 * points (retention and thinning). Rerunning a day overwrites that day's rows.
 */
export const HISTORY_QUEUE = 'history';

export type HistoryJob =
  | { kind: 'daily-close'; day?: string }
  | { kind: 'daily-close-chunk'; day: string; userIds: string[] };

export interface HistoryJobsOptions {
  redisTarget: RedisTarget;
  prefix: string;
  db: Knex;
  redis: RedisClient;
  keys: StreamKeys;
  log: Logger;
  /** Users per chunk job. @default 200 */
  chunkUsers?: number;
  /** Delay between consecutive chunk jobs. @default 2000 */
  chunkSpacingMs?: number;
  /** Intraday points kept, in days. @default 8 */
  intradayRetentionDays?: number;
  /** Chunks valued at once by this worker. @default 2 */
  concurrency?: number;
}

/** The New York market date of an instant (YYYY-MM-DD). */
export function marketDay(at: Date): string {
  return new Intl.DateTimeFormat('en-CA', { timeZone: 'America/New_York', year: 'numeric', month: '2-digit', day: '2-digit' }).format(at);
}

export class HistoryJobs {
  readonly queue: Queue<HistoryJob>;
  private worker: Worker<HistoryJob, number> | undefined;
  private readonly connection: RedisClient;
  private workerConnection: RedisClient | undefined;

  constructor(private readonly options: HistoryJobsOptions) {
    this.connection = createRedisClient(options.redisTarget, { name: 'foliostream-history-queue' });
    this.connection.on('error', () => undefined);
    this.queue = new Queue<HistoryJob>(HISTORY_QUEUE, {
      connection: this.connection,
      prefix: options.prefix,
      defaultJobOptions: {
        attempts: 5,
        backoff: { type: 'exponential', delay: 5_000 },
        removeOnComplete: { age: 24 * 3600, count: 1_000 },
        removeOnFail: { age: 7 * 24 * 3600, count: 1_000 },
      },
    });
    this.queue.on('error', (err) => options.log.warn({ err }, 'history queue error'));
  }

  /** The daily scheduler (idempotent: every worker may install it). */
  async installSchedule(pattern: string): Promise<void> {
    await this.queue.upsertJobScheduler('daily-close', { pattern, tz: 'UTC' }, { name: 'daily-close', data: { kind: 'daily-close' } });
  }

  /** Runs the daily close now (for `day`, default the current market day). */
  async runDailyClose(day?: string): Promise<string | undefined> {
    const job = await this.queue.add('daily-close', { kind: 'daily-close', ...(day ? { day } : {}) });
    return job.id;
  }

  /** Starts processing this queue's jobs in this process. */
  startWorker(): void {
    this.workerConnection = createRedisClient(this.options.redisTarget, { name: 'foliostream-history-worker', maxRetriesPerRequest: null });
    this.workerConnection.on('error', () => undefined);
    this.worker = new Worker<HistoryJob, number>(HISTORY_QUEUE, (job) => this.process(job), {
      connection: this.workerConnection,
      prefix: this.options.prefix,
      concurrency: this.options.concurrency ?? 2,
    });
    this.worker.on('error', (err) => this.options.log.warn({ err }, 'history worker error'));
  }

  private async process(job: Job<HistoryJob>): Promise<number> {
    const data = job.data;
    if (data.kind === 'daily-close') return this.fanOut(data.day ?? marketDay(new Date()));
    return this.closeUsers(data.day, data.userIds);
  }

  private async fanOut(day: string): Promise<number> {
    const { db, log } = this.options;
    const chunkUsers = this.options.chunkUsers ?? 200;
    const spacing = this.options.chunkSpacingMs ?? 2_000;
    let after = '';
    let chunks = 0;
    let users = 0;
    for (;;) {
      const ids = (await db('users').where('id', '>', after).orderBy('id').limit(chunkUsers).pluck('id')) as string[];
      if (ids.length === 0) break;
      // A fixed job id per (day, chunk start): a retried fan-out adds no second copy.
      await this.queue.add(
        'daily-close-chunk',
        { kind: 'daily-close-chunk', day, userIds: ids },
        { delay: chunks * spacing, jobId: `daily-close:${day}:${ids[0]}` },
      );
      chunks++;
      users += ids.length;
      after = ids[ids.length - 1]!;
    }
    const pruned = await pruneIntradayPoints(db, new Date(), this.options.intradayRetentionDays ?? 8);
    log.info({ day, users, chunks, spreadSeconds: Math.round((chunks * spacing) / 1000), prunedIntradayPoints: pruned }, 'daily close planned');
    return users;
  }

  /** Values each user and writes the day's close (the portfolio's and each account's); returns the users written. */
  async closeUsers(day: string, userIds: readonly string[]): Promise<number> {
    const { db, redis, keys } = this.options;
    const rows: ValueRow[] = [];
    const accountRows: AccountValueRow[] = [];
    for (const userId of userIds) {
      const exists = await db('users').where({ id: userId }).first('id');
      if (!exists) continue;
      const { totals, snapshot } = await readPortfolio(db, redis, keys, userId);
      const at = new Date();
      rows.push({ userId, at, totals });
      // Each account's value too (an account with a part that could not be valued gets no point).
      for (const [accountId, value] of accountValues(snapshot)) {
        if (value !== null) accountRows.push({ userId, accountId, baseCurrency: snapshot.baseCurrency, value, at });
      }
    }
    await writeDailyCloses(db, day, rows);
    await writeAccountDailyCloses(db, day, accountRows);
    return rows.length;
  }

  async close(): Promise<void> {
    await this.worker?.close();
    await this.queue.close();
    this.workerConnection?.disconnect();
    this.connection.disconnect();
  }
}
