const STORAGE_KEY = 'foliostream.token';

/**
 * The user token, kept for the tab in sessionStorage. It arrives in a URL fragment
 * (`/auth/callback#token=...` from an identity provider, or `/#token=...`), which browsers never
 * send to the server, and is removed from the address bar at once so it is not shared, bookmarked
 * or kept in the history.
 */
export function takeToken(): string | null {
  return tokenFromFragment() ?? sessionStorage.getItem(STORAGE_KEY);
}

/** A token in the fragment: stored, and the fragment removed from the address bar. */
export function tokenFromFragment(): string | null {
  const params = new URLSearchParams(location.hash.replace(/^#/, ''));
  const fromUrl = params.get('token');
  if (!fromUrl) return null;
  sessionStorage.setItem(STORAGE_KEY, fromUrl);
  history.replaceState(null, '', location.pathname + location.search);
  return fromUrl;
}

export function forgetToken(): void {
  sessionStorage.removeItem(STORAGE_KEY);
}

export function saveToken(token: string): void {
  sessionStorage.setItem(STORAGE_KEY, token);
}

/** The token's subject and expiry, read for display only (the server verifies the token). */
export function tokenClaims(token: string): { sub: string | null; exp: number | null } {
  try {
    const part = token.split('.')[1] ?? '';
    const json = atob(part.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(part.length / 4) * 4, '='));
    const payload = JSON.parse(json) as { sub?: unknown; exp?: unknown };
    return { sub: typeof payload.sub === 'string' ? payload.sub : null, exp: typeof payload.exp === 'number' ? payload.exp : null };
  } catch {
    return { sub: null, exp: null };
  }
}
