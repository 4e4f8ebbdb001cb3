import { randomUUID } from 'node:crypto';
import express, { Router, type Response } from 'express';
import type { QueueEvents } from 'bullmq';
import { Job } from 'bullmq';
import { z } from 'zod';
import { requireUser } from '../auth/middleware.ts';
import type { UserTokenVerifier } from '../auth/user-tokens.ts';
import type { Knex } from '../db/knex.ts';
import { ApiError } from '../http/errors.ts';
import type { CredentialsStore, SnapTradeCredentials } from '../providers/credentials-store.ts';
import { INVALID_REGISTRATION_MESSAGE, isInvalidSnapTradeUser, ProviderError } from '../providers/provider-error.ts';
import type { SnapTradeClient } from '../providers/snaptrade/client.ts';
import type { SyncScheduler } from '../sync/sync-scheduler.ts';
import type { SyncStats } from '../sync/sync-worker.ts';
import { waitForCheckpoint } from './checkpoint-wait.ts';
import type { RefreshGate } from './refresh-gate.ts';
import { userHandler } from './async-handler.ts';
import {
  connectionUrlRequest,
  type ConnectionUrlResponse,
  type DisconnectResponse,
  type RefreshResponse,
  type RefreshStatus,
} from './schemas.ts';

export interface SnapTradeRoutesDeps {
  db: Knex;
  verifier: UserTokenVerifier;
  client: SnapTradeClient;
  credentials: CredentialsStore;
  scheduler: SyncScheduler;
  queueEvents: QueueEvents;
  /** Longest a refresh request waits for its sync and for the actor to apply it. */
  refreshWaitMs: number;
  /** One refresh per user at a time, one per cooldown. */
  refreshGate: RefreshGate;
}

function upstream(err: unknown): never {
  if (err instanceof ProviderError) {
    throw new ApiError(err.retryable ? 'FS_STORAGE_UNAVAILABLE' : 'FS_UPSTREAM', `SnapTrade: ${err.message}`);
  }
  throw err;
}

/**
 * `POST /api/snaptrade/connection-url` (registers the user with SnapTrade on first use),
 * `POST /api/snaptrade/refresh` (refresh every connection, sync everything, answer with stats) and
 * `DELETE /api/snaptrade/connections/:authorizationId` (disconnect a brokerage).
 */
export function snaptradeRouter(deps: SnapTradeRoutesDeps): Router {
  const router = Router();
  router.use(express.json({ limit: '16kb' }));
  router.use(requireUser(deps.verifier));

  router.post(
    '/connection-url',
    userHandler(async (req, res) => {
      const parsed = connectionUrlRequest.safeParse(req.body ?? {});
      if (!parsed.success) throw new ApiError('FS_VALIDATION', z.prettifyError(parsed.error));
      if (parsed.data.reconnect) await requireOwnConnection(deps.db, req.userId, parsed.data.reconnect);
      const login = (await loginWithValidRegistration(deps, req.userId, parsed.data)) as { redirectURI?: string; sessionId?: string };
      if (!login.redirectURI) throw new ApiError('FS_UPSTREAM', 'SnapTrade returned no redirectURI');
      const body: ConnectionUrlResponse = { redirectURI: login.redirectURI, sessionId: login.sessionId ?? null };
      res.json(body);
    }),
  );

  router.post(
    '/refresh',
    userHandler(async (req, res) => {
      const started = Date.now();
      const { job, coalesced } = await startOrJoinRefresh(deps, req.userId, res);
      let stats: SyncStats | undefined;
      let timedOut = false;
      try {
        stats = (await job.waitUntilFinished(deps.queueEvents, deps.refreshWaitMs)) as SyncStats;
      } catch (err) {
        if (!/timed out/i.test((err as Error).message)) throw new ApiError('FS_UPSTREAM', (err as Error).message);
        timedOut = true;
      }
      const applied =
        stats?.lastStreamId != null
          ? await waitForCheckpoint(deps.db, req.userId, stats.lastStreamId, deps.refreshWaitMs - (Date.now() - started))
          : stats !== undefined;
      const connections = await deps.db('brokerage_connections')
        .where({ user_id: req.userId })
        .whereNot({ status: 'removed' })
        .select('id', 'provider', 'brokerage_name', 'status', 'status_reason');
      const registration = await deps.db('snaptrade_users').where({ user_id: req.userId }).first('invalid_since');
      const failures = stats?.failures ?? [];
      const status: RefreshStatus = timedOut ? 'pending' : failures.length === 0 ? 'done' : (stats?.accounts ?? 0) > 0 ? 'partial' : 'failed';
      const body: RefreshResponse = {
        status,
        message: refreshMessage(status, stats, Boolean(registration?.invalid_since)),
        coalesced,
        applied,
        accounts: stats?.accounts ?? 0,
        positions: stats?.positions ?? 0,
        symbols: stats?.symbols ?? 0,
        durationMs: Date.now() - started,
        failures,
        connections: connections.map((c) => ({
          id: c.id,
          provider: c.provider,
          brokerage: c.brokerage_name,
          status: c.status,
          statusReason: c.status_reason,
        })),
      };
      res.json(body);
    }),
  );

  router.delete(
    '/connections/:authorizationId',
    userHandler(async (req, res) => {
      const authorizationId = String(req.params.authorizationId);
      const row = await deps.db('brokerage_connections')
        .where({ user_id: req.userId, provider: 'snaptrade', external_id: authorizationId })
        .whereNot({ status: 'removed' })
        .first('id');
      const creds = row ? await deps.credentials.snaptrade(req.userId) : undefined;
      if (!row || !creds) throw new ApiError('FS_NOT_FOUND', 'no such brokerage connection of yours');
      try {
        await deps.client.removeAuthorization({ userId: creds.snaptradeUserId, userSecret: creds.userSecret }, authorizationId);
      } catch (err) {
        // Already gone at SnapTrade (removed elsewhere, or with an old registration): ours goes too.
        if (!(err instanceof ProviderError && err.status === 404)) upstream(err);
      }
      // SnapTrade sends CONNECTION_DELETED; the listing this sync makes no longer has the
      // connection either, so its accounts and holdings go whichever lands first.
      await deps.scheduler.scheduleUserSync(req.userId, 'connection-removed', { delayMs: 0, dedupe: false });
      const body: DisconnectResponse = { connectionId: row.id, authorizationId, status: 'removing' };
      res.status(202).json(body);
    }),
  );
  return router;
}

/**
 * The user's refresh job: a new one, or the one already running (joined). A refresh asked for
 * within the cooldown after the last one finished is refused with 429 and `Retry-After`.
 */
async function startOrJoinRefresh(deps: SnapTradeRoutesDeps, userId: string, res: Response): Promise<{ job: Job; coalesced: boolean }> {
  const ownJobId = `refresh-${randomUUID()}`;
  const claim = await deps.refreshGate.claim(userId, ownJobId);
  if (claim.claimed) {
    await deps.scheduler.scheduleUserSync(userId, 'refresh', { refreshConnections: true, dedupe: false, delayMs: 0, jobId: ownJobId });
    const job = await Job.fromId(deps.scheduler.queue, ownJobId);
    if (!job) throw new ApiError('FS_INTERNAL', 'refresh job was not created');
    return { job, coalesced: false };
  }
  // The holder adds its job right after claiming: give it a moment to appear.
  let job: Job | undefined;
  for (let i = 0; i < 20 && !job; i++) {
    job = await Job.fromId(deps.scheduler.queue, claim.jobId);
    if (!job) await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const state = job ? await job.getState() : 'unknown';
  if (job && state !== 'completed' && state !== 'failed' && state !== 'unknown') return { job, coalesced: true };
  const seconds = Math.max(1, Math.ceil(claim.retryAfterMs / 1000));
  res.set('Retry-After', String(seconds));
  throw new ApiError('FS_RATE_LIMITED', `Your brokerages were refreshed moments ago; you can refresh again in ${seconds} s.`);
}

/** A portal URL for the user; a registration SnapTrade no longer accepts is replaced first. */
async function loginWithValidRegistration(
  deps: SnapTradeRoutesDeps,
  userId: string,
  options: { broker?: string; reconnect?: string; customRedirect?: string },
): Promise<unknown> {
  let creds = await ensureRegistered(deps, userId).catch(upstream);
  if (creds.invalidSince) creds = await reRegister(deps, userId, creds.generation).catch(upstream);
  const login = (registration: SnapTradeCredentials) =>
    deps.client.loginUrl({ userId: registration.snaptradeUserId, userSecret: registration.userSecret }, options);
  try {
    return await login(creds);
  } catch (err) {
    if (!isInvalidSnapTradeUser(err)) return upstream(err);
    await deps.credentials.markSnaptradeInvalid(deps.db, userId, creds.generation, INVALID_REGISTRATION_MESSAGE);
    creds = await reRegister(deps, userId, creds.generation).catch(upstream);
    // Reconnecting a connection of the old registration is impossible: it is gone with it.
    if (options.reconnect) relinkInstead();
    return await login(creds).catch(upstream);
  }
}

function relinkInstead(): never {
  throw new ApiError('FS_CONFLICT', `${INVALID_REGISTRATION_MESSAGE} That connection cannot be repaired; connect the brokerage anew.`);
}

/**
 * Registers the user with SnapTrade once. A transaction-scoped advisory lock serialises two
 * first requests of the same user, so SnapTrade never sees a second registration.
 */
async function ensureRegistered(deps: SnapTradeRoutesDeps, userId: string): Promise<SnapTradeCredentials> {
  const existing = await deps.credentials.snaptrade(userId);
  if (existing) return existing;
  await deps.db.transaction(async (tx) => {
    await tx.raw('SELECT pg_advisory_xact_lock(hashtext(?))', [`snaptrade-register:${userId}`]);
    const row = await tx('snaptrade_users').where({ user_id: userId }).first();
    if (row) return;
    await register(deps, userId, tx);
  });
  const creds = await deps.credentials.snaptrade(userId);
  if (!creds) throw new ApiError('FS_INTERNAL', 'registration was not stored');
  return creds;
}

/**
 * Replaces registration `generation`, which SnapTrade no longer accepts, with a new one (a new
 * secret, sealed). If SnapTrade still knows the user under a secret we do not have (it was reset
 * elsewhere), that user is deleted there first: its connections were out of reach anyway. The
 * user's actor learns of the change from the next sync, which this schedules.
 */
async function reRegister(deps: SnapTradeRoutesDeps, userId: string, generation: number): Promise<SnapTradeCredentials> {
  await deps.db.transaction(async (tx) => {
    await tx.raw('SELECT pg_advisory_xact_lock(hashtext(?))', [`snaptrade-register:${userId}`]);
    const row = await tx('snaptrade_users').where({ user_id: userId }).first('generation');
    if (row && row.generation !== generation) return; // another request re-registered already
    try {
      await register(deps, userId, tx);
    } catch (err) {
      if (!isUserExists(err)) throw err;
      await deps.client.deleteUser(userId);
      try {
        await register(deps, userId, tx);
      } catch (again) {
        if (!isUserExists(again)) throw again;
        // SnapTrade deletes users asynchronously: the old one may still be on its way out.
        throw new ApiError('FS_STORAGE_UNAVAILABLE', 'SnapTrade is still removing your previous registration; try again in a minute.');
      }
    }
  });
  deps.credentials.forget(userId);
  const creds = await deps.credentials.snaptrade(userId);
  if (!creds) throw new ApiError('FS_INTERNAL', 'registration was not stored');
  await deps.scheduler.scheduleUserSync(userId, 'reregistered');
  return creds;
}

async function register(deps: SnapTradeRoutesDeps, userId: string, tx: Knex.Transaction): Promise<void> {
  const registered = (await deps.client.registerUser(userId)) as { userId?: string; userSecret?: string };
  if (!registered.userId || !registered.userSecret) throw new ApiError('FS_UPSTREAM', 'SnapTrade registration returned no secret');
  await deps.credentials.saveSnaptrade(userId, registered.userId, registered.userSecret, tx);
}

/** SnapTrade's answer to registering a user id it already has (400, "User already exist"). */
function isUserExists(err: unknown): boolean {
  return err instanceof ProviderError && err.status === 400 && /already exist/i.test(err.message);
}

/** A connection id the user passes must be one of theirs: someone else's is answered 404. */
async function requireOwnConnection(db: Knex, userId: string, authorizationId: string): Promise<void> {
  const row = await db('brokerage_connections')
    .where({ user_id: userId, provider: 'snaptrade', external_id: authorizationId })
    .whereNot({ status: 'removed' })
    .first('status');
  if (!row) throw new ApiError('FS_NOT_FOUND', 'reconnect: no such connection of yours');
  if (row.status === 'needs_relink') relinkInstead();
}

/** The refresh's outcome in words, for the person who pressed the button. */
function refreshMessage(status: string, stats: SyncStats | undefined, registrationInvalid: boolean): string {
  if (registrationInvalid) return INVALID_REGISTRATION_MESSAGE;
  if (status === 'pending') return 'The refresh is still running; the page updates when it lands.';
  const synced = `${stats?.accounts ?? 0} account${stats?.accounts === 1 ? '' : 's'} refreshed`;
  const failed = stats?.failures.length ?? 0;
  if (status === 'done') return `${synced}.`;
  if (status === 'partial') return `${synced}; ${failed} part${failed === 1 ? '' : 's'} failed (see failures).`;
  return `Nothing could be refreshed: ${stats?.failures[0]?.error ?? 'the brokerages did not answer'}.`;
}
