import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type Router } from 'express';
import helmet from 'helmet';
import type { AppContext } from '../runtime/context.ts';
import { errorHandler, notFoundHandler } from './error-handler.ts';
import { healthRouter } from './health.ts';

/**
 * A route served before Express: a plain handler for one method and exact path. Used for the
 * webhook endpoint, where Express's per-request overhead halves the throughput (see
 * docs/BENCHMARKS.md); its handler reads the raw body and answers JSON itself.
 */
export interface FastRoute {
  method: string;
  path: string;
  handler: (req: IncomingMessage, res: ServerResponse) => void;
}

export interface HttpServer {
  app: express.Express;
  server: Server;
  url: string;
  /** Stop accepting, let in-flight requests finish (bounded), then close. */
  close(): Promise<void>;
}

/**
 * The web role's HTTP server. Feature routers mount under their own paths; each parses its own
 * body (the webhook route needs the raw bytes, so there is no global JSON parser).
 */
export async function startHttpServer(
  ctx: AppContext,
  routers: { path: string; router: Router }[] = [],
  options: { port?: number; host?: string; fastRoutes?: FastRoute[] } = {},
): Promise<HttpServer> {
  const state = { shuttingDown: false };
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', 'loopback');
  app.use(helmet());
  app.use(healthRouter(ctx, state));
  for (const { path, router } of routers) app.use(path, router);
  app.use(notFoundHandler);
  app.use(errorHandler(ctx.log));

  const fast = new Map((options.fastRoutes ?? []).map((r) => [`${r.method.toUpperCase()} ${r.path}`, r.handler]));
  const server = createServer((req, res) => {
    if (fast.size > 0) {
      const path = (req.url ?? '/').split('?')[0];
      const handler = fast.get(`${req.method} ${path}`);
      if (handler) {
        if (state.shuttingDown) res.setHeader('Connection', 'close');
        res.setHeader('X-Content-Type-Options', 'nosniff');
        handler(req, res);
        return;
      }
    }
    app(req, res);
  });
  server.keepAliveTimeout = 65_000;
  const port = options.port ?? ctx.config.PORT;
  const host = options.host ?? ctx.config.HOST;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const url = `http://${address.address.includes(':') ? `[${address.address}]` : address.address}:${address.port}`;
  return {
    app,
    server,
    url,
    async close() {
      state.shuttingDown = true;
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
        setTimeout(() => server.closeAllConnections(), 5_000).unref();
      });
    },
  };
}
