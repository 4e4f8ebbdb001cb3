import { Router } from 'express';
import type { AppContext } from '../runtime/context.ts';
import { errorBody } from './errors.ts';

/**
 * `/healthz`: the process is up (liveness). `/readyz`: Redis and Postgres answer and we are not
 * shutting down (readiness; load balancers stop sending traffic when it fails).
 * `/metrics`: Prometheus exposition.
 */
export function healthRouter(ctx: AppContext, state: { shuttingDown: boolean }): Router {
  const router = Router();
  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  router.get('/readyz', async (_req, res) => {
    if (state.shuttingDown) {
      res.status(503).json(errorBody('FS_NOT_READY', 'shutting down'));
      return;
    }
    const checks = await Promise.allSettled([
      withTimeout(ctx.redis.ping(), 1_000),
      withTimeout(ctx.db.raw('select 1'), 1_000),
    ]);
    const [redis, postgres] = checks.map((c) => (c.status === 'fulfilled' ? 'ok' : 'down'));
    if (redis === 'ok' && postgres === 'ok') {
      res.json({ status: 'ok', redis, postgres });
    } else {
      res.status(503).json({ ...errorBody('FS_NOT_READY', 'a dependency is down'), redis, postgres });
    }
  });
  router.get('/metrics', async (_req, res) => {
    res.type(ctx.metrics.contentType).send(await ctx.metrics.metrics());
  });
  return router;
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('timeout')), ms);
    promise.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(timer);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}
