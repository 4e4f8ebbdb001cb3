import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signWebhook } from '../../src/snaptrade/signature.ts';
import { createTestRedis, type TestRedis } from '../support/redis.ts';
import { snaptradeSignature } from './snaptrade-signing-recipe.ts';
import { CONSUMER_KEY, examples, startWebhookServer, testClock, WEBHOOK_PATH, type WebhookServer } from './webhook-harness.ts';

const MAX_BYTES = 2048;
const NOW = Date.parse('2026-09-01T12:00:00Z');
const allExamples = [
  ...Object.values(examples.api_key_schema),
  ...Object.values(examples.oauth_v1_schema),
  ...Object.values(examples.removed_from_docs),
];

let redis: TestRedis;
let server: WebhookServer;

beforeAll(async () => {
  redis = await createTestRedis();
  server = await startWebhookServer({
    namespace: redis.prefix,
    env: { WEBHOOK_MAX_BYTES: String(MAX_BYTES) },
    router: { now: testClock(NOW).now },
  });
});

afterAll(async () => {
  await server.close();
  await redis.cleanup();
});

/** ISO timestamps from 8 hours before NOW to 1 hour after, so some are stale and some fresh. */
const timestamp = fc
  .integer({ min: -8 * 3600, max: 3600 })
  .map((s) => new Date(NOW + s * 1000).toISOString().replace('Z', '+00:00'));

/** An official example with fields replaced by random JSON, deleted, or given fresh ids. */
const plausibleWebhook = fc
  .record({
    base: fc.constantFrom(...allExamples),
    webhookId: fc.oneof(fc.uuid(), fc.string({ minLength: 0, maxLength: 40 })),
    eventTimestamp: fc.oneof({ weight: 4, arbitrary: timestamp }, { weight: 1, arbitrary: fc.jsonValue() }),
    // Mostly intact (so that many are accepted), sometimes broken in one or two fields.
    replace: fc.oneof(
      { weight: 3, arbitrary: fc.constant({}) },
      {
        weight: 1,
        arbitrary: fc.dictionary(
          fc.constantFrom('userId', 'eventType', 'accountId', 'details', 'clientId', 'schemaVersion', 'extra'),
          fc.jsonValue(),
          { maxKeys: 2 },
        ),
      },
    ),
    remove: fc.oneof(
      { weight: 3, arbitrary: fc.constant([]) },
      { weight: 1, arbitrary: fc.subarray(['userId', 'eventType', 'accountId', 'brokerageAuthorizationId', 'clientId', 'oauthClientId']) },
    ),
  })
  .map(({ base, webhookId, eventTimestamp, replace, remove }) => {
    const body: Record<string, unknown> = { ...base, webhookId, eventTimestamp, ...replace };
    for (const key of remove) delete body[key];
    return JSON.stringify(body);
  });

const bodyText = fc.oneof(
  { weight: 5, arbitrary: plausibleWebhook },
  { weight: 2, arbitrary: fc.json() },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 300 }) },
  { weight: 1, arbitrary: fc.jsonValue().map((v) => JSON.stringify({ pad: 'p'.repeat(MAX_BYTES), v })) },
);

// Valid signatures weigh more so that about one request in ten is accepted: with 400 runs the
// "accepted more than 10" check below then sits far from its mean (about 35), not near it.
const signatureMode = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom('valid', 'python-recipe') },
  { weight: 2, arbitrary: fc.constantFrom('wrong-key', 'other-body', 'garbage', 'none') },
);
const headerText = fc.string({ unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+/=;, -'.split('')), maxLength: 60 });
const contentType = fc.oneof(
  { weight: 6, arbitrary: fc.constant<string | null>('application/json') },
  { weight: 1, arbitrary: fc.constant<string | null>(null) },
  { weight: 1, arbitrary: headerText as fc.Arbitrary<string | null> },
);

function tryParse(text: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false };
  }
}

async function totalAppended(): Promise<number> {
  const pipeline = server.ctx.redis.pipeline();
  for (let p = 0; p < 16; p++) pipeline.xlen(server.ctx.keys.partitionStream(p));
  const results = (await pipeline.exec()) ?? [];
  return results.reduce((sum, [, n]) => sum + Number(n), 0);
}

describe('random bodies and headers', () => {
  it('never answer a 5xx other than 503, never crash, never append without a valid signature', async () => {
    const acceptedIds = new Set<string>();
    let appendedSoFar = await totalAppended();

    await fc.assert(
      fc.asyncProperty(bodyText, signatureMode, contentType, headerText, async (text, mode, type, garbage) => {
        const parsed = tryParse(text);
        let signature: string | null;
        switch (mode) {
          case 'valid':
            signature = parsed.ok ? signWebhook(CONSUMER_KEY, parsed.value) : garbage;
            break;
          case 'python-recipe':
            signature = parsed.ok ? snaptradeSignature(CONSUMER_KEY, parsed.value) : garbage;
            break;
          case 'wrong-key':
            signature = parsed.ok ? signWebhook('not-the-consumer-key', parsed.value) : garbage;
            break;
          case 'other-body':
            signature = signWebhook(CONSUMER_KEY, { webhookId: 'another', body: text.length });
            break;
          case 'garbage':
            signature = garbage;
            break;
          default:
            signature = null;
        }
        const validlySigned = parsed.ok && (mode === 'valid' || mode === 'python-recipe');

        const headers: Record<string, string> = {};
        if (type !== null) headers['content-type'] = type;
        if (signature !== null) headers.signature = signature;
        const response = await fetch(`${server.url}${WEBHOOK_PATH}`, { method: 'POST', headers, body: text });
        const answer = (await response.json()) as { status?: string; error?: { code: string; message: string } };

        // Redis is healthy throughout: a 503 here would be a bug, not an outage.
        expect([200, 400, 401, 413, 415]).toContain(response.status);
        if (response.status !== 200) {
          expect(typeof answer.error?.code).toBe('string');
          expect(typeof answer.error?.message).toBe('string');
        } else {
          expect(validlySigned).toBe(true);
          expect(['accepted', 'duplicate']).toContain(answer.status);
          // A duplicate is one of a webhook this run already accepted.
          if (answer.status === 'duplicate') {
            expect(acceptedIds.has((parsed as { value: { webhookId: string } }).value.webhookId)).toBe(true);
          }
        }

        const appended = await totalAppended();
        if (answer.status === 'accepted') {
          expect(appended).toBe(appendedSoFar + 1);
          acceptedIds.add((parsed as { value: { webhookId: string } }).value.webhookId);
        } else {
          // Nothing is appended by a rejected, failed or duplicate delivery.
          expect(appended).toBe(appendedSoFar);
        }
        appendedSoFar = appended;
      }),
      { numRuns: 400 },
    );

    // The server is still up, and every appended envelope is one we answered "accepted" for.
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    const appended = await server.appended();
    expect(new Set(appended.map((a) => a.envelope.id))).toEqual(acceptedIds);
    // The generators do reach the interesting outcomes (a property over only rejections proves little).
    expect(acceptedIds.size).toBeGreaterThan(10);
    expect(await server.metric('foliostream_webhooks_rejected_total', { reason: 'bad_signature' })).toBeGreaterThan(10);
    expect(await server.metric('foliostream_webhooks_rejected_total', { reason: 'invalid_schema' })).toBeGreaterThan(10);
    expect(await server.metric('foliostream_webhooks_rejected_total', { reason: 'stale' })).toBeGreaterThan(0);
  });
});
