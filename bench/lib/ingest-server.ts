/**
 * The server under test for `npm run bench:ingest`, run as a child process so the load generator
 * does not share its event loop. It is the web role's server as production mounts it
 * (`startHttpServer` with the webhook on the fast path in front of Express, on a real Redis), with
 * two baselines on the same server: a fast-path route that reads the body and answers 200, and an
 * Express route that does the same; plus the webhook router mounted through Express, to show what
 * the fast path buys.
 * Parent protocol (IPC): child sends `{url}` when listening; exits on disconnect.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Router } from 'express';
import { loadConfig } from '../../src/config/config.ts';
import { startHttpServer } from '../../src/http/server.ts';
import { createLogger } from '../../src/logging/logger.ts';
import { createContext } from '../../src/runtime/context.ts';
import { createWebhookHandler, webhookRouter } from '../../src/webhooks/webhook-router.ts';
import { singleRedis } from '../../src/runtime/redis-client.ts';

export const WEBHOOK_PATH = '/api/snaptrade/webhook';
export const BASELINE_PATH = '/bench/baseline';
export const FAST_BASELINE_PATH = '/bench/fast-baseline';
export const EXPRESS_WEBHOOK_PATH = '/bench/express-webhook';

/** Reads the body and answers 200: the least a webhook endpoint can do. */
function bare(req: IncomingMessage, res: ServerResponse): void {
  req.resume();
  req.once('end', () => {
    res.statusCode = 200;
    res.setHeader('content-type', 'application/json; charset=utf-8');
    res.end('{"status":"ok"}');
  });
}

async function main() {
  const config = loadConfig(process.env);
  const ctx = createContext({
    config,
    redisTarget: singleRedis(process.env.REDIS_URL!),
    databaseUrl: process.env.DATABASE_URL!,
    namespace: process.env.BENCH_NAMESPACE ?? 'bench',
    log: createLogger('bench-server'),
  });
  await ctx.redis.ping();

  const baseline = Router();
  baseline.post('/', (req, res) => bare(req, res));

  const http = await startHttpServer(
    ctx,
    [
      { path: EXPRESS_WEBHOOK_PATH, router: webhookRouter(ctx) },
      { path: BASELINE_PATH, router: baseline },
    ],
    {
      port: 0,
      fastRoutes: [
        { method: 'POST', path: WEBHOOK_PATH, handler: createWebhookHandler(ctx) },
        { method: 'POST', path: FAST_BASELINE_PATH, handler: bare },
      ],
    },
  );

  process.send?.({ url: http.url });
  process.on('disconnect', () => {
    void http.close().then(() => ctx.close()).finally(() => process.exit(0));
  });
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
