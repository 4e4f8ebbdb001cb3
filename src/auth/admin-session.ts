import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Request, RequestHandler } from 'express';
import { ApiError } from '../http/errors.ts';
import { requireAdmin } from './middleware.ts';

/**
 * A short-lived admin session for pages a browser loads itself (bull-board at `/admin/queues`):
 * a page load cannot carry `Authorization: Bearer`, and the admin token must never be put in a URL.
 * `POST /api/admin/session` with the admin token as a bearer header answers a cookie that is
 * `HttpOnly` (no script reads it), `SameSite=Strict` (no other site's page or link sends it),
 * `Path=/admin/queues` (sent to nothing else) and `Secure` over HTTPS, valid for
 * `ADMIN_SESSION_TTL_MS`. Its value is `v1.<expiry ms>.<HMAC-SHA256 of the expiry keyed with
 * ADMIN_TOKEN>`, checked in constant time: nothing is stored, any web node checks it, and
 * changing `ADMIN_TOKEN` ends every session at once.
 */
export const ADMIN_SESSION_COOKIE = 'fs_admin_session';
/** The only path the cookie is sent to. */
export const ADMIN_SESSION_PATH = '/admin/queues';
export const ADMIN_SESSION_TTL_MS = 15 * 60_000;

function signature(adminToken: string, expiresAt: number): Buffer {
  return createHmac('sha256', adminToken).update(`foliostream admin session v1|${expiresAt}`).digest();
}

export function issueAdminSession(adminToken: string, now = Date.now(), ttlMs = ADMIN_SESSION_TTL_MS): { value: string; expiresAt: number } {
  const expiresAt = now + ttlMs;
  return { value: `v1.${expiresAt}.${signature(adminToken, expiresAt).toString('base64url')}`, expiresAt };
}

/** True for a session value signed with this token and not expired. */
export function verifyAdminSession(adminToken: string | undefined, value: string | undefined, now = Date.now()): boolean {
  if (!adminToken || !value) return false;
  const match = /^v1\.(\d{1,15})\.([A-Za-z0-9_-]{43})$/.exec(value);
  if (!match) return false;
  const expiresAt = Number(match[1]);
  if (expiresAt <= now) return false;
  const given = Buffer.from(match[2]!, 'base64url');
  const want = signature(adminToken, expiresAt);
  return given.length === want.length && timingSafeEqual(given, want);
}

/** One cookie's value from the request's `Cookie` header (RFC 6265 `name=value; name2=value2`). */
function cookie(req: Request, name: string): string | undefined {
  for (const pair of (req.headers.cookie ?? '').split(';')) {
    const at = pair.indexOf('=');
    if (at > 0 && pair.slice(0, at).trim() === name) return pair.slice(at + 1).trim();
  }
  return undefined;
}

function cookieHeader(req: Request, value: string, maxAgeSeconds: number): string {
  const secure = req.secure ? '; Secure' : '';
  return `${ADMIN_SESSION_COOKIE}=${value}; Path=${ADMIN_SESSION_PATH}; Max-Age=${maxAgeSeconds}; HttpOnly; SameSite=Strict${secure}`;
}

/** Sets the session cookie (the caller has checked the admin token); answers its expiry. */
export function startAdminSession(req: Request, adminToken: string): { expiresAt: string } {
  const session = issueAdminSession(adminToken);
  req.res!.setHeader('Set-Cookie', cookieHeader(req, session.value, Math.floor(ADMIN_SESSION_TTL_MS / 1000)));
  return { expiresAt: new Date(session.expiresAt).toISOString() };
}

/** Clears the session cookie. */
export function endAdminSession(req: Request): void {
  req.res!.setHeader('Set-Cookie', cookieHeader(req, '', 0));
}

/**
 * The admin session cookie, or else `Authorization: Bearer <ADMIN_TOKEN>` (scripts); 401
 * FS_UNAUTHENTICATED otherwise, whatever the path, so nothing behind it is revealed.
 */
export function requireAdminSession(adminToken: string | undefined): RequestHandler {
  const bearer = requireAdmin(adminToken);
  return (req, res, next) => {
    if (verifyAdminSession(adminToken, cookie(req, ADMIN_SESSION_COOKIE))) {
      next();
      return;
    }
    if (req.headers.authorization) {
      bearer(req, res, next);
      return;
    }
    next(new ApiError('FS_UNAUTHENTICATED', 'admin session required: sign in on /admin, then open the queues from there'));
  };
}
