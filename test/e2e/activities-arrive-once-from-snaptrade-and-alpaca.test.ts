import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ActivityListResponse } from '../../src/api/schemas.ts';
import type { ActivityView } from '../../src/activities/activity.ts';
import type { ActivitiesSyncedPayload } from '../../src/activities/normalize-activities.ts';
import { createAlpacaClient } from '../../src/providers/alpaca/client.ts';
import { signWebhook } from '../../src/snaptrade/signature.ts';
import { eventually, startTestEngine, type TestEngine } from '../support/engine.ts';
import { userSettled, userStream } from '../support/user-stream.ts';
import { KO_DIVIDEND } from '../support/activities.ts';

/**
 * Activities end to end, on the sandbox with the real SDKs: a SnapTrade account's seeded history
 * arrives after ACCOUNT_TRANSACTIONS_INITIAL_UPDATE; a dividend the brokerage then records arrives
 * after ACCOUNT_TRANSACTIONS_UPDATED, once, although that webhook is delivered twice and a
 * second transactions webhook fetches it again; an Alpaca account's deposit and a fill arrive too.
 */
const USER = 'e2e-activities-user';
let engine: TestEngine;

beforeAll(async () => {
  engine = await startTestEngine({ env: { SYNC_DEBOUNCE_MS: '100', ALPACA_LINK_REFRESH_MS: '300' } });
});
afterAll(async () => {
  await engine?.stop();
});

async function activities(query = ''): Promise<ActivityView[]> {
  const { status, body } = await engine.api<ActivityListResponse>(USER, 'GET', `/api/activities?limit=200${query}`);
  expect(status).toBe(200);
  return body.activities;
}

/** The user's applied `activities.synced` events of one brokerage account that carry the activity `id`. */
async function fetchesCarrying(accountExternalId: string, id: string): Promise<number> {
  const entries = await userStream(engine, USER);
  return entries.filter((e) => {
    if (e.envelope.type !== 'activities.synced') return false;
    const payload = e.envelope.payload as ActivitiesSyncedPayload;
    return payload.accountId === accountExternalId && payload.activities.some((a) => (a as { id?: string }).id === id);
  }).length;
}

describe('activities', () => {
  it("SnapTrade: the account's history, then a dividend stored once although its webhook comes twice", async () => {
    const { control } = engine.sandbox;
    expect((await engine.api(USER, 'POST', '/api/snaptrade/connection-url', {})).status).toBe(200);
    const auth = await control.connect(USER, {
      brokerage: 'QUESTRADE',
      accounts: [{ name: 'Margin', currency: 'USD', cash: { USD: 1000 }, positions: [{ symbol: 'KO', units: 40, averageCost: 60 }] }],
    });
    const external = auth.accounts[0]!.id;
    await engine.applied(USER, (e) => e.type === 'activities.synced' && (e.payload as ActivitiesSyncedPayload).accountId === external, 60_000);
    await userSettled(engine, USER);
    const { body: listed } = await engine.api<{ accounts: { id: string; externalId: string }[] }>(USER, 'GET', '/api/accounts');
    const accountId = listed.accounts.find((a) => a.externalId === external)!.id;

    const history = await activities();
    expect(history.every((a) => a.accountId === accountId && a.provider === 'snaptrade')).toBe(true);
    expect(history.find((a) => a.type === 'buy')).toMatchObject({ symbol: 'KO', units: '40', price: '60', amount: '-2400', currency: 'USD' });
    expect(history.filter((a) => a.type === 'deposit')).toHaveLength(1);
    expect(history.find((a) => a.type === 'fee')).toMatchObject({ amount: '-25', currency: 'USD' });
    // Newest first.
    expect(history.map((a) => a.tradeDate)).toEqual(history.map((a) => a.tradeDate).sort().reverse());

    // The brokerage pays a dividend and sends ACCOUNT_TRANSACTIONS_UPDATED.
    const dividend = await control.recordActivity(external, KO_DIVIDEND);
    const [hook] = await control.waitForWebhooks(
      (d) => d.some((x) => x.state === 'delivered' && x.payload.accountId === external),
      { eventType: 'ACCOUNT_TRANSACTIONS_UPDATED', userId: USER },
      10_000,
    );
    await eventually(async () => ((await fetchesCarrying(external, dividend.id)) >= 1 ? true : undefined), 30_000, 'a fetch with the dividend');
    await userSettled(engine, USER);

    // SnapTrade delivers the same webhook again (it did not see our answer), and then another
    // ACCOUNT_TRANSACTIONS_UPDATED for the account: a second fetch brings the dividend again.
    const delivered = hook!.payload;
    const again = await fetch(`${engine.url}/api/snaptrade/webhook`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', Signature: signWebhook(engine.sandbox.consumerKey, delivered) },
      body: JSON.stringify(delivered),
    });
    expect(again.status).toBe(200);
    await control.fireWebhook({ eventType: 'ACCOUNT_TRANSACTIONS_UPDATED', userId: USER, accountId: external, authorizationId: auth.id });
    await eventually(async () => ((await fetchesCarrying(external, dividend.id)) >= 2 ? true : undefined), 30_000, 'a second fetch with the dividend');
    await userSettled(engine, USER);

    const dividends = await activities(`&type=dividend&accountId=${accountId}`);
    expect(dividends.filter((a) => a.providerActivityId === dividend.id)).toEqual([
      expect.objectContaining({ type: 'dividend', symbol: 'KO', units: '40', price: '0.51', amount: '20.4', currency: 'USD', description: 'KO CASH DIV ON 40 SHS' }),
    ]);
    expect(await activities()).toHaveLength(history.length + 1);
    // The newest one first, and a page of one leads to the next.
    const { body: first } = await engine.api<ActivityListResponse>(USER, 'GET', '/api/activities?limit=1');
    expect(first.activities[0]!.providerActivityId).toBe(dividend.id);
    const { body: second } = await engine.api<ActivityListResponse>(USER, 'GET', `/api/activities?limit=1&cursor=${first.nextCursor}`);
    expect(second.activities[0]!.providerActivityId).toBe(history[0]!.providerActivityId);
  });

  it('Alpaca: the opening deposit and a fill of a linked account', async () => {
    const { sandbox } = engine;
    const account = sandbox.alpaca.createAccount({ cash: 50_000 });
    expect((await engine.api(USER, 'POST', '/api/alpaca/accounts', { keyId: account.keyId, secretKey: account.secretKey })).status).toBe(201);
    const alpacaActivities = async () => (await activities()).filter((a) => a.provider === 'alpaca');
    const deposits = await eventually(async () => {
      const found = await alpacaActivities();
      return found.length ? found : undefined;
    }, 30_000, "the Alpaca account's activities");
    expect(deposits).toEqual([expect.objectContaining({ type: 'deposit', providerType: 'CSD', amount: '50000', currency: 'USD' })]);

    // The market role follows the account's trade_updates: a fill there fetches the activities again.
    await eventually(async () => (sandbox.alpaca.connectionCounts().tradeUpdates > 0 ? true : undefined), 30_000, 'trade updates stream open');
    sandbox.priceBook.setPrice('AAPL', 200);
    const client = createAlpacaClient({ keyId: account.keyId, secretKey: account.secretKey, tradingUrl: sandbox.alpacaUrl, dataUrl: sandbox.alpacaUrl });
    const order = await client.sdk.trading.orders.market({ symbol: 'AAPL', qty: 3, side: 'buy' });
    const bought = await eventually(async () => (await alpacaActivities()).find((a) => a.type === 'buy'), 30_000, 'the fill as an activity');
    expect(bought).toMatchObject({ providerType: 'FILL', symbol: 'AAPL', units: '3', price: '200', amount: '-600', externalReferenceId: order.id });
    await userSettled(engine, USER);
    expect(await alpacaActivities()).toHaveLength(2);
  });
});
