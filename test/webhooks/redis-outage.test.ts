import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalRedis, type LocalRedis } from '../../src/services/local-redis.ts';
import { sleep } from '../../src/services/process-utils.ts';
import { examples, startWebhookServer, testClock, withFields, type WebhookServer } from './webhook-harness.ts';

/**
 * A throwaway redis-server of this file's own, stopped and restarted on the same port while the
 * webhook server keeps running (the shared test Redis is never disturbed).
 */
const holdings = examples.api_key_schema.ACCOUNT_HOLDINGS_UPDATED!;
const log = pino({ level: 'warn' });
const STORE_TIMEOUT_MS = 500;

let root: string;
let redis: LocalRedis | undefined;
let port: number;
let server: WebhookServer;

async function startRedis(): Promise<LocalRedis> {
  return startLocalRedis({ dir: join(root, `redis-${Date.now()}`), persistent: false, log, ...(port ? { port } : {}) });
}

/** Delivers like SnapTrade: retries until a 2xx (here every 200 ms instead of every 30 minutes). */
async function deliverUntilAccepted(body: object, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await server.post(body);
    if (res.status === 200 || Date.now() > deadline) return res;
    expect(res.status).toBe(503);
    await sleep(200);
  }
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'foliostream-webhook-outage-'));
  redis = await startRedis();
  port = Number(new URL(redis.url).port);
  const clock = testClock(Date.parse(holdings.eventTimestamp as string) + 1000);
  server = await startWebhookServer({
    namespace: 'outage',
    redisUrl: redis.url,
    router: { now: clock.now, storeTimeoutMs: STORE_TIMEOUT_MS },
  });
});

afterAll(async () => {
  await server?.close();
  await redis?.stop();
  rmSync(root, { recursive: true, force: true });
});

describe('when Redis is unavailable', () => {
  it('answers 503 FS_STORAGE_UNAVAILABLE within a couple of seconds while Redis is stopped, and appends the redelivery once it is back', async () => {
    const body = withFields(holdings, { webhookId: 'outage-stopped' });
    await redis!.stop();
    redis = undefined;
    // Under load the client may not have seen the socket close yet; the claim is about what
    // happens once it has (before that, a post waits out the store timeout instead).
    if (!['reconnecting', 'close', 'end'].includes(server.ctx.redis.status)) await once(server.ctx.redis, 'close');

    for (let i = 0; i < 3; i++) {
      const res = await server.post(body);
      expect(res).toEqual({
        status: 503,
        json: { error: { code: 'FS_STORAGE_UNAVAILABLE', message: expect.any(String) } },
      });
    }
    expect(await server.metric('foliostream_webhooks_failed_total')).toBe(3);
    // Known to be disconnected: answered at once, nothing left queued to run after the reconnect.
    expect(await server.metric('foliostream_webhooks_failed_total', { reason: 'unavailable' })).toBe(3);
    expect(server.logs.some((l) => l.msg === 'webhook could not be stored; answered 503')).toBe(true);

    redis = await startRedis();
    const res = await deliverUntilAccepted(body, 10_000);
    expect(res.json.status).toBe('accepted');
    const appended = await server.appended();
    expect(appended.map((a) => a.envelope.id)).toEqual(['outage-stopped']);
  });

  it('answers 503 when Redis hangs past the store timeout; the late append then makes the retry a 200 duplicate, appended once', async () => {
    const body = withFields(holdings, { webhookId: 'outage-paused' });
    const admin = new Redis(redis!.url);
    try {
      // Writes (and scripts) wait while the server is paused, as behind a stalled network.
      await admin.call('CLIENT', 'PAUSE', String(STORE_TIMEOUT_MS * 3), 'WRITE');
      const res = await server.post(body);
      // The answer came from the store timeout (counted as such), not from Redis.
      expect(res.status).toBe(503);
      expect(await server.metric('foliostream_webhooks_failed_total', { reason: 'timeout' })).toBe(1);

      const retry = await deliverUntilAccepted(body, 10_000);
      expect(retry.status).toBe(200);
      // The first delivery's append ran once Redis resumed: the retry is its duplicate.
      expect(retry.json.status).toBe('duplicate');
      const appended = (await server.appended()).filter((a) => a.envelope.id === 'outage-paused');
      expect(appended).toHaveLength(1);
      expect(retry.json.streamId).toBe(appended[0]!.streamId);
    } finally {
      admin.disconnect();
    }
  });
});
