import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type Router } from 'express';
import helmet from 'helmet';
import type { AppContext } from '../runtime/context.ts';
import { errorHandler, notFoundHandler } from './error-handler.ts';
import { healthRouter } from './health.ts';

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
  options: { port?: number; host?: string } = {},
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

  const server = createServer(app);
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
