/**
 * The admin API from the browser: the admin token as a bearer header (never in a URL), kept in
 * sessionStorage for this tab only, and every failure turned into words for the page.
 */
const TOKEN_KEY = 'foliostream.adminToken';

export function savedAdminToken(): string | null {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function saveAdminToken(token: string): void {
  sessionStorage.setItem(TOKEN_KEY, token);
}

export function forgetAdminToken(): void {
  sessionStorage.removeItem(TOKEN_KEY);
}

/** A failed call, with what went wrong in words. */
export class AdminApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'AdminApiError';
  }
}

/** The server's `{error: {code, message}}` (or nothing) as a sentence for a person. */
export function inWords(status: number, body: unknown): string {
  const detail = (body as { error?: { message?: string } } | null)?.error?.message;
  switch (status) {
    case 401:
      return 'Wrong admin token: use the ADMIN_TOKEN the server runs with.';
    case 400:
      return `The request was refused: ${detail ?? 'a field is not valid'}.`;
    case 404:
      return `Not found: ${detail ?? 'no such thing'}.`;
    case 409:
      return `Not possible now: ${detail ?? 'it conflicts with the current state'}.`;
    case 413:
      return 'The request is too large.';
    case 429:
      return 'Too many requests: wait a moment and try again.';
    case 502:
      return `A brokerage answered with an error${detail ? `: ${detail}` : ''}.`;
    case 503:
      return 'The server cannot reach Redis or Postgres right now (or is restarting): try again shortly.';
    default:
      return status >= 500 ? `The server failed (HTTP ${status}); its log has the details.` : `HTTP ${status}${detail ? `: ${detail}` : ''}.`;
  }
}

export interface AdminApi {
  get<T>(path: string): Promise<T>;
  post<T>(path: string, body?: unknown): Promise<T>;
  delete(path: string): Promise<void>;
}

/**
 * Calls under the page's origin with `Authorization: Bearer <token>`. A 401 also calls
 * `onUnauthorized` (the page signs out), then rejects like any failure.
 */
export function adminApi(token: string, onUnauthorized: (why: string) => void): AdminApi {
  async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
    let response: Response;
    try {
      response = await fetch(path, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        credentials: 'same-origin',
        cache: 'no-store',
      });
    } catch {
      throw new AdminApiError(0, 'Cannot reach the server: is it running, and is this the right address?');
    }
    const text = await response.text();
    let parsed: unknown = null;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      // Not JSON (a proxy's error page): the status alone says it.
    }
    if (!response.ok) {
      const why = inWords(response.status, parsed);
      if (response.status === 401) onUnauthorized(why);
      throw new AdminApiError(response.status, why);
    }
    return parsed as T;
  }
  return {
    get: (path) => call('GET', path),
    post: (path, body) => call('POST', path, body),
    delete: (path) => call('DELETE', path),
  };
}

/** Checks a token by starting the queue board's session with it; the error in words, or null. */
export async function signIn(token: string): Promise<string | null> {
  let why: string | null = null;
  try {
    await adminApi(token, () => undefined).post('/api/admin/session');
  } catch (err) {
    why = (err as Error).message;
  }
  return why;
}
