import { readFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import pino from 'pino';
import { inject } from 'vitest';
import { loadConfig } from '../../src/config/config.ts';
import { startHttpServer, type HttpServer } from '../../src/http/server.ts';
import { createContext, type AppContext } from '../../src/runtime/context.ts';
import { signWebhook } from '../../src/snaptrade/signature.ts';
import { createWebhookHandler, webhookRouter, type WebhookRouterOptions } from '../../src/webhooks/webhook-router.ts';
import { decodeEnvelope, ENVELOPE_FIELD, type Envelope } from '../../streams/envelope.ts';
import { singleRedis } from '../../src/runtime/redis-client.ts';

export const CONSUMER_KEY = 'test-consumer-key-current';
export const PREVIOUS_CONSUMER_KEY = 'test-consumer-key-previous';
export const WEBHOOK_PATH = '/api/snaptrade/webhook';

type Example = Record<string, unknown>;
interface ExamplesFile {
  api_key_schema: Record<string, Example>;
  oauth_v1_schema: Record<string, Example>;
  removed_from_docs: Record<string, Example>;
}

/** SnapTrade's official examples (verbatim copy of shared/reference/snaptrade/webhook-examples.json). */
export const examples = JSON.parse(
  readFileSync(new URL('../fixtures/snaptrade-webhook-examples.json', import.meta.url), 'utf8'),
) as ExamplesFile;

export interface WebhookServer {
  ctx: AppContext;
  http: HttpServer;
  url: string;
  /** JSON log lines the server wrote. */
  logs: Record<string, unknown>[];
  post(body: string | object, options?: PostOptions): Promise<{ status: number; json: Record<string, unknown> }>;
  /** Every envelope appended under this server's namespace, across all partitions. */
  appended(): Promise<{ streamId: string; envelope: Envelope }[]>;
  /** Value of one counter/histogram series from the metrics registry. */
  metric(name: string, labels?: Record<string, string>): Promise<number>;
  close(): Promise<void>;
}

export interface PostOptions {
  /** Signature header; by default the body signed with CONSUMER_KEY. `null` sends none. */
  signature?: string | null;
  contentType?: string | null;
  headers?: Record<string, string>;
}

/**
 * A real HTTP server with only the webhook route, a real Redis (the test run's, or `redisUrl`)
 * under the key namespace `namespace`, and a context built from a real config.
 */
export async function startWebhookServer(options: {
  namespace: string;
  redisUrl?: string;
  env?: Record<string, string>;
  router?: WebhookRouterOptions;
  /** @default 'fast', as production mounts it */
  mounting?: 'fast' | 'express';
}): Promise<WebhookServer> {
  const logs: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString().split('\n')) if (line) logs.push(JSON.parse(line) as Record<string, unknown>);
      callback();
    },
  });
  const log = pino({ level: 'debug' }, sink);
  const config = loadConfig({
    NODE_ENV: 'test',
    SNAPTRADE_CONSUMER_KEY: CONSUMER_KEY,
    SNAPTRADE_PREVIOUS_CONSUMER_KEY: PREVIOUS_CONSUMER_KEY,
    PARTITION_COUNT: '16',
    ...options.env,
  });
  const ctx = createContext({
    config,
    redisTarget: singleRedis(options.redisUrl ?? inject('redisUrl')),
    // The webhook path never touches Postgres; knex connects lazily, so nothing is opened.
    databaseUrl: inject('databaseUrl'),
    namespace: options.namespace,
    log,
  });
  // Production serves the webhook on the fast route in front of Express (src/app/roles.ts);
  // `mounting: 'express'` runs the same contract on the Express router.
  const mounted = options.mounting === 'express' ? webhookRouter(ctx, { ...options.router, log }) : createWebhookHandler(ctx, { ...options.router, log });
  const http =
    options.mounting === 'express'
      ? await startHttpServer(ctx, [{ path: WEBHOOK_PATH, router: mounted as ReturnType<typeof webhookRouter> }], { port: 0 })
      : await startHttpServer(ctx, [], { port: 0, fastRoutes: [{ method: 'POST', path: WEBHOOK_PATH, handler: mounted as ReturnType<typeof createWebhookHandler> }] });

  return {
    ctx,
    http,
    url: http.url,
    logs,
    async post(body, postOptions = {}) {
      const text = typeof body === 'string' ? body : JSON.stringify(body);
      const headers: Record<string, string> = { ...postOptions.headers };
      const contentType = postOptions.contentType === undefined ? 'application/json' : postOptions.contentType;
      if (contentType !== null) headers['content-type'] = contentType;
      let signature = postOptions.signature;
      if (signature === undefined) {
        try {
          signature = signWebhook(CONSUMER_KEY, JSON.parse(text));
        } catch {
          signature = 'not-json-so-not-signed';
        }
      }
      if (signature !== null) headers.signature = signature;
      const response = await fetch(`${http.url}${WEBHOOK_PATH}`, { method: 'POST', headers, body: text });
      const json = (await response.json()) as Record<string, unknown>;
      return { status: response.status, json };
    },
    async appended() {
      const out: { streamId: string; envelope: Envelope }[] = [];
      for (let p = 0; p < config.PARTITION_COUNT; p++) {
        const entries = await ctx.redis.xrange(ctx.keys.partitionStream(p), '-', '+');
        for (const [streamId, fields] of entries) {
          const raw = fields[fields.indexOf(ENVELOPE_FIELD) + 1]!;
          out.push({ streamId, envelope: decodeEnvelope(raw) });
        }
      }
      return out;
    },
    async metric(name, labels = {}) {
      const metric = ctx.metrics.getSingleMetric(name);
      if (!metric) return 0;
      const { type, values } = await metric.get();
      return values
        .filter((v) => String(type) !== 'histogram' || (v as { metricName?: string }).metricName === `${name}_count`)
        .filter((v) => Object.entries(labels).every(([k, want]) => String((v.labels as Record<string, unknown>)[k]) === want))
        .reduce((sum, v) => sum + v.value, 0);
    },
    async close() {
      await http.close();
      await mounted.close();
      await ctx.close();
    },
  };
}

/** A copy of a body with `overrides` applied (undefined deletes a field). */
export function withFields(body: Example, overrides: Record<string, unknown>): Example {
  const out: Example = { ...body };
  for (const [key, value] of Object.entries(overrides)) {
    if (value === undefined) delete out[key];
    else out[key] = value;
  }
  return out;
}

/** A clock the tests move: the age check compares `eventTimestamp` with it. */
export function testClock(start = Date.now()): { now: () => number; set(ms: number): void } {
  let current = start;
  return {
    now: () => current,
    set(ms) {
      current = ms;
    },
  };
}
