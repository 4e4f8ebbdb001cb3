import { WAIT_FLOOR_MS } from './wait-floor.ts';
import pino from 'pino';
import { startFoliostream, type Foliostream } from '../../src/app/foliostream.ts';
import { issueUserToken, userTokenSettings } from '../../src/auth/user-tokens.ts';
import { loadConfig, type Config } from '../../src/config/config.ts';
import { setRootLogger } from '../../src/logging/logger.ts';
import { startSandbox, type Sandbox, type SandboxOptions } from '../../sandbox/sandbox.ts';
import { waitForCheckpoint } from '../../src/api/checkpoint-wait.ts';
import type { Envelope } from '../../streams/envelope.ts';
import { streamKeys } from '../../streams/keys.ts';
import { partitionOf } from '../../streams/partition.ts';
import { createTestDatabase, type TestDatabase } from './database.ts';
import { createTestRedis, type TestRedis } from './redis.ts';
import { sandboxEnv } from './role-process.ts';

export interface TestEngine {
  app: Foliostream;
  sandbox: Sandbox;
  db: TestDatabase;
  redis: TestRedis;
  config: Config;
  /** The web role's base URL. */
  url: string;
  namespace: string;
  token(userId: string, ttlSeconds?: number): Promise<string>;
  /**
   * Waits until an event of the user that `matches` is in their partition stream and their actor
   * has applied it (its checkpoint reached it): a positive marker instead of a sleep. Resolves
   * with the entry's stream id.
   */
  applied(userId: string, matches: (envelope: Envelope) => boolean, timeoutMs?: number): Promise<string>;
  /** Calls the engine's HTTP API as `userId`; returns status and parsed body. */
  api<T = unknown>(userId: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: T }>;
  stop(): Promise<void>;
}

/**
 * The whole engine in this process, as `npm start` runs it (every role unless `ROLES` says
 * otherwise), on the test Redis (own key namespace) and a fresh database, against a sandbox of
 * its own on free ports. For end-to-end tests; `stop()` removes everything it made.
 */
export async function startTestEngine(
  options: {
    env?: Record<string, string>;
    sandbox?: SandboxOptions;
    /** The engine's logger (a capture, say). */
    log?: pino.Logger;
    /**
     * Redis of the test's own (a cluster: `startTestRedisCluster`), instead of the shared test
     * Redis; `stop()` cleans it up. Give `REDIS_CLUSTER` in `env` for a cluster.
     */
    redis?: TestRedis;
  } = {},
): Promise<TestEngine> {
  setRootLogger(pino({ level: process.env.TEST_LOG_LEVEL ?? 'error' }));
  const redis = options.redis ?? (await createTestRedis());
  const db = await createTestDatabase({ migrate: false });
  const sandbox = await startSandbox({
    snaptradePort: 0,
    alpacaPort: 0,
    webhookUrl: null,
    webhookRetryScheduleMs: [200, 500, 1_000],
    ...options.sandbox,
  });
  const namespace = redis.prefix.replace(/:$/, '');
  let app: Foliostream | undefined;
  try {
    const config = loadConfig({
      NODE_ENV: 'test',
      HOST: '127.0.0.1',
      PORT: '0',
      REDIS_URL: redis.url,
      DATABASE_URL: db.url,
      ...sandboxEnv(sandbox),
      LEASE_TTL_MS: '3000',
      SYNC_DEBOUNCE_MS: '300',
      SYNC_ACCOUNT_FLOOR_MS: '0',
      PARTITION_COUNT: '4',
      REALTIME_DELTA_WINDOW_MS: '50',
      ...options.env,
    });
    app = await startFoliostream(config, options.log ?? pino({ level: process.env.TEST_LOG_LEVEL ?? 'error' }), { namespace });
    const url = app.url!;
    await sandbox.control.configureWebhooks({ url: `${url}/api/snaptrade/webhook` });
    const started = app;
    return {
      app: started,
      sandbox,
      db,
      redis,
      config,
      url,
      namespace,
      token: (userId, ttl = 3600) => issueUserToken(userTokenSettings(config), userId, ttl),
      async applied(userId, matches, timeoutMs = 15_000) {
        const key = streamKeys(namespace).partitionStream(partitionOf(userId, config.PARTITION_COUNT));
        const streamId = await eventually(
          async () => {
            const entries = await redis.client.xrange(key, '-', '+');
            const found = entries.find(([, fields]) => {
              const envelope = JSON.parse(fields[1] ?? 'null') as Envelope | null;
              return envelope?.user === userId && matches(envelope);
            });
            return found?.[0];
          },
          timeoutMs,
          'the event in the stream',
        );
        if (!(await waitForCheckpoint(db.knex, userId, streamId, timeoutMs))) throw new Error(`event ${streamId} was not applied`);
        return streamId;
      },
      async api(userId, method, path, body) {
        const token = await issueUserToken(userTokenSettings(config), userId, 600);
        const response = await fetch(`${url}${path}`, {
          method,
          headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        });
        const text = await response.text();
        return { status: response.status, body: (text ? JSON.parse(text) : null) as never };
      },
      async stop() {
        // As the process's shutdown handler does, the engine's stop is given up after its grace
        // (the roles have named the stuck step in an error log by then); the rest is the test's own.
        await giveUpAfter('the engine stop', ENGINE_STOP_GRACE_MS, started.stop());
        await sayIfSlow('closing the sandbox', sandbox.close());
        await sayIfSlow('cleaning up Redis', redis.cleanup());
        await sayIfSlow('dropping the database', db.drop());
      },
    };
  } catch (err) {
    await app?.stop();
    await sandbox.close();
    await redis.cleanup();
    await db.drop();
    throw err;
  }
}

/** The shutdown handler's grace (src/runtime/shutdown.ts): a stop still running then is abandoned. */
const ENGINE_STOP_GRACE_MS = 30_000;

/** Resolves with `work`, or after `ms` with a line on stderr saying what was abandoned. */
async function giveUpAfter(what: string, ms: number, work: Promise<void>): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const gaveUp = new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      process.stderr.write(`test engine: ${what} did not finish within ${ms} ms; given up as the shutdown handler would\n`);
      resolve();
    }, ms);
  });
  await Promise.race([work, gaveUp]).finally(() => clearTimeout(timer));
}

/** Awaits `work`, saying on stderr what it is waiting for when that takes more than 30 s. */
async function sayIfSlow(what: string, work: Promise<void>): Promise<void> {
  const timer = setTimeout(() => process.stderr.write(`test engine: still ${what} after 30 s\n`), 30_000);
  await work.finally(() => clearTimeout(timer));
}

/** Polls `check` until it returns a value other than undefined, or fails after `timeoutMs` (at least WAIT_FLOOR_MS). */
export async function eventually<T>(check: () => Promise<T | undefined>, timeoutMs = 20_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + Math.max(timeoutMs, WAIT_FLOOR_MS);
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
