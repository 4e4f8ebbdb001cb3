import { createHmac, timingSafeEqual } from 'node:crypto';
import { canonicalJson, pythonCanonicalJson } from './canonical-json.ts';

/**
 * SnapTrade's HMAC-SHA256 signatures (see shared/reference/NOTES.md). The SDK keys the HMAC with
 * `encodeURI(consumerKey)`; for the base64-ish keys SnapTrade issues that is the key itself, but we
 * follow the SDK so that unusual keys still agree with it.
 */
export function hmacBase64(consumerKey: string, message: string): string {
  return createHmac('sha256', encodeURI(consumerKey)).update(message).digest('base64');
}

/**
 * `Signature` header of a webhook as SnapTrade sends it: HMAC over the canonical JSON of its
 * documented (Python) recipe, non-ASCII escaped.
 */
export function signWebhook(consumerKey: string, body: unknown): string {
  return hmacBase64(consumerKey, pythonCanonicalJson(body));
}

/**
 * `Signature` header of an API request. `content` is the parsed JSON body, or null when there is
 * none or it is `{}`; `path` excludes the base path; `query` is the raw query string as sent.
 */
export function signRequest(
  consumerKey: string,
  request: { content: unknown; path: string; query: string },
): string {
  const content =
    request.content === undefined ||
    (request.content !== null &&
      typeof request.content === 'object' &&
      !Array.isArray(request.content) &&
      Object.keys(request.content).length === 0)
      ? null
      : request.content;
  return hmacBase64(consumerKey, canonicalJson({ content, path: request.path, query: request.query }));
}

/** Constant-time comparison of a received signature with each acceptable expected one. */
export function signatureMatches(received: string | undefined, expected: readonly string[]): boolean {
  if (!received) return false;
  const got = Buffer.from(received, 'utf8');
  let ok = false;
  for (const candidate of expected) {
    const want = Buffer.from(candidate, 'utf8');
    // Compare every candidate (no early exit) so timing does not reveal which key matched.
    if (want.length === got.length && timingSafeEqual(want, got)) ok = true;
  }
  return ok;
}
