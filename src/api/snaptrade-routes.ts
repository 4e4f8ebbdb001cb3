import express, { Router } from 'express';
import type { QueueEvents } from 'bullmq';
import { Job } from 'bullmq';
import { z } from 'zod';
import { requireUser } from '../auth/middleware.ts';
import type { UserTokenVerifier } from '../auth/user-tokens.ts';
import type { Knex } from '../db/knex.ts';
import { ApiError } from '../http/errors.ts';
import type { CredentialsStore } from '../providers/credentials-store.ts';
import { ProviderError } from '../providers/provider-error.ts';
import type { SnapTradeClient } from '../providers/snaptrade/client.ts';
import type { SyncScheduler } from '../sync/sync-scheduler.ts';
import type { SyncStats } from '../sync/sync-worker.ts';
import { compareStreamIds } from '../../streams/stream-id.ts';
import { userHandler } from './async-handler.ts';

export interface SnapTradeRoutesDeps {
  db: Knex;
  verifier: UserTokenVerifier;
  client: SnapTradeClient;
  credentials: CredentialsStore;
  scheduler: SyncScheduler;
  queueEvents: QueueEvents;
  /** Longest a refresh request waits for its sync and for the actor to apply it. */
  refreshWaitMs: number;
}

const connectionUrlBody = z
  .object({
    /** Brokerage slug to preselect in the portal (e.g. "QUESTRADE"). */
    broker: z.string().min(1).max(100).optional(),
    /** Authorization id to reconnect (a broken connection). */
    reconnect: z.string().min(1).max(100).optional(),
    /** Where the portal sends the user afterwards. */
    customRedirect: z.url().optional(),
  })
  .strict();

function upstream(err: unknown): never {
  if (err instanceof ProviderError) {
    throw new ApiError(err.retryable ? 'FS_STORAGE_UNAVAILABLE' : 'FS_UPSTREAM', `SnapTrade: ${err.message}`);
  }
  throw err;
}

/**
 * `POST /api/snaptrade/connection-url` (registers the user with SnapTrade on first use) and
 * `POST /api/snaptrade/refresh` (refresh every connection, sync everything, answer with stats).
 */
export function snaptradeRouter(deps: SnapTradeRoutesDeps): Router {
  const router = Router();
  router.use(express.json({ limit: '16kb' }));
  router.use(requireUser(deps.verifier));

  router.post(
    '/connection-url',
    userHandler(async (req, res) => {
      const parsed = connectionUrlBody.safeParse(req.body ?? {});
      if (!parsed.success) throw new ApiError('FS_VALIDATION', z.prettifyError(parsed.error));
      const creds = await ensureRegistered(deps, req.userId).catch(upstream);
      const login = (await deps.client
        .loginUrl({ userId: creds.snaptradeUserId, userSecret: creds.userSecret }, parsed.data)
        .catch(upstream)) as { redirectURI?: string; sessionId?: string };
      if (!login.redirectURI) throw new ApiError('FS_UPSTREAM', 'SnapTrade returned no redirectURI');
      res.json({ redirectURI: login.redirectURI, sessionId: login.sessionId ?? null });
    }),
  );

  router.post(
    '/refresh',
    userHandler(async (req, res) => {
      const started = Date.now();
      const jobId = await deps.scheduler.scheduleUserSync(req.userId, 'refresh', {
        refreshConnections: true,
        dedupe: false,
        delayMs: 0,
      });
      const job = jobId ? await Job.fromId(deps.scheduler.queue, jobId) : undefined;
      if (!job) throw new ApiError('FS_INTERNAL', 'refresh job was not created');
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
      res.json({
        status: timedOut ? 'pending' : 'done',
        applied,
        accounts: stats?.accounts ?? 0,
        positions: stats?.positions ?? 0,
        symbols: stats?.symbols ?? 0,
        durationMs: Date.now() - started,
        failures: stats?.failures ?? [],
        connections: connections.map((c) => ({
          id: c.id,
          provider: c.provider,
          brokerage: c.brokerage_name,
          status: c.status,
          statusReason: c.status_reason,
        })),
      });
    }),
  );
  return router;
}

/**
 * Registers the user with SnapTrade once. A transaction-scoped advisory lock serialises two
 * first requests of the same user, so SnapTrade never sees a second registration.
 */
async function ensureRegistered(deps: SnapTradeRoutesDeps, userId: string) {
  const existing = await deps.credentials.snaptrade(userId);
  if (existing) return existing;
  await deps.db.transaction(async (tx) => {
    await tx.raw('SELECT pg_advisory_xact_lock(hashtext(?))', [`snaptrade-register:${userId}`]);
    const row = await tx('snaptrade_users').where({ user_id: userId }).first();
    if (row) return;
    const registered = (await deps.client.registerUser(userId)) as { userId?: string; userSecret?: string };
    if (!registered.userId || !registered.userSecret) throw new ApiError('FS_UPSTREAM', 'SnapTrade registration returned no secret');
    await deps.credentials.saveSnaptrade(userId, registered.userId, registered.userSecret, tx);
  });
  const creds = await deps.credentials.snaptrade(userId);
  if (!creds) throw new ApiError('FS_INTERNAL', 'registration was not stored');
  return creds;
}

/** Waits until the user's actor has applied `streamId` (its checkpoint reached it). */
async function waitForCheckpoint(db: Knex, userId: string, streamId: string, budgetMs: number): Promise<boolean> {
  const deadline = Date.now() + Math.max(0, budgetMs);
  for (;;) {
    const row = await db('actor_checkpoints').where({ user_id: userId }).first('last_stream_id');
    if (row && compareStreamIds(row.last_stream_id, streamId) >= 0) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
