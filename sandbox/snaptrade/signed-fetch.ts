import { signRequest } from '../../src/snaptrade/signature.ts';

/**
 * A raw SnapTrade request signed exactly as the SDK signs it, with `fetch`. For tests and
 * benchmarks that need what the SDK hides: response headers, 429s without the SDK's 35 s of
 * built-in retries, stale timestamps or tampered signatures.
 */
export interface SignedFetchConfig {
  baseUrl: string;
  clientId: string;
  consumerKey: string;
}

export interface SignedFetchRequest {
  method?: string;
  /** API path, e.g. `/accounts/{id}/positions/all`. */
  path: string;
  /** Query parameters after `clientId` (userId, userSecret, the call's own), in order. */
  query?: Record<string, string>;
  body?: unknown;
  /** Unix seconds; now when absent. */
  timestamp?: number;
  /** Send this instead of the computed signature. */
  signature?: string;
}

export interface SignedFetchResponse<T = unknown> {
  status: number;
  headers: Headers;
  body: T;
}

export async function snaptradeFetch<T = unknown>(
  config: SignedFetchConfig,
  request: SignedFetchRequest,
): Promise<SignedFetchResponse<T>> {
  const params = new URLSearchParams({ clientId: config.clientId, ...request.query });
  params.set('timestamp', String(request.timestamp ?? Math.round(Date.now() / 1000)));
  const query = params.toString();
  const hasBody = request.body !== undefined;
  const signature =
    request.signature ?? signRequest(config.consumerKey, { content: hasBody ? request.body : null, path: request.path, query });
  const response = await fetch(`${config.baseUrl}${request.path}?${query}`, {
    method: request.method ?? 'GET',
    headers: { Signature: signature, ...(hasBody ? { 'Content-Type': 'application/json' } : {}) },
    body: hasBody ? JSON.stringify(request.body) : undefined,
  });
  const text = await response.text();
  let body: unknown = text;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    // not JSON: keep the text
  }
  return { status: response.status, headers: response.headers, body: body as T };
}
