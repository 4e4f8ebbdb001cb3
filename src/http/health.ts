import { Router, type RequestHandler } from 'express';
import { requireBearerToken } from '../auth/middleware.ts';
import type { AppContext } from '../runtime/context.ts';
import type { HealthResponse, NotReadyResponse, ReadyResponse } from '../api/schemas.ts';
import { errorBody } from './errors.ts';

/** What a process's roles add to `/readyz`, read at each request. */
export interface Readiness {
  /** The market role's lease, when the role runs in this process: `active` (holds it) or `standby`. */
  market?: () => 'active' | 'standby' | undefined;
}

/**
 * `/healthz`: the process is up (liveness). `/readyz`: Redis and Postgres answer and we are not
 * shutting down (readiness; load balancers stop sending traffic when it fails). A process running
 * the market role also says whether it is the active one (`market: active`) or a standby
 * (`market: standby`); either is ready, a standby being exactly what it should be.
 * `/metrics`: Prometheus exposition, here only when `METRICS_PORT` does not move it to a server of
 * its own (`startMetricsServer`), and behind `METRICS_TOKEN` when that is set.
 */
export function healthRouter(ctx: AppContext, state: { shuttingDown: boolean }, readiness: Readiness = {}): Router {
  const router = Router();
  router.get('/healthz', (_req, res) => {
    const body: HealthResponse = { status: 'ok' };
    res.json(body);
  });
  router.get('/readyz', async (_req, res) => {
    if (state.shuttingDown) {
      const body: NotReadyResponse = errorBody('FS_NOT_READY', 'shutting down');
      res.status(503).json(body);
      return;
    }
    const checks = await Promise.allSettled([
      withTimeout(ctx.redis.ping(), 1_000),
      withTimeout(ctx.db.raw('select 1'), 1_000),
    ]);
    const [redis = 'down', postgres = 'down'] = checks.map((c) => (c.status === 'fulfilled' ? ('ok' as const) : ('down' as const)));
    const marketState = readiness.market?.();
    const market = marketState === undefined ? {} : { market: marketState };
    if (redis === 'ok' && postgres === 'ok') {
      const body: ReadyResponse = { status: 'ok', redis, postgres, ...market };
      res.json(body);
    } else {
      const body: NotReadyResponse = { ...errorBody('FS_NOT_READY', 'a dependency is down'), redis, postgres, ...market };
      res.status(503).json(body);
    }
  });
  if (ctx.config.METRICS_PORT === undefined) router.get('/metrics', ...metricsHandlers(ctx));
  return router;
}

/** `GET /metrics`: the bearer check when `METRICS_TOKEN` is set, then the exposition. */
export function metricsHandlers(ctx: AppContext): RequestHandler[] {
  const expose: RequestHandler = async (_req, res) => {
    res.type(ctx.metrics.contentType).send(await ctx.metrics.metrics());
  };
  const token = ctx.config.METRICS_TOKEN;
  return token ? [requireBearerToken(token, 'metrics token required'), expose] : [expose];
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
