import { timingSafeEqual } from 'node:crypto';
import type { RequestHandler } from 'express';
import { ApiError } from '../http/errors.ts';
import type { UserTokenVerifier } from './user-tokens.ts';

declare module 'express-serve-static-core' {
  interface Request {
    /** Set by `requireUser`: the authenticated user's id (token subject). */
    userId?: string;
  }
}

function bearer(header: string | undefined): string | undefined {
  const match = /^Bearer\s+(\S+)$/i.exec(header ?? '');
  return match?.[1];
}

/** Requires `Authorization: Bearer <user JWT>`; sets `req.userId`. */
export function requireUser(verifier: UserTokenVerifier): RequestHandler {
  return (req, _res, next) => {
    const token = bearer(req.headers.authorization);
    if (!token) {
      next(new ApiError('FS_UNAUTHENTICATED', 'missing bearer token'));
      return;
    }
    verifier.verify(token).then(
      ({ userId }) => {
        req.userId = userId;
        next();
      },
      (err: unknown) => next(new ApiError('FS_UNAUTHENTICATED', `invalid token: ${(err as Error).message}`)),
    );
  };
}

/** Requires `Authorization: Bearer <ADMIN_TOKEN>`, compared in constant time. */
export function requireAdmin(adminToken: string | undefined): RequestHandler {
  const expected = Buffer.from(adminToken ?? '', 'utf8');
  return (req, _res, next) => {
    const given = Buffer.from(bearer(req.headers.authorization) ?? '', 'utf8');
    if (!adminToken || given.length !== expected.length || !timingSafeEqual(given, expected)) {
      next(new ApiError('FS_UNAUTHENTICATED', 'admin token required'));
      return;
    }
    next();
  };
}
