import { Router } from 'express';
import type { Logger } from '../../logging/logger.ts';
import { buildDashboardBundle, type DashboardBundle } from './dashboard-bundle.ts';
import { adminPage } from './admin-page.ts';
import { dashboardPage } from './dashboard-page.ts';

/**
 * `GET /`: the live portfolio dashboard; `GET /admin`: the admin page; `GET /dashboard.js`: the
 * bundle of both, built with esbuild when the router is created and kept in memory. The user's token comes in the URL fragment
 * (`/#token=<jwt>`), which browsers never send to the server.
 */
export function dashboardRouter(options: { log?: Logger; /** The trading API is served beside it: show the trade ticket. */ trading?: boolean } = {}): Router {
  const bundle: Promise<DashboardBundle> = buildDashboardBundle();
  // Fail loudly at start-up, not only on the first request.
  bundle.catch((err: unknown) => options.log?.error({ err }, 'dashboard bundle failed to build'));

  const router = Router();
  router.get('/', (req, res) => {
    res.type('html').set('Cache-Control', 'no-cache').send(dashboardPage(`${req.baseUrl}/dashboard.js`, { trading: options.trading ?? false }));
  });
  router.get('/admin', (req, res) => {
    res.type('html').set('Cache-Control', 'no-cache').send(adminPage(`${req.baseUrl}/dashboard.js`));
  });
  router.get('/dashboard.js', async (_req, res) => {
    const { code, hash } = await bundle;
    res.type('text/javascript').set({ 'Cache-Control': 'no-cache', ETag: `"${hash}"` }).send(code);
  });
  return router;
}
