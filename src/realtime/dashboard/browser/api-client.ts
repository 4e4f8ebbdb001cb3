/** The user API from the browser: the bearer token on every call, answers parsed, a refused token reported once. */

export interface ApiAnswer<T> {
  ok: boolean;
  status: number;
  body: T & { error?: { code: string; message: string } };
}

export interface ApiClient {
  call<T>(method: string, path: string, body?: unknown): Promise<ApiAnswer<T>>;
}

/** `onUnauthorized` runs when the API answers 401 (the token expired or is not valid). */
export function createApiClient(token: string, onUnauthorized: (message: string) => void): ApiClient {
  return {
    async call<T>(method: string, path: string, body?: unknown): Promise<ApiAnswer<T>> {
      const response = await fetch(path, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const text = await response.text();
      let parsed: ApiAnswer<T>['body'];
      try {
        parsed = (text ? JSON.parse(text) : {}) as ApiAnswer<T>['body'];
      } catch {
        parsed = { error: { code: 'FS_INTERNAL', message: `the server answered ${response.status}` } } as ApiAnswer<T>['body'];
      }
      if (response.status === 401) onUnauthorized(parsed.error?.message ?? 'not signed in');
      return { ok: response.ok, status: response.status, body: parsed };
    },
  };
}
