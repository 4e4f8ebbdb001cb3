import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keySlot } from '../../src/runtime/key-slot.ts';
import { streamKeys } from '../../streams/keys.ts';
import { partitionOf } from '../../streams/partition.ts';
import { startTestEngine, type TestEngine } from '../support/engine.ts';
import { startTestRedisCluster, type TestRedisCluster } from '../support/redis-cluster.ts';

/**
 * Failover under webhook load: with WEBHOOK_MIN_REPLICAS=1 a webhook is answered 200 only once a
 * replica holds it. The master serving the user's partition is killed with SIGKILL mid-stream and
 * its replica is promoted (it then serves the stream read below). Every webhook the engine
 * answered 200 is in the partition stream afterwards; and the promoted master has no replica of
 * its own (3 masters with one replica each), so every webhook sent after the kill is refused
 * (503, SnapTrade retries and finally gives up here) instead of answered without a copy.
 */
const USER = 'cluster-failover-user';
const WEBHOOKS = 30;
let redis: TestRedisCluster;
let engine: TestEngine;

beforeAll(async () => {
  redis = await startTestRedisCluster();
  engine = await startTestEngine({
    redis,
    env: { REDIS_CLUSTER: 'true', WEBHOOK_MIN_REPLICAS: '1', WEBHOOK_REPLICA_TIMEOUT_MS: '500' },
    sandbox: { webhookRetryScheduleMs: [300, 600, 1_200, 2_400, 4_800, 4_800] },
  });
});
afterAll(async () => {
  await engine?.stop();
});

describe('a master killed under webhook load', () => {
  it('loses no webhook that was answered 200', async () => {
    const control = engine.sandbox.control;
    expect((await engine.api(USER, 'POST', '/api/snaptrade/connection-url', {})).status).toBe(200);
    const auth = await control.connect(USER, { brokerage: 'QUESTRADE', accounts: [{ name: 'Margin', currency: 'USD', positions: [{ symbol: 'AAPL', units: 1 }] }] });
    const earlier = new Set((await control.waitForWebhooks((d) => d.length > 0 && d.every((x) => x.state !== 'pending'), { userId: USER }, 30_000)).map((d) => d.webhookId));
    const fired = (d: { webhookId: string }[]) => d.filter((x) => !earlier.has(x.webhookId));
    const stream = streamKeys(engine.namespace).partitionStream(partitionOf(USER, engine.config.PARTITION_COUNT));
    const owner = redis.clusterClient.slots[keySlot(stream)]![0]!;
    const victim = redis.cluster.nodes.find((node) => owner.endsWith(`:${node.port}`))!;
    const afterKill = new Set<string>();
    for (let i = 0; i < WEBHOOKS; i++) {
      if (i === WEBHOOKS / 3) process.kill(victim.pid, 'SIGKILL');
      const delivery = await control.fireWebhook({ eventType: 'ACCOUNT_HOLDINGS_UPDATED', userId: USER, accountId: auth.accounts[0]!.id, authorizationId: auth.id });
      if (i >= WEBHOOKS / 3) afterKill.add(delivery.webhookId);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const settled = await control.waitForWebhooks((d) => fired(d).length === WEBHOOKS && d.every((x) => x.state !== 'pending'), { userId: USER }, 120_000);
    const acknowledged = settled.filter((d) => !earlier.has(d.webhookId) && d.state === 'delivered');
    expect(acknowledged.length).toBeGreaterThan(0);
    // Nothing sent after the kill was answered 200: no replica could hold it.
    expect(acknowledged.filter((d) => afterKill.has(d.webhookId)).map((d) => d.webhookId)).toEqual([]);
    expect(settled.filter((d) => afterKill.has(d.webhookId)).every((d) => d.attempts.every((a) => a.status !== 200))).toBe(true);

    const entries = await redis.clusterClient.xrange(stream, '-', '+');
    const stored = entries.map(([, fields]) => fields[1] ?? '');
    const lost = acknowledged.filter((d) => !stored.some((text) => text.includes(d.webhookId))).map((d) => d.webhookId);
    expect(lost).toEqual([]);
  });
});
