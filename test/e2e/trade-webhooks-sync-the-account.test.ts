import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestEngine, type TestEngine } from '../support/engine.ts';
import { positionsSynced, snaptradeUnits, userSettled, webhookType } from '../support/user-stream.ts';

/**
 * TRADE_DETECTION and TRADE_UPDATE, applied by the user's actor, schedule a sync of the account
 * they name: the brokerage's new positions (changed there without a holdings webhook) reach the
 * portfolio, with one positions request for that account and none for the other.
 */
const USER = 'e2e-trade-webhooks-user';
const POSITIONS = 'AccountInformation_getAllAccountPositions';
let engine: TestEngine;
let authorizationId: string;
let target: string;
let other: string;

beforeAll(async () => {
  engine = await startTestEngine();
  const control = engine.sandbox.control;
  expect((await engine.api(USER, 'POST', '/api/snaptrade/connection-url', {})).status).toBe(200);
  const auth = await control.connect(USER, {
    brokerage: 'QUESTRADE',
    accounts: [
      { name: 'Margin', currency: 'USD', positions: [{ symbol: 'AAPL', units: 10 }] },
      { name: 'TFSA', currency: 'USD', positions: [{ symbol: 'MSFT', units: 1 }] },
    ],
  });
  authorizationId = auth.id;
  [target, other] = auth.accounts.map((a) => a.id) as [string, string];
  await control.waitForWebhooks((d) => d.filter((x) => x.state === 'delivered').length >= 4, { userId: USER });
  await userSettled(engine, USER);
});
afterAll(async () => {
  await engine?.stop();
});

async function quantities(): Promise<Record<string, string>> {
  const { body } = await engine.api<{ holdings: { symbol: string; quantity: string }[] }>(USER, 'GET', '/api/portfolio');
  return Object.fromEntries(body.holdings.map((h) => [h.symbol, h.quantity]));
}

describe('trade webhooks', () => {
  it.each([
    ['TRADE_DETECTION', 12],
    ['TRADE_UPDATE', 13],
  ])('%s syncs the account it names', async (eventType, units) => {
    const control = engine.sandbox.control;
    await userSettled(engine, USER);

    // The trade happened at the brokerage; only the trade webhook tells the engine.
    await control.setPositions(target, { positions: [{ symbol: 'AAPL', units }], notify: false });
    await control.resetRequests();
    await control.fireWebhook({ eventType, userId: USER, accountId: target, authorizationId });

    const reason = eventType.toLowerCase();
    await engine.applied(USER, (e) => webhookType(e) === eventType, 10_000);
    await engine.applied(USER, (e) => {
      const synced = positionsSynced(e);
      return synced?.reason === reason && synced.accountId === target && snaptradeUnits(synced).AAPL === units;
    }, 10_000);
    await userSettled(engine, USER);

    expect(await quantities()).toEqual({ AAPL: String(units), MSFT: '1' });
    const counts = await control.requests({ operationId: POSITIONS });
    expect(counts.byAccount[target]?.[POSITIONS]).toBe(1);
    expect(counts.byAccount[other]).toBeUndefined();
  });
});
