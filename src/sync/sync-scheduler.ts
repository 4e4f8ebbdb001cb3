import { Queue, type JobsOptions } from 'bullmq';
import { createRedisClient, type RedisClient, type RedisTarget } from '../runtime/redis-client.ts';
import { createLogger, type Logger } from '../logging/logger.ts';
import type { ProviderName } from '../providers/provider-error.ts';
import {
  accountDedupeId,
  activitiesDedupeId,
  SYNC_QUEUE,
  userDedupeId,
  type AccountSyncJob,
  type ActivitiesSyncJob,
  type SyncJob,
  type UserSyncJob,
} from './sync-jobs.ts';

export interface SyncSchedulerOptions {
  redisTarget: RedisTarget;
  /** BullMQ key prefix; carries a hash tag so a queue's keys share a Redis Cluster slot. */
  prefix: string;
  /** Debounce window: adds for the same account within it collapse into one job. */
  debounceMs: number;
  attempts?: number;
  /** Where the queue's errors go (a Redis outage: one line per window, see `repeat-limiter.ts`). */
  log?: Logger;
}

/**
 * Adds sync jobs. Account syncs are *debounced*: BullMQ deduplication with `extend` and
 * `replace` plus a `delay` keeps one delayed job per account and pushes it back on every add,
 * so a burst of webhooks ends in one sync, run `debounceMs` after the last of them.
 */
export class SyncScheduler {
  readonly queue: Queue<SyncJob>;
  private readonly connection: RedisClient;

  constructor(private readonly options: SyncSchedulerOptions) {
    // Adds fail fast while Redis is down instead of queueing in memory.
    this.connection = createRedisClient(options.redisTarget, { name: 'foliostream-sync-scheduler' });
    // BullMQ re-emits the connection's errors on the queue: logged there, once.
    this.connection.on('error', () => undefined);
    this.queue = new Queue<SyncJob>(SYNC_QUEUE, {
      connection: this.connection,
      prefix: options.prefix,
      defaultJobOptions: {
        attempts: options.attempts ?? 8,
        backoff: { type: 'jittered' },
        // Finished jobs are kept for a while (a refresh that joins a finished one reads its
        // result; failures are there to inspect), and both lists are capped by count too, so a
        // failure storm cannot grow Redis, which runs noeviction (README, "Redis keys").
        removeOnComplete: { age: 3600, count: 10_000 },
        removeOnFail: { age: 7 * 24 * 3600, count: 10_000 },
      },
    });
    // Without a listener BullMQ prints every error to stderr as plain text.
    const log = options.log ?? createLogger('sync');
    this.queue.on('error', (err) => log.warn({ err }, 'sync queue error'));
  }

  async scheduleAccountSync(
    userId: string,
    provider: ProviderName,
    accountId: string,
    reason: string,
    options: { debounceMs?: number } = {},
  ): Promise<string | undefined> {
    const data: AccountSyncJob = { kind: 'account', userId, provider, accountId, reason, requestedAt: new Date().toISOString() };
    return this.addDebounced('account', data, accountDedupeId(userId, provider, accountId), options.debounceMs);
  }

  /** An account's activities fetch, debounced like its sync (a burst of transaction webhooks is one fetch). */
  async scheduleActivitiesSync(
    userId: string,
    provider: ProviderName,
    accountId: string,
    reason: string,
    options: { debounceMs?: number } = {},
  ): Promise<string | undefined> {
    const data: ActivitiesSyncJob = { kind: 'activities', userId, provider, accountId, reason, requestedAt: new Date().toISOString() };
    return this.addDebounced('activities', data, activitiesDedupeId(userId, provider, accountId), options.debounceMs);
  }

  /**
   * Adds a job that runs `debounceMs` after the last request for the same `dedupeId`: each new
   * request replaces the waiting job's data and pushes its start back (BullMQ's deduplication with
   * extend and replace), so a burst is one job carrying the latest reason.
   */
  private async addDebounced(name: 'account' | 'activities', data: AccountSyncJob | ActivitiesSyncJob, dedupeId: string, debounceMs = this.options.debounceMs): Promise<string | undefined> {
    const opts: JobsOptions = { delay: debounceMs, deduplication: { id: dedupeId, ttl: Math.max(1, debounceMs), extend: true, replace: true } };
    const job = await this.queue.add(name, data, opts);
    return job.id;
  }

  async scheduleUserSync(
    userId: string,
    reason: string,
    options: { refreshConnections?: boolean; delayMs?: number; dedupe?: boolean; jobId?: string } = {},
  ): Promise<string | undefined> {
    const data: UserSyncJob = {
      kind: 'user',
      userId,
      reason,
      refreshConnections: options.refreshConnections ?? false,
      requestedAt: new Date().toISOString(),
    };
    const delay = options.delayMs ?? Math.min(this.options.debounceMs, 1_000);
    const opts: JobsOptions =
      options.dedupe === false
        ? { delay, ...(options.jobId ? { jobId: options.jobId } : {}) }
        : { delay, deduplication: { id: userDedupeId(userId), ttl: Math.max(1, delay), extend: true, replace: true } };
    const job = await this.queue.add('user', data, opts);
    return job.id;
  }

  /**
   * Installs the repeating jobs (idempotent: every worker may call it): FX rates hourly and at
   * once, and the nightly full sync at `nightlyPattern` (cron, UTC).
   */
  async installRepeatingJobs(nightlyPattern = '0 4 * * *'): Promise<void> {
    // Every-jobs run at once when first installed; the rates are needed before the first sync.
    await this.queue.upsertJobScheduler('fx-rates', { every: 3_600_000 }, { name: 'fx', data: { kind: 'fx' } });
    await this.queue.upsertJobScheduler('nightly-sync', { pattern: nightlyPattern, tz: 'UTC' }, { name: 'nightly', data: { kind: 'nightly' } });
  }

  async close(): Promise<void> {
    await this.queue.close();
    this.connection.disconnect();
  }
}
