import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type Router } from 'express';
import type { AppContext } from '../runtime/context.ts';
import { jsonBodiesOnly } from './content-type.ts';
import { errorHandler, notFoundHandler } from './error-handler.ts';
import { healthRouter, metricsHandlers, type Readiness } from './health.ts';
import { openApiHandler, openApiOptions } from './openapi.ts';
import { answerClientError, sendMethodNotAllowed } from './raw-answers.ts';
import { applySecurityHeaders, securityHeaders } from './security-headers.ts';

/**
 * A route served before Express: a plain handler for one method and exact path. Used for the
 * webhook endpoint, where Express's per-request overhead halves the throughput (see
 * docs/BENCHMARKS.md); its handler reads the raw body and answers JSON itself. The server sets
 * the security headers on its answers and answers 405 (with `Allow`) to other methods on its path.
 */
export interface FastRoute {
  method: string;
  path: string;
  handler: (req: IncomingMessage, res: ServerResponse) => void;
}

/** A route the server answers: its method (upper case) and Express path (`/api/alpaca/accounts/:accountId`). */
export interface MountedRoute {
  method: string;
  path: string;
}

export interface HttpServer {
  app: express.Express;
  server: Server;
  url: string;
  /** Every route mounted: the fast routes, and each route of the Express app and its routers. */
  routes(): MountedRoute[];
  /** Stop accepting, let in-flight requests finish (bounded), then close. */
  close(): Promise<void>;
}

const READS_OWN_BODY = Symbol('foliostream.readsOwnBody');

/**
 * Marks a router that reads and checks its request bodies itself (the webhook router needs the raw
 * bytes): the server does not refuse its non-JSON bodies for it.
 */
export function readsOwnBody<T extends Router>(router: T): T {
  (router as T & { [READS_OWN_BODY]?: true })[READS_OWN_BODY] = true;
  return router;
}

/**
 * The web role's HTTP server. Feature routers mount under their own paths; each parses its own
 * body (the webhook route needs the raw bytes, so there is no global JSON parser), but a body that
 * is not JSON is refused with 415 before any of them (unless it `readsOwnBody`).
 */
export async function startHttpServer(
  ctx: AppContext,
  routers: { path: string; router: Router }[] = [],
  options: { port?: number; host?: string; fastRoutes?: FastRoute[]; readiness?: Readiness } = {},
): Promise<HttpServer> {
  const state = { shuttingDown: false };
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', 'loopback');
  app.use(securityHeaders);
  const health = healthRouter(ctx, state, options.readiness);
  app.use(health);
  // Public, like health: the OpenAPI document of this API (src/http/openapi.ts).
  app.get('/api/openapi.json', openApiHandler(openApiOptions(ctx.config)));
  for (const { path, router } of routers) {
    if ((router as Router & { [READS_OWN_BODY]?: true })[READS_OWN_BODY]) app.use(path, router);
    else app.use(path, jsonBodiesOnly, router);
  }
  app.use(notFoundHandler);
  app.use(errorHandler(ctx.log));

  const fast = new Map((options.fastRoutes ?? []).map((r) => [`${r.method.toUpperCase()} ${r.path}`, r.handler]));
  const fastMethods = new Map<string, string[]>();
  for (const r of options.fastRoutes ?? []) {
    fastMethods.set(r.path, [...(fastMethods.get(r.path) ?? []), r.method.toUpperCase()]);
  }
  const server = createServer((req, res) => {
    if (fast.size > 0) {
      const path = (req.url ?? '/').split('?')[0] ?? '/';
      const handler = fast.get(`${req.method} ${path}`);
      if (handler) {
        if (state.shuttingDown) res.setHeader('Connection', 'close');
        applySecurityHeaders(res);
        handler(req, res);
        return;
      }
      const allowed = fastMethods.get(path);
      if (allowed) {
        if (state.shuttingDown) res.setHeader('Connection', 'close');
        sendMethodNotAllowed(res, req.method, path, allowed);
        return;
      }
    }
    app(req, res);
  });
  server.on('clientError', answerClientError);
  server.keepAliveTimeout = 65_000;
  await listen(server, options.port ?? ctx.config.PORT, options.host ?? ctx.config.HOST);
  return {
    app,
    server,
    url: serverUrl(server),
    routes: () => [
      ...(options.fastRoutes ?? []).map((r) => ({ method: r.method.toUpperCase(), path: r.path })),
      ...routesOf(app.router as unknown as Router, '/', { appLevel: true }),
      ...[{ path: '/', router: health }, ...routers].flatMap(({ path, router }) => routesOf(router, path)),
    ],
    close: () => closeServer(server, state),
  };
}

interface StackLayer {
  route?: { path: unknown; methods: Record<string, boolean> };
  handle?: { stack?: unknown };
}

/**
 * The routes of one router mounted at `prefix`. A router mounted inside a feature router is not
 * followed (none is): it throws, rather than leave its routes out. With `appLevel`, the app's own
 * stack, whose mounted routers are listed from `routers` instead.
 */
function routesOf(router: Router, prefix: string, options: { appLevel?: boolean } = {}): MountedRoute[] {
  const found: MountedRoute[] = [];
  for (const layer of router.stack as StackLayer[]) {
    if (!layer.route) {
      if (!options.appLevel && layer.handle?.stack) throw new Error(`a router nested under ${prefix} is not enumerated`);
      continue;
    }
    const { path, methods } = layer.route;
    if (typeof path !== 'string') throw new Error(`a route under ${prefix} has a path that is not a string`);
    const full = `${prefix.replace(/\/$/, '')}${path === '/' && prefix !== '/' ? '' : path}` || '/';
    for (const method of Object.keys(methods)) found.push({ method: method === '_all' ? '*' : method.toUpperCase(), path: full });
  }
  return found;
}

/**
 * `METRICS_PORT`: `GET /metrics` on a server of its own (on `METRICS_HOST`), off the public port,
 * behind `METRICS_TOKEN` when that is set too. Every role can run it, so worker and market
 * processes are scraped as well, and probed: `/healthz` and `/readyz` are served here too (a
 * process without the web role has no other HTTP server).
 */
export async function startMetricsServer(
  ctx: AppContext,
  options: { port?: number; host?: string; readiness?: Readiness } = {},
): Promise<{ server: Server; url: string; close(): Promise<void> }> {
  const state = { shuttingDown: false };
  const app = express();
  app.disable('x-powered-by');
  app.use(securityHeaders);
  app.get('/metrics', ...metricsHandlers(ctx));
  app.use(healthRouter(ctx, state, options.readiness));
  app.use(notFoundHandler);
  app.use(errorHandler(ctx.log));
  const server = createServer(app);
  server.on('clientError', answerClientError);
  const port = options.port ?? ctx.config.METRICS_PORT;
  if (port === undefined) throw new Error('METRICS_PORT is not set');
  await listen(server, port, options.host ?? ctx.config.METRICS_HOST);
  return { server, url: serverUrl(server), close: () => closeServer(server, state) };
}

async function listen(server: Server, port: number, host: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

function serverUrl(server: Server): string {
  const address = server.address() as AddressInfo;
  return `http://${address.address.includes(':') ? `[${address.address}]` : address.address}:${address.port}`;
}

async function closeServer(server: Server, state: { shuttingDown: boolean }): Promise<void> {
  state.shuttingDown = true;
  await new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeIdleConnections();
    setTimeout(() => server.closeAllConnections(), 5_000).unref();
  });
}
