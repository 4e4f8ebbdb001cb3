import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signWebhook } from '../../src/snaptrade/signature.ts';
import { createTestRedis, type TestRedis } from '../support/redis.ts';
import { CONSUMER_KEY, examples, startWebhookServer, WEBHOOK_PATH, withFields, type WebhookServer } from './webhook-harness.ts';

const MAX_BYTES = 4096;
const MAX_AGE_SECONDS = 3600;
const holdings = examples.api_key_schema.ACCOUNT_HOLDINGS_UPDATED!;

let redis: TestRedis;
let server: WebhookServer;
let counter = 0;

/** A fresh ACCOUNT_HOLDINGS_UPDATED that happened `ageSeconds` ago by the real clock. */
function freshWebhook(ageSeconds = 5, overrides: Record<string, unknown> = {}) {
  const at = new Date(Date.now() - ageSeconds * 1000).toISOString().replace('Z', '+00:00');
  return withFields(holdings, { webhookId: `answers-${++counter}`, eventTimestamp: at, ...overrides });
}

// Production serves the webhook on the fast route in front of Express; the Express router must
// answer the same, so the whole contract runs on both mountings.
describe.each(['fast', 'express'] as const)('answers of the webhook endpoint (%s mounting)', (mounting) => {
  beforeAll(async () => {
    redis = await createTestRedis();
    // The real clock: the age limit is tested against Date.now().
    server = await startWebhookServer({
      namespace: redis.prefix,
      mounting,
      env: { WEBHOOK_MAX_BYTES: String(MAX_BYTES), WEBHOOK_MAX_AGE_SECONDS: String(MAX_AGE_SECONDS) },
    });
  });

  afterAll(async () => {
    await server.close();
    await redis.cleanup();
  });

  it('413 FS_PAYLOAD_TOO_LARGE for a body over WEBHOOK_MAX_BYTES, and nothing appended', async () => {
    const body = freshWebhook(5, { padding: 'x'.repeat(MAX_BYTES) });
    const res = await server.post(body);
    expect(res).toEqual({ status: 413, json: { error: { code: 'FS_PAYLOAD_TOO_LARGE', message: expect.any(String) } } });
  });

  it('413 also when the body is streamed (chunked, no Content-Length) past the limit', async () => {
    const body = JSON.stringify(freshWebhook(5, { padding: 'y'.repeat(MAX_BYTES) }));
    const status = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const url = new URL(`${server.url}${WEBHOOK_PATH}`);
      const req = request(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', signature: signWebhook(CONSUMER_KEY, JSON.parse(body)) },
      });
      req.on('response', (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      });
      req.on('error', reject);
      // Two writes without a length: Node sends Transfer-Encoding: chunked.
      req.write(body.slice(0, 100));
      req.end(body.slice(100));
    });
    expect(status.status).toBe(413);
    expect(JSON.parse(status.text)).toMatchObject({ error: { code: 'FS_PAYLOAD_TOO_LARGE' } });
  });

  it('400 FS_MALFORMED_JSON for broken JSON', async () => {
    const raw = JSON.stringify(freshWebhook()).slice(0, -1);
    const res = await server.post(raw, { signature: 'c2lnbmF0dXJl' });
    expect(res).toEqual({ status: 400, json: { error: { code: 'FS_MALFORMED_JSON', message: 'request body is not valid JSON' } } });
  });

  it('400 FS_VALIDATION naming the missing common field', async () => {
    const res = await server.post(freshWebhook(5, { userId: undefined }));
    expect(res.status).toBe(400);
    expect(res.json).toEqual({ error: { code: 'FS_VALIDATION', message: expect.stringContaining('userId') } });
  });

  it("400 FS_VALIDATION naming a field the event type's documentation requires", async () => {
    const res = await server.post(freshWebhook(5, { accountId: undefined }));
    expect(res.json).toEqual({ error: { code: 'FS_VALIDATION', message: expect.stringContaining('accountId') } });
    const typed = await server.post(freshWebhook(5, { details: { positions: { success: 'yes' } } }));
    expect(typed.json).toEqual({ error: { code: 'FS_VALIDATION', message: expect.stringContaining('details.positions.success') } });
    const notObject = await server.post(['a', 'b']);
    expect(notObject.json).toEqual({ error: { code: 'FS_VALIDATION', message: 'body must be a JSON object' } });
  });

  it('400 FS_VALIDATION for an eventTimestamp that is not ISO 8601 with an offset', async () => {
    const res = await server.post(freshWebhook(5, { eventTimestamp: '2024-03-01 14:38:13' }));
    expect(res.json).toEqual({ error: { code: 'FS_VALIDATION', message: expect.stringContaining('eventTimestamp') } });
  });

  it.each([
    ['text/plain', 'text/plain'],
    ['no content type', null],
    ['form data', 'application/x-www-form-urlencoded'],
    ['a non-UTF-8 charset', 'application/json; charset=latin1'],
  ])('415 FS_UNSUPPORTED_MEDIA_TYPE for %s', async (_name, contentType) => {
    const res = await server.post(freshWebhook(), { contentType });
    expect(res).toEqual({ status: 415, json: { error: { code: 'FS_UNSUPPORTED_MEDIA_TYPE', message: expect.any(String) } } });
  });

  it('415 FS_UNSUPPORTED_MEDIA_TYPE for a compressed body (SnapTrade sends identity)', async () => {
    const res = await server.post(freshWebhook(), { headers: { 'content-encoding': 'gzip' } });
    expect(res.json).toMatchObject({ error: { code: 'FS_UNSUPPORTED_MEDIA_TYPE' } });
  });

  it('accepts application/json with a UTF-8 charset', async () => {
    const res = await server.post(freshWebhook(), { contentType: 'Application/JSON; charset="UTF-8"' });
    expect(res.json.status).toBe('accepted');
  });

  it('401 FS_WEBHOOK_SIGNATURE without a Signature header, before the body is looked at', async () => {
    const res = await server.post('{not json', { signature: null });
    expect(res).toEqual({ status: 401, json: { error: { code: 'FS_WEBHOOK_SIGNATURE', message: expect.any(String) } } });
  });

  it('401 (not 400) for a schema-invalid body with a bad signature: unauthenticated callers learn nothing', async () => {
    const res = await server.post({ hello: 'world' }, { signature: signWebhook('wrong-key-wrong-key', { hello: 'world' }) });
    expect(res.status).toBe(401);
  });

  it('400 FS_WEBHOOK_STALE for an eventTimestamp older than WEBHOOK_MAX_AGE_SECONDS', async () => {
    const res = await server.post(freshWebhook(MAX_AGE_SECONDS + 60));
    expect(res).toEqual({ status: 400, json: { error: { code: 'FS_WEBHOOK_STALE', message: expect.stringContaining('older than 3600') } } });
  });

  it('400 FS_WEBHOOK_STALE for an eventTimestamp far in the future', async () => {
    const res = await server.post(freshWebhook(-3600));
    expect(res.json).toMatchObject({ error: { code: 'FS_WEBHOOK_STALE' } });
    // Small clock skew is fine.
    expect((await server.post(freshWebhook(-30))).json.status).toBe('accepted');
  });

  it("accepts SnapTrade's retries that arrive 30 to 55 minutes late (within the window)", async () => {
    for (const minutes of [30, 45, 55]) {
      expect((await server.post(freshWebhook(minutes * 60))).json.status).toBe('accepted');
    }
  });

  it('counts every rejection by reason in the metrics, and logs it', async () => {
    expect(await server.metric('foliostream_webhooks_rejected_total', { reason: 'too_large' })).toBe(2);
    expect(await server.metric('foliostream_webhooks_rejected_total', { reason: 'malformed_json' })).toBe(1);
    expect(await server.metric('foliostream_webhooks_rejected_total', { reason: 'invalid_schema' })).toBe(5);
    expect(await server.metric('foliostream_webhooks_rejected_total', { reason: 'unsupported_media_type' })).toBe(5);
    expect(await server.metric('foliostream_webhooks_rejected_total', { reason: 'bad_signature' })).toBe(2);
    expect(await server.metric('foliostream_webhooks_rejected_total', { reason: 'stale' })).toBe(2);
    expect(server.logs.filter((l) => l.msg === 'webhook rejected')).toHaveLength(17);
    expect(server.logs.every((l) => !JSON.stringify(l).includes(holdings.webhookSecret as string))).toBe(true);
  });

  it('appended only the webhooks it answered "accepted" for', async () => {
    const appended = await server.appended();
    expect(appended.map((a) => a.envelope.id).sort()).toEqual(
      server.logs.filter((l) => l.msg === 'webhook accepted').map((l) => l.webhookId).sort(),
    );
    expect(appended).toHaveLength(5);
  });
});
