import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startTestEngine, type TestEngine } from '../support/engine.ts';

/**
 * The whole engine with METRICS_PORT and METRICS_TOKEN set: metrics leave the public port for a
 * server of their own, which serves every role's metrics. And the webhooks the sandbox sends
 * (SnapTrade's shape, deprecated `webhookSecret` included) are applied and recorded in
 * `webhook_inbox` without that secret.
 */
const TOKEN = 'e2e-metrics-token-0123456789';
const USER = 'e2e-inbox-user';
let engine: TestEngine;

beforeAll(async () => {
  engine = await startTestEngine({ env: { METRICS_PORT: '0', METRICS_TOKEN: TOKEN } });
});
afterAll(async () => {
  await engine?.stop();
});

describe('METRICS_PORT', () => {
  it('moves GET /metrics off the public port to its own server, which serves the worker and market metrics too', async () => {
    const onPublic = await fetch(`${engine.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(onPublic.status).toBe(404);
    const metricsUrl = engine.app.roles.metrics?.url;
    expect(metricsUrl).toBeDefined();
    expect(metricsUrl).not.toBe(engine.url);
    expect((await fetch(`${metricsUrl}/metrics`)).status).toBe(401);
    const response = await fetch(`${metricsUrl}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(response.status).toBe(200);
    const text = await response.text();
    expect(text).toContain('foliostream_webhooks_accepted_total');
    expect(text).toMatch(/^foliostream_market_/m);
  });
});

describe('webhook_inbox', () => {
  it("records the sandbox's webhooks without their deprecated webhookSecret", async () => {
    expect((await engine.api(USER, 'POST', '/api/snaptrade/connection-url', {})).status).toBe(200);
    await engine.sandbox.control.connect(USER, {
      brokerage: 'QUESTRADE',
      accounts: [{ name: 'Inbox', currency: 'USD', positions: [{ symbol: 'AAPL', units: 1 }] }],
    });
    const rows = await eventually(async () => {
      const found = await engine.db.knex('webhook_inbox').where({ snaptrade_user_id: USER }).select('event_type', 'payload');
      return found.length >= 2 ? found : undefined;
    }, 20_000, 'webhooks in the inbox');
    for (const row of rows as { event_type: string; payload: Record<string, unknown> }[]) {
      expect(row.payload, row.event_type).not.toHaveProperty('webhookSecret');
      expect(row.payload).toMatchObject({ userId: USER, clientId: expect.any(String) });
    }
  });
});
