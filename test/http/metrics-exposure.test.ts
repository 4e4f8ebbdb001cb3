import pino from 'pino';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { loadConfig } from '../../src/config/config.ts';
import { startHttpServer, startMetricsServer } from '../../src/http/server.ts';
import { createContext, type AppContext } from '../../src/runtime/context.ts';
import { singleRedis } from '../../src/runtime/redis-client.ts';

/**
 * Where `GET /metrics` is served: public on PORT outside production when nothing is configured
 * (documented), behind METRICS_TOKEN when that is set, and only on its own server when
 * METRICS_PORT is set.
 */
const TOKEN = 'metrics-token-0123456789';
const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function context(env: Record<string, string>): AppContext {
  const ctx = createContext({
    config: loadConfig({ NODE_ENV: 'test', ...env }),
    redisTarget: singleRedis(inject('redisUrl')), // ioredis connects, but nothing here sends a command
    databaseUrl: inject('databaseUrl'), // knex connects lazily
    namespace: `metrics-exposure-${Math.random().toString(36).slice(2)}`,
    log: pino({ level: 'silent' }),
  });
  cleanups.push(() => ctx.close());
  return ctx;
}

async function publicServer(ctx: AppContext) {
  const http = await startHttpServer(ctx, [], { port: 0, host: '127.0.0.1' });
  cleanups.push(() => http.close());
  return http;
}

async function get(url: string, token?: string) {
  const response = await fetch(url, token ? { headers: { authorization: `Bearer ${token}` } } : {});
  return { status: response.status, type: response.headers.get('content-type'), text: await response.text(), auth: response.headers.get('www-authenticate') };
}

describe('GET /metrics', () => {
  it('is public on the public port when neither METRICS_PORT nor METRICS_TOKEN is set (outside production)', async () => {
    const http = await publicServer(context({}));
    const res = await get(`${http.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.text).toContain('process_cpu_user_seconds_total');
  });

  it('with METRICS_TOKEN, needs the bearer token on the public port: 401 FS_UNAUTHENTICATED without it', async () => {
    const http = await publicServer(context({ METRICS_TOKEN: TOKEN }));
    for (const token of [undefined, 'wrong-token', `${TOKEN}x`]) {
      const res = await get(`${http.url}/metrics`, token);
      expect(res.status, String(token)).toBe(401);
      expect(JSON.parse(res.text)).toEqual({ error: { code: 'FS_UNAUTHENTICATED', message: expect.any(String) } });
      expect(res.auth).toBe('Bearer');
      expect(res.text).not.toContain('process_cpu');
    }
    const ok = await get(`${http.url}/metrics`, TOKEN);
    expect(ok.status).toBe(200);
    expect(ok.text).toContain('process_cpu_user_seconds_total');
    // The rest of the public port is unaffected.
    expect((await get(`${http.url}/healthz`)).status).toBe(200);
  });

  it('with METRICS_PORT, is served on its own server and not at all on the public port', async () => {
    const ctx = context({ METRICS_PORT: '0' });
    const http = await publicServer(ctx);
    const onPublic = await get(`${http.url}/metrics`);
    expect(onPublic.status).toBe(404);
    expect(JSON.parse(onPublic.text)).toMatchObject({ error: { code: 'FS_NOT_FOUND' } });
    const metrics = await startMetricsServer(ctx);
    cleanups.push(() => metrics.close());
    expect(new URL(metrics.url).hostname).toBe('127.0.0.1'); // METRICS_HOST's default: not the world
    const res = await get(`${metrics.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.text).toContain('process_cpu_user_seconds_total');
    // Nothing else is served there.
    expect((await get(`${metrics.url}/api/portfolio`)).status).toBe(404);
  });

  it('with both, the metrics server needs the token too', async () => {
    const ctx = context({ METRICS_PORT: '0', METRICS_TOKEN: TOKEN });
    const metrics = await startMetricsServer(ctx);
    cleanups.push(() => metrics.close());
    expect((await get(`${metrics.url}/metrics`)).status).toBe(401);
    expect((await get(`${metrics.url}/metrics`, TOKEN)).status).toBe(200);
  });
});
