import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestRedis, type TestRedis } from '../support/redis.ts';
import { examples, startWebhookServer, testClock, withFields, type WebhookServer } from './webhook-harness.ts';

const holdings = examples.api_key_schema.ACCOUNT_HOLDINGS_UPDATED!;

let redis: TestRedis;
let server: WebhookServer;

beforeAll(async () => {
  redis = await createTestRedis();
  const clock = testClock(Date.parse(holdings.eventTimestamp as string) + 1000);
  server = await startWebhookServer({ namespace: redis.prefix, router: { now: clock.now } });
});

afterAll(async () => {
  await server.close();
  await redis.cleanup();
});

describe('dedupe on webhookId', () => {
  it('appends a webhook sent 20 times concurrently exactly once; every delivery gets 200 with its stream id', async () => {
    const body = withFields(holdings, { webhookId: 'race-20' });
    const answers = await Promise.all(Array.from({ length: 20 }, () => server.post(body)));

    expect(answers.every((a) => a.status === 200)).toBe(true);
    const statuses = answers.map((a) => a.json.status);
    expect(statuses.filter((s) => s === 'accepted')).toHaveLength(1);
    expect(statuses.filter((s) => s === 'duplicate')).toHaveLength(19);
    expect(new Set(answers.map((a) => a.json.streamId)).size).toBe(1);

    const appended = await server.appended();
    expect(appended).toHaveLength(1);
    expect(appended[0]?.envelope.id).toBe('race-20');
    expect(await server.metric('foliostream_webhooks_duplicate_total')).toBe(19);
  });

  it('appends distinct webhookIds of one user in the order they were acknowledged, each once', async () => {
    const bodies = Array.from({ length: 30 }, (_, i) => withFields(holdings, { webhookId: `distinct-${i}` }));
    const answers = await Promise.all(bodies.flatMap((b) => [server.post(b), server.post(b)]));
    expect(answers.filter((a) => a.json.status === 'accepted')).toHaveLength(30);
    const appended = (await server.appended()).filter((a) => a.envelope.id.startsWith('distinct-'));
    expect(appended).toHaveLength(30);
    // One user, one partition: the stream order is the acknowledgement order (ids increase).
    const accepted = answers.filter((a) => a.json.status === 'accepted').map((a) => a.json.streamId as string);
    expect(appended.map((a) => a.streamId).sort()).toEqual([...accepted].sort());
  });

  it('remembers a webhookId for the configured TTL (7 days by default)', async () => {
    const body = withFields(holdings, { webhookId: 'ttl-check' });
    await server.post(body);
    const appended = await server.appended();
    const entry = appended.find((a) => a.envelope.id === 'ttl-check')!;
    const ttl = await redis.client.ttl(server.ctx.keys.webhookSeen(entry.envelope.partition, 'ttl-check'));
    expect(ttl).toBeGreaterThan(7 * 24 * 3600 - 60);
    expect(ttl).toBeLessThanOrEqual(7 * 24 * 3600);
    expect(await redis.client.get(server.ctx.keys.webhookSeen(entry.envelope.partition, 'ttl-check'))).toBe(entry.streamId);
  });
});
