import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signWebhook } from '../../src/snaptrade/signature.ts';
import { ENVELOPE_FIELD } from '../../streams/envelope.ts';
import { createTestRedis, type TestRedis } from '../support/redis.ts';
import { CONSUMER_KEY, examples, startWebhookServer, withFields, type WebhookServer } from './webhook-harness.ts';

/**
 * SnapTrade repeats its deprecated `webhookSecret` in every API-key webhook. The signature covers
 * it, so it is checked with the body, then dropped: neither the stream entry (nor, downstream,
 * `webhook_inbox` and replays) nor the logs ever hold it.
 */
const SECRET_VALUE = 'DeprecatedSecretValue42';
let redis: TestRedis;
let server: WebhookServer;
let counter = 0;

function signedWebhook(overrides: Record<string, unknown> = {}) {
  const at = new Date(Date.now() - 5_000).toISOString().replace('Z', '+00:00');
  return withFields(examples.api_key_schema.ACCOUNT_HOLDINGS_UPDATED!, {
    webhookId: `secret-${++counter}`,
    eventTimestamp: at,
    webhookSecret: SECRET_VALUE,
    ...overrides,
  });
}

beforeAll(async () => {
  redis = await createTestRedis();
  server = await startWebhookServer({ namespace: redis.prefix });
});
afterAll(async () => {
  await server.close();
  await redis.cleanup();
});

describe('the deprecated webhookSecret', () => {
  it('is verified as part of the signed body, then absent from the stream entry', async () => {
    const body = signedWebhook();
    // Signed over the body with webhookSecret in it, as SnapTrade signs.
    const res = await server.post(body, { signature: signWebhook(CONSUMER_KEY, body) });
    expect(res).toEqual({ status: 200, json: { status: 'accepted', streamId: expect.any(String) } });

    const [entry] = (await server.appended()).filter((a) => a.envelope.id === body.webhookId);
    expect(entry).toBeDefined();
    expect(entry!.envelope.payload).not.toHaveProperty('webhookSecret');
    // The rest of the body is kept as received.
    const { webhookSecret: _dropped, ...rest } = body;
    expect(entry!.envelope.payload).toEqual(rest);
    // Nowhere in the raw entry either.
    const raw = await redis.client.xrange(server.ctx.keys.partitionStream(entry!.envelope.partition), entry!.streamId, entry!.streamId);
    const fields = raw[0]![1];
    expect(fields[fields.indexOf(ENVELOPE_FIELD) + 1]).not.toContain(SECRET_VALUE);
    expect(fields.join(' ')).not.toContain('webhookSecret');
  });

  it('still counts for the signature: a body whose webhookSecret was changed after signing is refused', async () => {
    const body = signedWebhook();
    const signature = signWebhook(CONSUMER_KEY, body);
    const res = await server.post({ ...body, webhookSecret: 'changed-in-transit' }, { signature });
    expect(res.status).toBe(401);
    const removed = await server.post(withFields(body, { webhookSecret: undefined }), { signature });
    expect(removed.status).toBe(401);
  });

  it('never reaches the logs', () => {
    expect(server.logs.length).toBeGreaterThan(0);
    expect(server.logs.every((line) => !JSON.stringify(line).includes(SECRET_VALUE))).toBe(true);
  });
});
