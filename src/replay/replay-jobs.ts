import { setTimeout as sleep } from 'node:timers/promises';
import { randomUUID } from 'node:crypto';
import { Queue, Worker, type Job } from 'bullmq';
import { createRedisClient, type RedisClient, type RedisTarget } from '../runtime/redis-client.ts';
import type { Knex } from '../db/knex.ts';
import type { Logger } from '../logging/logger.ts';
import { ENVELOPE_SCHEMA_VERSION, type Envelope } from '../../streams/envelope.ts';
import { partitionOf } from '../../streams/partition.ts';
import type { StreamProducer } from '../../streams/producer.ts';
import { ADMIN_REPLAY_EVENT, type AdminReplayPayload } from './admin-replay-event.ts';
import type { UserReplayReport } from './user-replay.ts';

/**
 * Admin replays as BullMQ jobs. `POST /api/admin/replays` adds one job; a worker process runs it:
 * it appends one `admin.replay` event per user to the users' partition streams (each user's actor
 * then replays, compares and repairs in order with the live events, and writes the report in its
 * commit) and follows the reports in `replay_reports` as progress. The job is resumable: a job
 * whose worker died is taken up again by BullMQ (stalled-job recovery), finds the events already
 * appended (its data says so) and the reports already committed, and waits for the rest. An
 * actor applies one event at a time, so one user's replays run one at a time, in order.
 */
export const REPLAY_QUEUE = 'admin-replays';

export interface ReplayRequest {
  users?: string[];
  all?: boolean;
  dryRun?: boolean;
  fromStart?: boolean;
}

export interface ReplayJobData {
  users: string[] | null;
  all: boolean;
  dryRun: boolean;
  fromStart: boolean;
  /** Set once every `admin.replay` event is in the streams. */
  appended?: boolean;
  /** The users the job covers, fixed at its first run (`all` resolves to every user then). */
  resolved?: string[];
}

export type ReplayState = 'queued' | 'running' | 'done' | 'failed';

export interface ReplaySummary {
  matched: number;
  differed: number;
  repaired: number;
}

export interface ReplayStatus {
  id: string;
  state: ReplayState;
  dryRun: boolean;
  fromStart: boolean;
  progress: { done: number; total: number };
  startedAt: string | null;
  finishedAt: string | null;
  error?: string;
  report: { users: UserReplayReport[]; matched: number; differed: number; repaired: number };
}

function connection(target: RedisTarget, name: string): RedisClient {
  const redis = createRedisClient(target, { name, maxRetriesPerRequest: null });
  redis.on('error', () => undefined);
  return redis;
}

const asState = (state: string): ReplayState | null =>
  state === 'completed' ? 'done' : state === 'failed' ? 'failed' : state === 'active' ? 'running' : state === 'unknown' ? null : 'queued';

/** Web side: starts replays and reads their status. */
export class ReplayJobs {
  readonly queue: Queue<ReplayJobData>;
  private readonly redis: RedisClient;

  constructor(private readonly options: { redisTarget: RedisTarget; prefix: string; db: Knex; log: Logger }) {
    this.redis = connection(options.redisTarget, 'foliostream-replay-queue');
    this.queue = new Queue<ReplayJobData>(REPLAY_QUEUE, {
      connection: this.redis,
      prefix: options.prefix,
      defaultJobOptions: { attempts: 3, backoff: { type: 'exponential', delay: 1_000 }, removeOnComplete: { count: 1_000 }, removeOnFail: { count: 1_000 } },
    });
    this.queue.on('error', (err) => options.log.warn({ err }, 'replay queue error'));
  }

  async start(request: ReplayRequest): Promise<{ id: string; state: ReplayState }> {
    const id = randomUUID();
    const data: ReplayJobData = {
      users: request.all ? null : [...new Set(request.users ?? [])],
      all: Boolean(request.all),
      dryRun: Boolean(request.dryRun),
      fromStart: Boolean(request.fromStart),
    };
    await this.queue.add('replay', data, { jobId: id });
    return { id, state: 'queued' };
  }

  async status(id: string): Promise<ReplayStatus | null> {
    const job = await this.queue.getJob(id);
    if (!job) return null;
    const state = asState(await job.getState());
    if (!state) return null;
    const total = job.data.resolved?.length ?? job.data.users?.length ?? 0;
    const report = await readReport(this.options.db, id);
    return {
      id,
      state,
      dryRun: job.data.dryRun,
      fromStart: job.data.fromStart,
      progress: { done: report.matched + report.differed, total },
      startedAt: job.processedOn ? new Date(job.processedOn).toISOString() : null,
      finishedAt: job.finishedOn ? new Date(job.finishedOn).toISOString() : null,
      ...(state === 'failed' && job.failedReason ? { error: job.failedReason } : {}),
      report,
    };
  }

  async close(): Promise<void> {
    await this.queue.close();
    this.redis.disconnect();
  }
}

/** The reports committed so far for a replay: every user that differed, counts for the rest. */
export async function readReport(db: Knex, replayId: string): Promise<ReplayStatus['report']> {
  const counts = (await db('replay_reports')
    .where({ replay_id: replayId })
    .select(db.raw('count(*) FILTER (WHERE NOT differed) AS matched'), db.raw('count(*) FILTER (WHERE differed) AS differed'), db.raw('count(*) FILTER (WHERE repaired) AS repaired'))
    .first()) as { matched: string | number; differed: string | number; repaired: string | number };
  const rows = await db('replay_reports').where({ replay_id: replayId, differed: true }).orderBy('user_id').select('report');
  return {
    users: rows.map((r) => r.report as UserReplayReport),
    matched: Number(counts.matched),
    differed: Number(counts.differed),
    repaired: Number(counts.repaired),
  };
}

export interface ReplayWorkerOptions {
  redisTarget: RedisTarget;
  prefix: string;
  db: Knex;
  producer: StreamProducer;
  partitionCount: number;
  log: Logger;
  /** How often the job looks for new reports. */
  pollMs: number;
  /** The job fails when no user's report arrives for this long (no worker owns their partition?). */
  stallTimeoutMs: number;
  /** BullMQ's job lock and stalled-job check: a job whose process died runs again after about this long (default 30 s). */
  lockDurationMs?: number;
}

export function replayEnvelope(userId: string, partitionCount: number, payload: AdminReplayPayload): Envelope<AdminReplayPayload> {
  return {
    id: `replay:${payload.replayId}:${userId}`,
    type: ADMIN_REPLAY_EVENT,
    user: userId,
    partition: partitionOf(userId, partitionCount),
    time: new Date().toISOString(),
    schema: ENVELOPE_SCHEMA_VERSION,
    payload,
  };
}

/**
 * Asks every user's actor to replay (appends the events, in pipelined batches) and waits until
 * each has committed a report. `onProgress` gets (done, total) whenever `done` moves.
 */
export async function runReplay(
  deps: { db: Knex; producer: StreamProducer; partitionCount: number; pollMs: number; stallTimeoutMs: number },
  replayId: string,
  users: readonly string[],
  options: { dryRun: boolean; fromStart: boolean; alreadyAppended: boolean; appended?: () => Promise<void> },
  onProgress: (done: number, total: number) => Promise<void> | void,
): Promise<ReplaySummary> {
  if (!options.alreadyAppended) {
    await deps.db('replay_reports').where('created_at', '<', deps.db.raw(`now() - interval '7 days'`)).delete();
    const payload = { replayId, dryRun: options.dryRun, fromStart: options.fromStart };
    for (let i = 0; i < users.length; i += 500) {
      await deps.producer.appendMany(users.slice(i, i + 500).map((u) => replayEnvelope(u, deps.partitionCount, payload)));
    }
    await options.appended?.();
  }
  let done = -1;
  let movedAt = Date.now();
  for (;;) {
    const report = await readReport(deps.db, replayId);
    const now = report.matched + report.differed;
    if (now !== done) {
      done = now;
      movedAt = Date.now();
      await onProgress(done, users.length);
    }
    if (done >= users.length) return { matched: report.matched, differed: report.differed, repaired: report.repaired };
    if (Date.now() - movedAt > deps.stallTimeoutMs) {
      throw new Error(`no replay report for ${Math.round(deps.stallTimeoutMs / 1000)} s (${done} of ${users.length} done): is a worker running for every partition?`);
    }
    await sleep(deps.pollMs);
  }
}

/** Worker side: runs replay jobs one at a time. */
export class ReplayWorker {
  private readonly worker: Worker<ReplayJobData, ReplaySummary>;
  private readonly connection: RedisClient;

  constructor(private readonly options: ReplayWorkerOptions) {
    // Our own connection, as the sync worker has: a worker that made its own from options never
    // finished close() after Redis had restarted under it, and held shutdown for the whole grace.
    this.connection = connection(options.redisTarget, 'foliostream-replay-worker');
    this.worker = new Worker<ReplayJobData, ReplaySummary>(REPLAY_QUEUE, (job) => this.process(job), {
      connection: this.connection,
      prefix: options.prefix,
      concurrency: 1,
      ...(options.lockDurationMs ? { lockDuration: options.lockDurationMs, stalledInterval: options.lockDurationMs } : {}),
    });
    this.worker.on('error', (err) => options.log.warn({ err }, 'replay worker error'));
  }

  private async process(job: Job<ReplayJobData, ReplaySummary>): Promise<ReplaySummary> {
    const { db, log } = this.options;
    let users = job.data.resolved;
    if (!users) {
      users = job.data.all ? ((await db('users').orderBy('id').pluck('id')) as string[]) : (job.data.users ?? []);
      await job.updateData({ ...job.data, resolved: users });
    }
    log.info({ replayId: job.id, users: users.length, dryRun: job.data.dryRun, resumed: Boolean(job.data.appended) }, 'replay running');
    const summary = await runReplay(
      this.options,
      job.id!,
      users,
      {
        dryRun: job.data.dryRun,
        fromStart: job.data.fromStart,
        alreadyAppended: Boolean(job.data.appended),
        appended: () => job.updateData({ ...job.data, resolved: users, appended: true }),
      },
      (done, total) => job.updateProgress({ done, total }),
    );
    log.info({ replayId: job.id, ...summary }, 'replay done');
    return summary;
  }

  /** `force`: without waiting for the running job (it stays locked until its lock expires). */
  async close(force = false): Promise<void> {
    await this.worker.close(force);
    this.connection.disconnect();
  }
}
