import { afterEach, describe, expect, it } from 'vitest';
import { partitionOf } from '../../streams/partition.ts';
import { createTestRedis, type TestRedis } from '../support/redis.ts';
import { sdkStyleSignature, snaptradeSignature } from './snaptrade-signing-recipe.ts';
import {
  CONSUMER_KEY,
  examples,
  PREVIOUS_CONSUMER_KEY,
  startWebhookServer,
  testClock,
  withFields,
  type WebhookServer,
} from './webhook-harness.ts';

const cases = [
  ...Object.entries(examples.api_key_schema).map(([type, body]) => ({ name: `api_key ${type}`, body, schema: 'api_key' })),
  ...Object.entries(examples.oauth_v1_schema).map(([type, body]) => ({ name: `oauth_v1 ${type}`, body, schema: 'oauth_v1' })),
];

let redis: TestRedis | undefined;
let server: WebhookServer | undefined;

afterEach(async () => {
  await server?.close();
  await redis?.cleanup();
  server = undefined;
  redis = undefined;
});

/**
 * One namespace per example: the docs reuse webhookIds across examples (CONNECTION_UPDATED and
 * CONNECTION_FAILED, TRADE_DETECTION and TRADE_UPDATE), which in one keyspace are duplicates.
 */
async function serverAt(eventTimestamp: string, env: Record<string, string> = {}) {
  redis = await createTestRedis();
  // The examples date from 2022-2026: the clock stands one minute after each event.
  const clock = testClock(Date.parse(eventTimestamp) + 60_000);
  server = await startWebhookServer({ namespace: redis.prefix, router: { now: clock.now }, env });
  return server;
}

/** SnapTrade posts the body pretty-printed in the docs' key order; the signature is over its parsed form. */
function asSent(body: object): string {
  return JSON.stringify(body, null, 2);
}

describe('every official SnapTrade example, signed with the documented recipe', () => {
  it.each(cases)('$name is accepted and appended exactly once', async ({ body, schema }) => {
    const s = await serverAt(body.eventTimestamp as string);
    const raw = asSent(body);
    const signature = snaptradeSignature(CONSUMER_KEY, body);

    const first = await s.post(raw, { signature });
    expect(first.status).toBe(200);
    expect(first.json).toEqual({ status: 'accepted', streamId: expect.stringMatching(/^\d+-\d+$/) });

    const again = await s.post(raw, { signature });
    expect(again).toEqual({ status: 200, json: { status: 'duplicate', streamId: first.json.streamId } });

    const appended = await s.appended();
    expect(appended).toHaveLength(1);
    const [{ streamId, envelope }] = appended as [(typeof appended)[number]];
    const userId = body.userId as string;
    expect(streamId).toBe(first.json.streamId);
    expect(envelope).toEqual({
      id: body.webhookId,
      type: 'snaptrade.webhook',
      user: userId,
      partition: partitionOf(userId, 16),
      time: new Date(Date.parse(body.eventTimestamp as string) + 60_000).toISOString(),
      schema: 1,
      // As received, less SnapTrade's deprecated webhookSecret (dropped once the signature is checked).
      payload: withFields(body, { webhookSecret: undefined }),
      meta: { eventType: body.eventType, webhookSchema: schema, knownEventType: true },
    });
    expect(await s.metric('foliostream_webhooks_accepted_total', { event_type: body.eventType as string, schema })).toBe(1);
    expect(await s.metric('foliostream_webhooks_duplicate_total')).toBe(1);
    expect(s.logs.find((l) => l.msg === 'webhook accepted')).toMatchObject({ webhookId: body.webhookId, streamId });
  });

  it.each(cases)('$name with one character changed is refused and nothing is appended', async ({ body }) => {
    const s = await serverAt(body.eventTimestamp as string);
    const raw = asSent(body);
    const signature = snaptradeSignature(CONSUMER_KEY, body);
    // Change the last character of the userId value: still valid JSON, still schema-valid.
    const userId = body.userId as string;
    const at = raw.indexOf(`"${userId}"`) + userId.length;
    const tampered = raw.slice(0, at) + (raw[at] === 'x' ? 'y' : 'x') + raw.slice(at + 1);
    expect(tampered).not.toBe(raw);
    expect(tampered).toHaveLength(raw.length);

    const res = await s.post(tampered, { signature });
    expect(res.status).toBe(401);
    expect(res.json).toEqual({ error: { code: 'FS_WEBHOOK_SIGNATURE', message: expect.any(String) } });
    expect(await s.appended()).toHaveLength(0);
    expect(await s.metric('foliostream_webhooks_rejected_total', { reason: 'bad_signature' })).toBe(1);
  });
});

describe('signing keys', () => {
  const body = examples.api_key_schema.ACCOUNT_HOLDINGS_UPDATED!;

  it('accepts a webhook signed with the previous consumer key during a rotation', async () => {
    const s = await serverAt(body.eventTimestamp as string);
    const res = await s.post(body, { signature: snaptradeSignature(PREVIOUS_CONSUMER_KEY, body) });
    expect(res.json.status).toBe('accepted');
  });

  it('refuses the previous key once no rotation is configured, and any other key', async () => {
    const s = await serverAt(body.eventTimestamp as string, { SNAPTRADE_PREVIOUS_CONSUMER_KEY: '' });
    expect((await s.post(body, { signature: snaptradeSignature(PREVIOUS_CONSUMER_KEY, body) })).status).toBe(401);
    expect((await s.post(body, { signature: snaptradeSignature('some-other-consumer-key', body) })).status).toBe(401);
    expect((await s.post(body, { signature: '' })).status).toBe(401);
    expect(await s.appended()).toHaveLength(0);
  });

  it('verifies non-ASCII payloads signed by the Python recipe (escaped) and by the TypeScript SDK (raw)', async () => {
    const s = await serverAt(body.eventTimestamp as string);
    const python = withFields(body, { webhookId: 'unicode-python', brokerageName: 'Société Générale – 日本 🚀' });
    const sdk = withFields(body, { webhookId: 'unicode-sdk', brokerageName: 'Société Générale – 日本 🚀' });
    expect((await s.post(python, { signature: snaptradeSignature(CONSUMER_KEY, python) })).json.status).toBe('accepted');
    // The TypeScript SDK's canonical JSON: sorted keys, non-ASCII as is.
    const raw = sdkStyleSignature(CONSUMER_KEY, sdk);
    expect(raw).not.toBe(snaptradeSignature(CONSUMER_KEY, sdk));
    expect((await s.post(sdk, { signature: raw })).json.status).toBe('accepted');
    expect(await s.appended()).toHaveLength(2);
  });
});

describe('event types SnapTrade has not documented', () => {
  it('accepts TRADES_PLACED (removed from the docs) and records it as unknown', async () => {
    const body = examples.removed_from_docs.TRADES_PLACED!;
    const s = await serverAt(body.eventTimestamp as string);
    const res = await s.post(body, { signature: snaptradeSignature(CONSUMER_KEY, body) });
    expect(res.json.status).toBe('accepted');
    const [entry] = await s.appended();
    expect(entry?.envelope.payload).toEqual(withFields(body, { webhookSecret: undefined }));
    expect(entry?.envelope.meta).toEqual({ eventType: 'TRADES_PLACED', webhookSchema: 'api_key', knownEventType: false });
    expect(await s.metric('foliostream_webhooks_accepted_total', { event_type: 'unknown' })).toBe(1);
    expect(s.logs.find((l) => l.msg === 'webhook of an unknown type accepted and recorded')).toMatchObject({
      eventType: 'TRADES_PLACED',
    });
  });

  it('accepts an unknown schemaVersion on the common fields and records it as such', async () => {
    const base = examples.oauth_v1_schema.CONNECTION_ATTEMPTED!;
    const body = withFields(base, { schemaVersion: 'oauth_v2', oauthClientId: undefined, eventType: 'SOMETHING_NEW' });
    const s = await serverAt(body.eventTimestamp as string);
    expect((await s.post(body)).json.status).toBe('accepted');
    const [entry] = await s.appended();
    expect(entry?.envelope.meta).toEqual({ eventType: 'SOMETHING_NEW', webhookSchema: 'unknown', knownEventType: false });
  });
});
