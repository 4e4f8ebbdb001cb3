import { randomUUID } from 'node:crypto';
import { DelayedError, UnrecoverableError, Worker, type Job } from 'bullmq';
import { createRedisClient, type RedisClient, type RedisTarget } from '../runtime/redis-client.ts';
import { partitionOf } from '../../streams/partition.ts';
import { ENVELOPE_SCHEMA_VERSION, type Envelope } from '../../streams/envelope.ts';
import type { StreamProducer } from '../../streams/producer.ts';
import type { HoldingsProvider } from '../providers/holdings-provider.ts';
import { ProviderError, type ProviderName } from '../providers/provider-error.ts';
import type { Logger } from '../logging/logger.ts';
import { jitteredBackoff } from './backoff.ts';
import { SYNC_QUEUE, type AccountSyncJob, type ActivitiesSyncJob, type SyncJob, type UserSyncJob } from './sync-jobs.ts';
import { activitiesSince } from './activities-since.ts';
import type { SyncScheduler } from './sync-scheduler.ts';
import type { Knex } from '../db/knex.ts';
import type { SnapTradeClient } from '../providers/snaptrade/client.ts';
import { fxTableFromSnapTrade } from '../portfolio/index.ts';
import { storeFxRates } from '../market/fx-rate-store.ts';
import { asError } from '../runtime/as-error.ts';

/** Activities per `activities.synced` event (one SnapTrade page): bounds an event's size. */
export const ACTIVITIES_PER_EVENT = 1000;

/** Deletes KEYS[1] if it holds ARGV[1] (a floor or waiting mark this job set). */
const DELETE_IF_EQUAL = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;

/** What a user sync reports (the refresh API answers with it). */
export interface SyncStats {
  accounts: number;
  positions: number;
  symbols: number;
  durationMs: number;
  failures: { scope: string; error: string; retryable: boolean }[];
  /** The last stream id this sync appended: the actor has applied it when its checkpoint reaches it. */
  lastStreamId: string | null;
}

export interface SyncWorkerOptions {
  redisTarget: RedisTarget;
  prefix: string;
  namespace: string;
  partitionCount: number;
  providers: Partial<Record<ProviderName, HoldingsProvider>>;
  producer: StreamProducer;
  log: Logger;
  concurrency?: number;
  /** Minimum time between two syncs of one account (the brokerage's data rarely changes faster). */
  accountFloorMs?: number;
  backoff?: { baseMs: number; capMs: number };
  /** For the FX refresh and the nightly fan-out. */
  db: Knex;
  snaptrade?: SnapTradeClient;
  scheduler: SyncScheduler;
  /** SnapTrade requests per minute the nightly fan-out may plan for. */
  requestsPerMinute: number;
}

/**
 * Runs sync jobs. A job fetches from the brokerage and appends what it got to the user's stream
 * (`positions.synced`, `accounts.synced`, `sync.failed`); it never writes holdings. Retryable
 * provider errors are retried with jittered exponential backoff; final ones stop at once.
 */
export class SyncWorker {
  readonly worker: Worker<SyncJob, SyncStats | { streamId: string } | null>;
  private readonly connection: RedisClient;
  private readonly redis: RedisClient;

  constructor(private readonly options: SyncWorkerOptions) {
    // BullMQ workers block on Redis and must retry forever (maxRetriesPerRequest: null).
    this.connection = createRedisClient(options.redisTarget, { name: 'foliostream-sync-worker', maxRetriesPerRequest: null });
    this.connection.on('error', () => undefined);
    this.redis = createRedisClient(options.redisTarget, { name: 'foliostream-sync-floor' });
    this.redis.on('error', () => undefined);
    const backoff = options.backoff ?? { baseMs: 1_000, capMs: 5 * 60_000 };
    this.worker = new Worker<SyncJob, SyncStats | { streamId: string } | null>(
      SYNC_QUEUE,
      (job, token) => this.process(job, token),
      {
        connection: this.connection,
        prefix: options.prefix,
        concurrency: options.concurrency ?? 8,
        settings: { backoffStrategy: (attemptsMade: number) => jitteredBackoff(attemptsMade, backoff) },
      },
    );
    this.worker.on('failed', (job, err) => {
      options.log.warn({ jobId: job?.id, kind: job?.data.kind, attemptsMade: job?.attemptsMade, err }, 'sync job failed');
    });
    this.worker.on('error', (err) => options.log.warn({ err }, 'sync worker error'));
  }

  private async process(job: Job<SyncJob>, token: string | undefined) {
    const data = job.data;
    if (data.kind === 'account') return this.syncAccount(job as Job<AccountSyncJob>, token);
    if (data.kind === 'activities') return this.syncActivities(job as Job<ActivitiesSyncJob>);
    if (data.kind === 'user') return this.syncUser(job as Job<UserSyncJob>);
    if (data.kind === 'fx') return this.refreshFxRates();
    return this.fanOutNightly();
  }

  private floorKey(provider: ProviderName, accountId: string): string {
    return `${this.options.namespace}:sync-floor:${provider}:${accountId}`;
  }

  private envelope(userId: string, type: string, payload: unknown): Envelope {
    return {
      id: randomUUID(),
      type,
      user: userId,
      partition: partitionOf(userId, this.options.partitionCount),
      time: new Date().toISOString(),
      schema: ENVELOPE_SCHEMA_VERSION,
      payload,
    };
  }

  private provider(name: ProviderName): HoldingsProvider {
    const provider = this.options.providers[name];
    if (!provider) throw new UnrecoverableError(`no provider configured for ${name}`);
    return provider;
  }

  private async syncAccount(job: Job<AccountSyncJob>, token: string | undefined): Promise<{ streamId: string } | null> {
    const { userId, provider, accountId } = job.data;
    const floorMs = this.options.accountFloorMs ?? 0;
    const floorKey = this.floorKey(provider, accountId);
    const self = job.id ?? randomUUID();
    if (floorMs > 0) {
      // The floor is taken before the fetch (SET NX): two jobs of one account never fetch within it.
      if ((await this.redis.set(floorKey, self, 'PX', floorMs, 'NX')) === null) {
        const remaining = Math.max(1, await this.redis.pttl(floorKey));
        // One delayed sync per account. It fetches after the floor, so after every sync asked for
        // while it waits: those join it instead of each fetching again when the floor ends.
        const waitingKey = `${floorKey}:waiting`;
        const waiting = await this.redis.set(waitingKey, self, 'PX', remaining + floorMs, 'NX');
        if (waiting === null && (await this.redis.get(waitingKey)) !== self) return null;
        await job.moveToDelayed(Date.now() + remaining, token);
        throw new DelayedError();
      }
      // Fetching now: a sync asked for from here on may be newer than this fetch; it waits for its own.
      await this.redis.eval(DELETE_IF_EQUAL, 1, `${floorKey}:waiting`, self);
    }
    try {
      const holdings = await this.provider(provider).fetchHoldings(userId, accountId);
      const streamId = await this.options.producer.append(
        this.envelope(userId, 'positions.synced', {
          provider,
          accountId,
          positions: holdings.positions,
          balances: holdings.balances,
          asOf: holdings.asOf,
          fetchedAt: new Date().toISOString(),
          reason: job.data.reason,
        }),
      );
      if (floorMs > 0) await this.redis.set(floorKey, '1', 'PX', floorMs);
      return { streamId };
    } catch (err) {
      // A failed fetch gives the floor back: its retries keep their own backoff.
      if (floorMs > 0) await this.redis.eval(DELETE_IF_EQUAL, 1, floorKey, self).catch(() => undefined);
      if (err instanceof ProviderError && err.code === 'not_registered') {
        // A webhook about a user we never registered (another environment's, or one deleted
        // here): nothing to fetch and nothing to tell anyone. The job completes as a no-op:
        // no retries, no sync.failed, one line.
        this.options.log.info(
          { jobId: job.id, userId, provider, accountId, reason: job.data.reason },
          'account sync skipped: the user has no SnapTrade registration',
        );
        return null;
      }
      throw await this.failure(job, userId, { provider, accountId }, err);
    }
  }

  /**
   * Fetches an account's activities (from a few weeks before the newest one stored, or all of
   * them the first time) and appends them as fetched, `ACTIVITIES_PER_EVENT` to an event
   * (`activities.synced`): the actor normalises them and stores each provider id once.
   */
  private async syncActivities(job: Job<ActivitiesSyncJob>): Promise<{ streamId: string; activities: number } | null> {
    const { userId, provider, accountId, reason } = job.data;
    try {
      const { listed, since } = await activitiesSince(this.options.db, userId, provider, accountId);
      // The account's listing is still on its way (the transactions webhook came first): try
      // again after the backoff instead of fetching what the actor could not place yet.
      if (!listed) {
        if (job.attemptsMade + 1 < (job.opts.attempts ?? 1)) throw new Error(`account ${accountId} is not listed yet; its activities are fetched once it is`);
        // Never listed (a user never registered here, an account gone): nothing to fetch, nothing to tell.
        this.options.log.info({ jobId: job.id, userId, provider, accountId, reason }, 'activities not fetched: the account was never listed');
        return null;
      }
      const fetched = await this.provider(provider).fetchActivities(userId, accountId, since);
      const fetchedAt = new Date().toISOString();
      let streamId = '';
      // Always one event, even an empty one: the actor then knows the account's activities are current.
      for (let i = 0; i === 0 || i < fetched.activities.length; i += ACTIVITIES_PER_EVENT) {
        streamId = await this.options.producer.append(
          this.envelope(userId, 'activities.synced', {
            provider,
            accountId,
            since,
            activities: fetched.activities.slice(i, i + ACTIVITIES_PER_EVENT),
            fetchedAt,
            reason,
          }),
        );
      }
      this.options.log.info({ userId, provider, accountId, since, activities: fetched.activities.length, requests: fetched.requests, reason }, 'activities fetched');
      return { streamId, activities: fetched.activities.length };
    } catch (err) {
      if (err instanceof ProviderError && err.code === 'not_registered') return null;
      throw await this.failure(job, userId, { provider, accountId }, err);
    }
  }

  private async syncUser(job: Job<UserSyncJob>): Promise<SyncStats> {
    const started = Date.now();
    const { userId } = job.data;
    const stats: SyncStats = { accounts: 0, positions: 0, symbols: 0, durationMs: 0, failures: [], lastStreamId: null };
    const symbols = new Set<string>();
    for (const provider of Object.values(this.options.providers)) {
      if (!provider) continue;
      try {
        if (job.data.refreshConnections) {
          for (const outcome of await provider.refreshConnections(userId)) {
            if (!outcome.ok) {
              stats.failures.push({ scope: `connection ${outcome.connectionExternalId}`, error: outcome.error ?? 'refresh failed', retryable: outcome.retryable ?? true });
            }
          }
        }
        const list = await provider.listAccounts(userId);
        stats.lastStreamId = await this.options.producer.append(
          this.envelope(userId, 'accounts.synced', { provider: provider.name, ...list, fetchedAt: new Date().toISOString() }),
        );
        for (const account of list.accounts) {
          try {
            const holdings = await provider.fetchHoldings(userId, account.externalId);
            stats.lastStreamId = await this.options.producer.append(
              this.envelope(userId, 'positions.synced', {
                provider: provider.name,
                accountId: account.externalId,
                positions: holdings.positions,
                balances: holdings.balances,
                asOf: holdings.asOf,
                fetchedAt: new Date().toISOString(),
                reason: job.data.reason,
              }),
            );
            stats.accounts += 1;
            stats.positions += holdings.positionCount;
            // The nightly sync also catches up every account's activities (a missed webhook, an
            // Alpaca account, which sends none), each in a job of its own.
            if (job.data.reason === 'nightly') {
              await this.options.scheduler.scheduleActivitiesSync(userId, provider.name, account.externalId, 'nightly');
            }
            for (const symbol of holdings.symbols) symbols.add(symbol);
          } catch (err) {
            const failure = describe(err);
            stats.failures.push({ scope: `account ${account.externalId}`, ...failure });
            if (failure.retryable) {
              // A throttled or failing brokerage: this account gets a sync job of its own, with
              // its own attempts and backoff (it reports sync.failed if it finally gives up).
              await this.options.scheduler.scheduleAccountSync(userId, provider.name, account.externalId, `retry:${job.data.reason}`);
              continue;
            }
            stats.lastStreamId = await this.options.producer.append(
              this.envelope(userId, 'sync.failed', { provider: provider.name, accountId: account.externalId, ...failurePayload(err) }),
            );
          }
        }
      } catch (err) {
        const failure = describe(err);
        if (err instanceof ProviderError && err.code === 'not_registered') continue;
        // Listing the connections or accounts failed: nothing of this provider was synced. A
        // transient failure retries the whole user sync (jittered backoff) while attempts last.
        if (failure.retryable && job.attemptsMade + 1 < (job.opts.attempts ?? 1)) throw err;
        stats.failures.push({ scope: `provider ${provider.name}`, ...failure });
        // A registration already known to be invalid was not even tried: nothing new to tell.
        if (err instanceof ProviderError && err.operation === 'credentials') continue;
        stats.lastStreamId = await this.options.producer.append(
          this.envelope(userId, 'sync.failed', { provider: provider.name, ...failurePayload(err) }),
        );
      }
    }
    stats.symbols = symbols.size;
    stats.durationMs = Date.now() - started;
    return stats;
  }

  /**
   * Stores SnapTrade's exchange rates, as the latest and as the day's (`storeFxRates`); the
   * workers' FX reload revalues the portfolios in memory with them.
   */
  private async refreshFxRates(): Promise<null> {
    if (!this.options.snaptrade) return null;
    const body = await this.options.snaptrade.exchangeRates().catch((err: unknown) => {
      throw err instanceof ProviderError && !err.retryable ? new UnrecoverableError(err.message) : err;
    });
    const table = fxTableFromSnapTrade(body);
    const now = new Date();
    const rows = (body as { src?: { code?: string }; dst?: { code?: string }; exchange_rate?: number }[])
      .filter((r) => r.src?.code && r.dst?.code && r.src.code !== r.dst.code && Number(r.exchange_rate) > 0)
      .map((r) => ({ base: r.src!.code!, quote: r.dst!.code!, rate: String(r.exchange_rate) }));
    await storeFxRates(this.options.db, rows, now);
    this.options.log.info({ pairs: rows.length, currencies: table.rates.size }, 'exchange rates refreshed');
    return null;
  }

  /**
   * Every user with a brokerage gets a user sync, delayed so the whole night stays inside the
   * SnapTrade budget: a user sync costs about 2 + 3 x accounts requests (positions, balances and
   * a page of activities per account).
   */
  private async fanOutNightly(): Promise<null> {
    const users = await this.options.db('users as u')
      .leftJoin('accounts as a', function joinOpen() {
        this.on('a.user_id', '=', 'u.id').andOnVal('a.status', '<>', 'removed');
      })
      .groupBy('u.id')
      .select('u.id')
      .count('a.id as accounts');
    const perMinute = Math.max(1, Math.floor(this.options.requestsPerMinute * 0.8));
    let requests = 0;
    for (const user of users) {
      const delayMs = Math.floor((requests / perMinute) * 60_000);
      await this.options.scheduler.scheduleUserSync(user.id as string, 'nightly', { delayMs, dedupe: false });
      requests += 2 + 3 * Number(user.accounts);
    }
    this.options.log.info({ users: users.length, spreadMinutes: Math.ceil(requests / perMinute) }, 'nightly sync planned');
    return null;
  }

  /** Decides retry or give up; on giving up, tells the actor with a `sync.failed` event. */
  private async failure(
    job: Job<SyncJob>,
    userId: string,
    scope: { provider: ProviderName; accountId: string },
    err: unknown,
  ): Promise<Error> {
    const retryable = err instanceof ProviderError ? err.retryable : true;
    const lastAttempt = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
    if (!retryable || lastAttempt) {
      const known = err instanceof ProviderError && err.operation === 'credentials';
      if (!known) await this.options.producer.append(this.envelope(userId, 'sync.failed', { ...scope, ...failurePayload(err) }));
    }
    if (!retryable) return new UnrecoverableError(err instanceof Error ? err.message : String(err));
    return asError(err);
  }

  async close(): Promise<void> {
    await this.worker.close();
    this.connection.disconnect();
    this.redis.disconnect();
  }
}

/** A `sync.failed` payload's account of the error (the actor acts on status, code, generation). */
function failurePayload(err: unknown) {
  const provider = err instanceof ProviderError ? err : undefined;
  return {
    ...describe(err),
    status: provider?.status ?? null,
    code: provider?.code ?? null,
    registrationGeneration: provider?.registrationGeneration ?? null,
  };
}

function describe(err: unknown): { error: string; retryable: boolean } {
  return {
    error: err instanceof Error ? err.message : String(err),
    retryable: err instanceof ProviderError ? err.retryable : true,
  };
}
