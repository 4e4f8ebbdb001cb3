import express, { Router } from 'express';
import { z } from 'zod';
import { devSignInRequest, type DevSignInResponse, type DevUsersResponse } from '../api/schemas.ts';
import type { Knex } from '../db/knex.ts';
import { ApiError } from '../http/errors.ts';
import { DEFAULT_MAX_TOKEN_LIFETIME_SECONDS, issueUserToken, type UserTokenSettings } from './user-tokens.ts';

/** How long a development sign-in lasts (or the longest lifetime accepted, when shorter). */
export const DEV_SIGN_IN_TTL_SECONDS = 8 * 3600;

export interface DevSignInDeps {
  db: Knex;
  /** The deployment's token settings (`userTokenSettings(config)`): tokens carry its `iss`/`aud`. */
  tokens: UserTokenSettings;
  /** `AUTH_DEV_SIGN_IN`: never on in production (the configuration refuses it). */
  enabled: boolean;
}

/**
 * Development sign-in, for the demo and the sandbox: `GET /api/auth/dev/users` lists the users the
 * engine knows, `POST /api/auth/dev/sign-in {userId}` issues a token for any user id, no password.
 * Both answer 403 unless `AUTH_DEV_SIGN_IN` is on, which the configuration refuses in production;
 * there, tokens come from the identity provider through `/auth/callback#token=`.
 */
export function devSignInRouter(deps: DevSignInDeps): Router {
  const router = Router();
  router.use((_req, _res, next) => {
    next(deps.enabled ? undefined : new ApiError('FS_FORBIDDEN', 'development sign-in is off (AUTH_DEV_SIGN_IN); sign in through your identity provider'));
  });
  router.use(express.json({ limit: '4kb' }));

  router.get('/users', async (_req, res) => {
    const rows = await deps.db('users as u')
      .leftJoin('brokerage_connections as c', function joinLive() {
        this.on('c.user_id', '=', 'u.id').andOnVal('c.status', '<>', 'removed');
      })
      .groupBy('u.id')
      .orderBy('u.id')
      .limit(100)
      .select('u.id', deps.db.raw('count(c.id)::int as connections'));
    const body: DevUsersResponse = { users: rows.map((r) => ({ id: r.id as string, connections: Number(r.connections) })) };
    res.json(body);
  });

  router.post('/sign-in', async (req, res) => {
    const parsed = devSignInRequest.safeParse(req.body ?? {});
    if (!parsed.success) throw new ApiError('FS_VALIDATION', z.prettifyError(parsed.error));
    const ttl = Math.min(DEV_SIGN_IN_TTL_SECONDS, deps.tokens.maxLifetimeSeconds ?? DEFAULT_MAX_TOKEN_LIFETIME_SECONDS);
    const token = await issueUserToken(deps.tokens, parsed.data.userId, ttl);
    const body: DevSignInResponse = {
      userId: parsed.data.userId,
      token,
      expiresAt: new Date(Date.now() + ttl * 1000).toISOString(),
    };
    res.set('Cache-Control', 'no-store').json(body);
  });
  return router;
}
