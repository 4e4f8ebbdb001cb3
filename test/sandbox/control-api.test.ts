import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SandboxControlError } from '../../sandbox/control-client.ts';
import { startSandbox, type Sandbox } from '../../sandbox/sandbox.ts';
import { WEBHOOK_EVENT_TYPES, webhookExample } from '../../sandbox/snaptrade/webhook-events.ts';

let sandbox: Sandbox;

beforeEach(async () => {
  sandbox = await startSandbox({ snaptradePort: 0, alpacaPort: 0, seed: 9, logger: pino({ level: 'silent' }) });
});

afterEach(async () => {
  await sandbox.close();
});

async function controlError(call: Promise<unknown>): Promise<SandboxControlError> {
  try {
    await call;
  } catch (err) {
    if (err instanceof SandboxControlError) return err;
    throw err;
  }
  throw new Error('expected the control call to fail');
}

describe('sandbox control API', () => {
  it('lists its endpoints at GET /__sandbox', async () => {
    const response = await fetch(`${sandbox.snaptradeUrl}/__sandbox`);
    const body = (await response.json()) as { endpoints: string[] };
    expect(body.endpoints.some((e) => e.includes('/__sandbox/faults'))).toBe(true);
  });

  it('refuses an invalid body with 400 and a stable error code', async () => {
    const err = await controlError(sandbox.control.addFault({ kind: 'random', probability: 2 }));
    expect(err).toMatchObject({ status: 400, code: 'invalid_body' });
    expect(err.message).toContain('probability');
  });

  it('answers 404 for unknown users, accounts and securities', async () => {
    expect(await controlError(sandbox.control.connect('nobody', { brokerage: 'ROBINHOOD' }))).toMatchObject({ status: 404 });
    expect(await controlError(sandbox.control.account('00000000-0000-4000-8000-000000000000'))).toMatchObject({ status: 404 });
    expect(await controlError(sandbox.control.setPrices({ symbol: 'NOPE', price: 1 }))).toMatchObject({ status: 404 });
  });

  it('fires every documented event type with exactly the documented keys', async () => {
    await sandbox.control.createUser({ userId: 'u1', webhook: false });
    const auth = await sandbox.control.connect('u1', { brokerage: 'QUESTRADE', webhooks: false });
    const accountId = auth.accounts[0]!.id;
    for (const eventType of WEBHOOK_EVENT_TYPES) {
      const delivery = await sandbox.control.fireWebhook({ eventType, userId: 'u1', accountId });
      expect(Object.keys(delivery.payload).sort(), eventType).toEqual(Object.keys(webhookExample(eventType)!).sort());
    }
    const unknown = await sandbox.control.fireWebhook({ eventType: 'SOMETHING_NEW', userId: 'u1', fields: { extra: 1 } });
    expect(unknown.payload).toMatchObject({ eventType: 'SOMETHING_NEW', extra: 1 });
    // No webhook URL configured: everything is logged, nothing is sent.
    expect(new Set((await sandbox.control.webhooks({ userId: 'u1' })).map((d) => d.state))).toEqual(new Set(['no_url']));
  });

  it('replaces positions and cash, and reports them with current prices', async () => {
    await sandbox.control.createUser({ userId: 'u2', webhook: false });
    const auth = await sandbox.control.connect('u2', {
      brokerage: 'WEALTHSIMPLE',
      webhooks: false,
      accounts: [{ currency: 'CAD', positions: [] }],
    });
    const accountId = auth.accounts[0]!.id;
    await sandbox.control.setPrices({ prices: { 'SHOP.TO': 100, AAPL: 200 } });
    const account = await sandbox.control.setPositions(accountId, {
      positions: [
        { symbol: 'SHOP.TO', units: 5, averageCost: 80 },
        { symbol: 'AAPL', units: 1 },
      ],
      cash: { CAD: 50 },
    });
    expect(account.positions).toEqual([
      expect.objectContaining({ symbol: 'SHOP.TO', units: 5, averageCost: 80, price: 100, currency: 'CAD' }),
      expect.objectContaining({ symbol: 'AAPL', units: 1, averageCost: 200, price: 200, currency: 'USD' }),
    ]);
    const [hook] = await sandbox.control.waitForWebhooks((d) => d.length === 1, { eventType: 'ACCOUNT_HOLDINGS_UPDATED' });
    expect(hook!.payload.accountId).toBe(accountId);
    const removed = await sandbox.control.setPosition(accountId, { symbol: 'AAPL', units: 0, notify: false });
    expect(removed.positions.map((p) => p.symbol)).toEqual(['SHOP.TO']);
  });

  it('reset forgets users and clears counters, webhook log and faults', async () => {
    await sandbox.control.createUser({ userId: 'u3' });
    await sandbox.control.addFault({ kind: 'latency', latencyMs: 5 });
    await sandbox.control.reset();
    expect((await sandbox.control.state()).users).toEqual([]);
    expect(await sandbox.control.webhooks()).toEqual([]);
    expect((await sandbox.control.faults()).faults).toEqual([]);
  });
});
