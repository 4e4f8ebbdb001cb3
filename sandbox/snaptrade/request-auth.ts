import { signRequest, signatureMatches } from '../../src/snaptrade/signature.ts';
import { SnaptradeApiError } from './errors.ts';

/**
 * SnapTrade's request authentication, checked the way the service checks it: `clientId` in the
 * query must be the partner's; `timestamp` (Unix seconds) must be within the allowed skew; the
 * `Signature` header must be base64 HMAC-SHA256 (key `encodeURI(consumerKey)`) of the
 * canonical JSON of `{content, path, query}`, where `query` is the raw query string as sent.
 */
export interface SignedRequest {
  /** Raw path as sent (no query), e.g. `/accounts/5e3.../positions/all`. */
  path: string;
  /** Raw query string as sent, without `?`. */
  rawQuery: string;
  query: Record<string, string | undefined>;
  /** Parsed JSON body (undefined when none). */
  body: unknown;
  signature: string | undefined;
}

export interface RequestAuthConfig {
  clientId: string;
  consumerKey: string;
  /** Largest accepted |now - timestamp|, in seconds. @default 300 */
  maxSkewSeconds: number;
}

/** Throws the SnapTrade error for the first failed check; returns when the request is genuine. */
export function authenticateRequest(request: SignedRequest, config: RequestAuthConfig, nowMs = Date.now()): void {
  if (request.query.clientId !== config.clientId) throw new SnaptradeApiError('INVALID_CLIENT_ID');
  const timestamp = Number(request.query.timestamp);
  if (!request.query.timestamp || !Number.isFinite(timestamp) || Math.abs(nowMs / 1000 - timestamp) > config.maxSkewSeconds) {
    throw new SnaptradeApiError('STALE_TIMESTAMP');
  }
  const expected = signRequest(config.consumerKey, {
    content: request.body === undefined ? null : request.body,
    path: request.path,
    query: request.rawQuery,
  });
  if (!signatureMatches(request.signature, [expected])) throw new SnaptradeApiError('BAD_SIGNATURE');
}
