/**
 * The server under test for `npm run bench:ingest`, run as a child process so the load generator
 * does not share its event loop. It serves the real webhook route (the production router on a
 * real Redis) and, on the same Express app, a bare baseline route that answers 200 without reading
 * the body. A second listener serves the same webhook handler straight from `node:http` (no
 * Express), next to a bare `node:http` baseline: what a fast path in front of Express would give.
 * Parent protocol (IPC): child sends `{url, rawUrl}` when listening; exits on disconnect.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Router } from 'express';
import { loadConfig } from '../../src/config/config.ts';
import { startHttpServer } from '../../src/http/server.ts';
import { createLogger } from '../../src/logging/logger.ts';
import { createContext } from '../../src/runtime/context.ts';
import { createWebhookHandler, webhookRouter } from '../../src/webhooks/webhook-router.ts';

export const WEBHOOK_PATH = '/api/snaptrade/webhook';
export const BASELINE_PATH = '/bench/baseline';

async function main() {
  const config = loadConfig(process.env);
  const ctx = createContext({
    config,
    redisUrl: process.env.REDIS_URL!,
    databaseUrl: process.env.DATABASE_URL!,
    namespace: process.env.BENCH_NAMESPACE ?? 'bench',
    log: createLogger('bench-server'),
  });
  await ctx.redis.ping();

  const baseline = Router();
  baseline.post('/', (_req, res) => {
    res.status(200).json({ status: 'ok' });
  });

  const http = await startHttpServer(
    ctx,
    [
      { path: WEBHOOK_PATH, router: webhookRouter(ctx) },
      { path: BASELINE_PATH, router: baseline },
    ],
    { port: 0 },
  );
  const handler = createWebhookHandler(ctx);
  const raw = createServer((req, res) => {
    if (req.method === 'POST' && req.url === WEBHOOK_PATH) {
      handler(req, res);
      return;
    }
    req.resume();
    req.once('end', () => {
      res.statusCode = 200;
      res.setHeader('content-type', 'application/json; charset=utf-8');
      res.end('{"status":"ok"}');
    });
  });
  raw.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve) => raw.listen(0, '127.0.0.1', resolve));
  const rawUrl = `http://127.0.0.1:${(raw.address() as AddressInfo).port}`;

  process.send?.({ url: http.url, rawUrl });
  process.on('disconnect', () => {
    raw.close();
    raw.closeAllConnections();
    void http.close().then(() => ctx.close()).finally(() => process.exit(0));
  });
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
