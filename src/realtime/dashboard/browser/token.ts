const STORAGE_KEY = 'foliostream.token';

/**
 * The user token: from the URL fragment (`#token=...`, never sent to the server), remembered for
 * the tab in sessionStorage, and removed from the address bar so it is not shared by accident.
 */
export function takeToken(): string | null {
  const params = new URLSearchParams(location.hash.replace(/^#/, ''));
  const fromUrl = params.get('token');
  if (fromUrl) {
    sessionStorage.setItem(STORAGE_KEY, fromUrl);
    history.replaceState(null, '', location.pathname + location.search);
    return fromUrl;
  }
  return sessionStorage.getItem(STORAGE_KEY);
}

export function forgetToken(): void {
  sessionStorage.removeItem(STORAGE_KEY);
}

export function saveToken(token: string): void {
  sessionStorage.setItem(STORAGE_KEY, token);
}
