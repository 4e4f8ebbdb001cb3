import { Router, type Request, type Response } from 'express';
import type { Logger } from '../../logging/logger.ts';
import { buildDashboardBundle, type BundleFile, type DashboardBundle } from './dashboard-bundle.ts';
import { adminPage } from './admin-page.ts';
import { dashboardPage } from './dashboard-page.ts';

/** A script of the bundle, gzipped when the browser takes it (a third of the bytes on the wire). */
function sendScript(req: Request, res: Response, { code, hash, gzip }: BundleFile): void {
  res.type('text/javascript').set({ 'Cache-Control': 'no-cache', Vary: 'Accept-Encoding' });
  if (req.acceptsEncodings('gzip', 'identity') === 'gzip') {
    res.set({ 'Content-Encoding': 'gzip', ETag: `"${hash}-gzip"` }).send(gzip);
    return;
  }
  res.set('ETag', `"${hash}"`).send(code);
}

/** How people sign in (`AUTH_DEV_SIGN_IN`, `AUTH_SIGN_IN_URL`): what `/signin` offers. */
export interface SignInOptions {
  /** The development sign-in API is on: list the users and sign in by id. */
  dev: boolean;
  /** The identity provider's sign-in page; it sends people back to `/auth/callback#token=<jwt>`. */
  providerUrl?: string | undefined;
}

/**
 * `GET /`: the live portfolio dashboard; `GET /signin`: the sign-in page; `GET /auth/callback`:
 * where an identity provider sends the browser with `#token=<jwt>` (the fragment never reaches the
 * server; the page keeps the token for the tab and removes it from the address bar at once);
 * `GET /connected`: where the brokerage portal returns after a connection; `GET /admin`: the admin
 * page; `GET /dashboard.js`: the bundle of all of them, built with esbuild when the router is
 * created and kept in memory, gzipped for a browser that accepts it; `GET /chunks/:file`: what it
 * imports when needed (the value chart).
 */
export function dashboardRouter(
  options: {
    log?: Logger;
    /** The trading API is served beside it: show the trade ticket. */
    trading?: boolean;
    signIn?: SignInOptions;
  } = {},
): Router {
  const bundle: Promise<DashboardBundle> = buildDashboardBundle();
  // Fail loudly at start-up, not only on the first request.
  bundle.catch((err: unknown) => options.log?.error({ err }, 'dashboard bundle failed to build'));

  const router = Router();
  const page = { trading: options.trading ?? false, signIn: options.signIn ?? { dev: false } };
  // The dashboard opens the brokerage's portal in a window of its own and keeps a handle on it
  // (helmet's `same-origin` would cut it at the portal's origin); `/connected`, where the portal
  // sends that window back, keeps its opener so it can close itself.
  const openerPolicy: Record<string, string> = { '/connected': 'unsafe-none' };
  for (const path of ['/', '/signin', '/auth/callback', '/connected']) {
    router.get(path, (req, res) => {
      res
        .type('html')
        .set({ 'Cache-Control': 'no-cache', 'Cross-Origin-Opener-Policy': openerPolicy[path] ?? 'same-origin-allow-popups' })
        .send(dashboardPage(`${req.baseUrl}/dashboard.js`, page));
    });
  }
  router.get('/admin', (req, res) => {
    res.type('html').set('Cache-Control', 'no-cache').send(adminPage(`${req.baseUrl}/dashboard.js`));
  });
  router.get('/dashboard.js', async (req, res) => sendScript(req, res, await bundle));
  // The chunks dashboard.js imports (named by their content hash); another name is a 404.
  router.get('/chunks/:file', async (req, res, next) => {
    const chunk = (await bundle).chunks.get(`chunks/${req.params.file}`);
    if (chunk) sendScript(req, res, chunk);
    else next();
  });
  return router;
}
