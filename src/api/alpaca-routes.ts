import { randomUUID } from 'node:crypto';
import express, { Router } from 'express';
import { z } from 'zod';
import { requireUser } from '../auth/middleware.ts';
import { userHash } from '../users/user-hash.ts';
import type { UserTokenVerifier } from '../auth/user-tokens.ts';
import type { Knex } from '../db/knex.ts';
import { ApiError } from '../http/errors.ts';
import type { AlpacaProvider } from '../providers/alpaca/alpaca-provider.ts';
import type { CredentialsStore } from '../providers/credentials-store.ts';
import { ProviderError } from '../providers/provider-error.ts';
import type { SyncScheduler } from '../sync/sync-scheduler.ts';
import { userHandler } from './async-handler.ts';
import { alpacaLinkRequest, type AlpacaLinkResponse } from './schemas.ts';

export interface AlpacaRoutesDeps {
  db: Knex;
  verifier: UserTokenVerifier;
  alpaca: AlpacaProvider;
  credentials: CredentialsStore;
  scheduler: SyncScheduler;
}

/**
 * `POST /api/alpaca/accounts`: links an internal Alpaca account to the user. The keys are checked
 * against Alpaca first (a wrong pair is refused, not stored), then sealed with ENCRYPTION_KEY,
 * and a sync is scheduled. `DELETE /api/alpaca/accounts/:accountId` unlinks it.
 */
export function alpacaRouter(deps: AlpacaRoutesDeps): Router {
  const router = Router();
  router.use(express.json({ limit: '16kb' }));
  router.use(requireUser(deps.verifier));

  router.post(
    '/accounts',
    userHandler(async (req, res) => {
      const parsed = alpacaLinkRequest.safeParse(req.body ?? {});
      if (!parsed.success) throw new ApiError('FS_VALIDATION', z.prettifyError(parsed.error));
      let account;
      try {
        account = await deps.alpaca.fetchAccount(parsed.data);
      } catch (err) {
        if (err instanceof ProviderError && (err.status === 401 || err.status === 403)) {
          throw new ApiError('FS_VALIDATION', 'Alpaca refused these keys');
        }
        throw new ApiError('FS_UPSTREAM', `Alpaca: ${(err as Error).message}`);
      }
      const connectionId = randomUUID();
      const sealed = deps.credentials.sealAlpaca(connectionId, parsed.data.keyId, parsed.data.secretKey);
      await deps.db.transaction(async (tx) => {
        await tx('users').insert({ id: req.userId }).onConflict('id').ignore();
        // A user who deleted their account and links one again starts afresh.
        await tx('deleted_users').where({ user_hash: userHash(req.userId) }).delete();
        const taken = await tx('brokerage_connections').where({ provider: 'alpaca', external_id: account.id }).first();
        if (taken && taken.user_id !== req.userId) throw new ApiError('FS_CONFLICT', 'this Alpaca account is linked to another user');
        if (taken) {
          await tx('brokerage_connections')
            .where({ id: taken.id })
            .update({ status: 'active', status_reason: null, status_changed_at: tx.fn.now(), updated_at: tx.fn.now() });
          return;
        }
        await tx('brokerage_connections').insert({
          id: connectionId,
          user_id: req.userId,
          provider: 'alpaca',
          external_id: account.id,
          brokerage_slug: 'ALPACA',
          brokerage_name: 'Alpaca',
          credentials_sealed: sealed,
        });
      });
      await deps.scheduler.scheduleUserSync(req.userId, 'alpaca-linked', { delayMs: 0, dedupe: false });
      const row = await deps.db('brokerage_connections').where({ provider: 'alpaca', external_id: account.id }).first();
      const body: AlpacaLinkResponse = { connectionId: row.id, accountId: account.id, status: row.status };
      res.status(201).json(body);
    }),
  );

  router.delete(
    '/accounts/:accountId',
    userHandler(async (req, res) => {
      const updated = await deps.db('brokerage_connections')
        .where({ user_id: req.userId, provider: 'alpaca', external_id: req.params.accountId })
        .update({ status: 'removed', status_changed_at: deps.db.fn.now(), updated_at: deps.db.fn.now() });
      if (updated === 0) throw new ApiError('FS_NOT_FOUND', 'no such linked Alpaca account');
      await deps.scheduler.scheduleUserSync(req.userId, 'alpaca-unlinked', { delayMs: 0, dedupe: false });
      res.status(204).end();
    }),
  );
  return router;
}
