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
  return requireBearerToken(adminToken, 'admin token required');
}

/**
 * Requires `Authorization: Bearer <expected>`, compared in constant time; refuses everything
 * when `expected` is unset. 401 FS_UNAUTHENTICATED with `WWW-Authenticate: Bearer`.
 */
export function requireBearerToken(expected: string | undefined, message: string): RequestHandler {
  const want = Buffer.from(expected ?? '', 'utf8');
  return (req, res, next) => {
    const given = Buffer.from(bearer(req.headers.authorization) ?? '', 'utf8');
    if (!expected || given.length !== want.length || !timingSafeEqual(given, want)) {
      res.setHeader('WWW-Authenticate', 'Bearer');
      next(new ApiError('FS_UNAUTHENTICATED', message));
      return;
    }
    next();
  };
}
