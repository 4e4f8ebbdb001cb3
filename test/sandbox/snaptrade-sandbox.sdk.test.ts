import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { Snaptrade, SnaptradeAuth, SnaptradeError } from 'snaptrade-typescript-sdk';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ControlAccount } from '../../sandbox/control-client.ts';
import { startSandbox, type Sandbox } from '../../sandbox/sandbox.ts';
import { loadSnaptradeSpec, type SnaptradeSpec } from '../../sandbox/snaptrade/openapi-spec.ts';
import { snaptradeFetch } from '../../sandbox/snaptrade/signed-fetch.ts';
import { webhookExample } from '../../sandbox/snaptrade/webhook-events.ts';
import { canonicalJson } from '../../src/snaptrade/canonical-json.ts';
import { WAIT_FLOOR_MS } from '../support/wait-floor.ts';

const CLIENT_ID = 'TEST-CLIENT';
const CONSUMER_KEY = 'test-consumer-key-0123456789';

interface Received {
  headers: Record<string, string | string[] | undefined>;
  raw: string;
  body: Record<string, unknown>;
}

/** A tiny webhook receiver: records every POST, answers with the next scripted status (200 after). */
async function startReceiver(statuses: number[] = []): Promise<{ url: string; received: Received[]; close(): Promise<void> }> {
  const received: Received[] = [];
  const server: Server = createServer((req, res) => {
    let raw = '';
    req.on('data', (chunk: Buffer) => (raw += chunk.toString('utf8')));
    req.on('end', () => {
      received.push({ headers: req.headers, raw, body: JSON.parse(raw) as Record<string, unknown> });
      res.statusCode = statuses.shift() ?? 200;
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/webhook`,
    received,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

async function until<T>(probe: () => T | undefined, timeoutMs = 5_000): Promise<T> {
  const deadline = Date.now() + Math.max(timeoutMs, WAIT_FLOOR_MS);
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

let sandbox: Sandbox;
let snaptrade: ReturnType<typeof sdkClient>;
let spec: SnaptradeSpec;

beforeEach(async () => {
  spec = await loadSnaptradeSpec();
  sandbox = await startSandbox({
    snaptradePort: 0,
    alpacaPort: 0,
    clientId: CLIENT_ID,
    consumerKey: CONSUMER_KEY,
    seed: 42,
    logger: pino({ level: 'silent' }),
  });
  await sandbox.control.settings({ refreshDelayMs: 10 });
  snaptrade = sdkClient(sandbox.snaptradeUrl);
});

afterEach(async () => {
  await sandbox.close();
});

function sdkClient(basePath: string, consumerKey = CONSUMER_KEY) {
  return new Snaptrade({ auth: SnaptradeAuth.commercialApiKey({ clientId: CLIENT_ID, consumerKey }), basePath });
}

/** The SDK call's error (SnaptradeError carries status and SnapTrade's body). */
async function sdkError(call: Promise<unknown>): Promise<SnaptradeError> {
  try {
    await call;
  } catch (err) {
    if (err instanceof SnaptradeError) return err;
    throw err;
  }
  throw new Error('expected the call to fail');
}

function expectConforms(operationId: string, data: unknown, status = 200): void {
  const result = spec.validateResponse(operationId, status, data);
  expect(result.errors, operationId).toEqual([]);
}

describe('SnapTrade sandbox through snaptrade-typescript-sdk 11', () => {
  it('answers every endpoint the product uses with bodies that conform to the SnapTrade spec', async () => {
    const status = await snaptrade.apiStatus.check();
    expectConforms('ApiStatus_check', status.data);
    expect(status.data.online).toBe(true);

    const { data: registered } = await snaptrade.authentication.registerSnapTradeUser({ userId: 'alice' });
    expectConforms('Authentication_registerSnapTradeUser', registered);
    const user = { userId: 'alice', userSecret: registered.userSecret! };
    const { data: users } = await snaptrade.authentication.listSnapTradeUsers();
    expectConforms('Authentication_listSnapTradeUsers', users);
    expect(users).toEqual(['alice']);

    const { data: login } = await snaptrade.authentication.loginSnapTradeUser({ ...user, broker: 'QUESTRADE' });
    expectConforms('Authentication_loginSnapTradeUser', login);
    expect(login).toMatchObject({ redirectURI: expect.stringContaining(sandbox.snaptradeUrl), sessionId: expect.any(String) });

    const questrade = await sandbox.control.connect('alice', { brokerage: 'QUESTRADE', type: 'trade' });
    const robinhood = await sandbox.control.connect('alice', { brokerage: 'ROBINHOOD' });

    const { data: auths } = await snaptrade.connections.listBrokerageAuthorizations(user);
    expectConforms('Connections_listBrokerageAuthorizations', auths);
    expect(auths.map((a) => a.brokerage?.slug).sort()).toEqual(['QUESTRADE', 'ROBINHOOD']);
    const { data: detail } = await snaptrade.connections.detailBrokerageAuthorization({ ...user, authorizationId: questrade.id });
    expectConforms('Connections_detailBrokerageAuthorization', detail);
    expect(detail.disabled).toBe(false);

    const { data: accounts } = await snaptrade.accountInformation.listUserAccounts(user);
    expectConforms('AccountInformation_listUserAccounts', accounts);
    expect(accounts).toHaveLength(questrade.accounts.length + robinhood.accounts.length);
    const cadAccount = questrade.accounts.find((a) => a.currency === 'CAD')!;
    const { data: accountDetail } = await snaptrade.accountInformation.getUserAccountDetails({ ...user, accountId: cadAccount.id });
    expectConforms('AccountInformation_getUserAccountDetails', accountDetail);
    expect(accountDetail.balance.total?.currency).toBe('CAD');

    const { data: positions } = await snaptrade.accountInformation.getAllAccountPositions({ ...user, accountId: cadAccount.id });
    expectConforms('AccountInformation_getAllAccountPositions', positions);
    expect(positions.results.length).toBe(cadAccount.positions.length);
    for (const position of positions.results) {
      const instrument = position.instrument as { symbol: string; id: string };
      const security = sandbox.priceBook.security(instrument.symbol)!;
      expect(instrument.id).toBe(security.snaptradeId);
      expect(Number(position.price)).toBeCloseTo(sandbox.priceBook.quote(instrument.symbol)!.price, 6);
      expect(position.currency).toBe(security.currency);
    }

    const { data: balances } = await snaptrade.accountInformation.getUserAccountBalance({ ...user, accountId: cadAccount.id });
    expectConforms('AccountInformation_getUserAccountBalance', balances);
    expect(balances.map((b) => b.currency?.code)).toContain('CAD');

    const { data: rates } = await snaptrade.referenceData.listAllCurrenciesRates();
    expectConforms('ReferenceData_listAllCurrenciesRates', rates);
    const { data: usdCad } = await snaptrade.referenceData.getCurrencyExchangeRatePair({ currencyPair: 'USD-CAD' });
    expectConforms('ReferenceData_getCurrencyExchangeRatePair', usdCad);
    expect(usdCad.exchange_rate).toBeGreaterThan(1);

    const { data: aapl } = await snaptrade.referenceData.getSymbolsByTicker({ query: 'AAPL' });
    expectConforms('ReferenceData_getSymbolsByTicker', aapl);
    expect(aapl).toMatchObject({ symbol: 'AAPL', currency: { code: 'USD' }, exchange: { mic_code: 'XNAS' } });
    const { data: found } = await snaptrade.referenceData.symbolSearchUserAccount({ ...user, accountId: cadAccount.id, substring: 'shop' });
    expectConforms('ReferenceData_symbolSearchUserAccount', found);
    expect(found.map((s) => s.symbol)).toContain('SHOP.TO');

    // Trading: impact then place; force order (a resting limit) then cancel.
    const usdAccount = questrade.accounts.find((a) => a.currency === 'USD')!;
    await sandbox.control.setCash(usdAccount.id, { currency: 'USD', amount: 100_000, notify: false });
    const { data: impact } = await snaptrade.trading.getOrderImpact({
      ...user,
      account_id: usdAccount.id,
      action: 'BUY',
      universal_symbol_id: aapl.id,
      order_type: 'Market',
      time_in_force: 'Day',
      units: 3,
    });
    expectConforms('Trading_getOrderImpact', impact);
    const { data: placed } = await snaptrade.trading.placeOrder({ ...user, tradeId: impact.trade!.id! });
    expectConforms('Trading_placeOrder', placed);
    expect(placed).toMatchObject({ status: 'EXECUTED', filled_quantity: '3', action: 'BUY' });
    const { data: resting } = await snaptrade.trading.placeForceOrder({
      ...user,
      account_id: usdAccount.id,
      action: 'BUY',
      symbol: 'MSFT',
      order_type: 'Limit',
      time_in_force: 'GTC',
      price: 1,
      units: 1,
    });
    expectConforms('Trading_placeForceOrder', resting);
    expect(resting.status).toBe('ACCEPTED');
    const { data: canceled } = await snaptrade.trading.cancelOrder({
      ...user,
      accountId: usdAccount.id,
      brokerage_order_id: resting.brokerage_order_id!,
    });
    expectConforms('Trading_cancelOrder', canceled);
    const { data: orders } = await snaptrade.accountInformation.getUserAccountOrders({ ...user, accountId: usdAccount.id });
    expectConforms('AccountInformation_getUserAccountOrders', orders);
    expect(orders.map((o) => o.status).sort()).toEqual(['CANCELED', 'EXECUTED']);
    const { data: recent } = await snaptrade.accountInformation.getUserAccountRecentOrders({ ...user, accountId: usdAccount.id });
    expectConforms('AccountInformation_getUserAccountRecentOrders', recent);
    expect(recent.orders?.map((o) => o.brokerage_order_id)).toEqual([placed.brokerage_order_id]);

    const { data: refreshed } = await snaptrade.connections.refreshBrokerageAuthorization({ ...user, authorizationId: robinhood.id });
    expectConforms('Connections_refreshBrokerageAuthorization', refreshed);
    const { data: disabled } = await snaptrade.connections.disableBrokerageAuthorization({ ...user, authorizationId: robinhood.id });
    expectConforms('Connections_disableBrokerageAuthorization', disabled);
    const removed = await snaptrade.connections.removeBrokerageAuthorization({ ...user, authorizationId: robinhood.id });
    expect(removed.status).toBe(204);
    const { data: deleted } = await snaptrade.authentication.deleteSnapTradeUser({ userId: 'alice' });
    expectConforms('Authentication_deleteSnapTradeUser', deleted);
    expect((await snaptrade.authentication.listSnapTradeUsers()).data).toEqual([]);
  });

  it('refuses a request signed with the wrong consumer key with 401 code 1076', async () => {
    const forger = sdkClient(sandbox.snaptradeUrl, 'not-the-consumer-key');
    const err = await sdkError(forger.authentication.listSnapTradeUsers());
    expect(err.status).toBe(401);
    expect(err.responseBody).toEqual({ detail: 'Unable to verify signature sent', status_code: 401, code: '1076' });
  });

  it('refuses a wrong userSecret with 401 code 1083', async () => {
    await sandbox.control.createUser({ userId: 'bob' });
    const err = await sdkError(snaptrade.accountInformation.listUserAccounts({ userId: 'bob', userSecret: 'guess' }));
    expect(err.status).toBe(401);
    expect(err.responseBody).toMatchObject({ status_code: 401, code: '1083' });
  });

  it('refuses a stale timestamp and a tampered query even when the signature was valid for the original', async () => {
    const config = { baseUrl: sandbox.snaptradeUrl, clientId: CLIENT_ID, consumerKey: CONSUMER_KEY };
    const stale = await snaptradeFetch(config, { path: '/snapTrade/listUsers', timestamp: Math.round(Date.now() / 1000) - 600 });
    expect(stale.status).toBe(401);
    const fresh = await snaptradeFetch(config, { path: '/snapTrade/listUsers' });
    expect(fresh.status).toBe(200);
    const wrongPath = await snaptradeFetch(config, {
      path: '/snapTrade/listUsers',
      signature: (await import('../../src/snaptrade/signature.ts')).signRequest(CONSUMER_KEY, {
        content: null,
        path: '/accounts',
        query: `clientId=${CLIENT_ID}&timestamp=${Math.round(Date.now() / 1000)}`,
      }),
    });
    expect(wrongPath.status).toBe(401);
    expect(wrongPath.body).toMatchObject({ code: '1076' });
  });

  it('answers 410 on the deprecated holdings endpoints', async () => {
    const { userSecret } = await sandbox.control.createUser({ userId: 'carol' });
    const auth = await sandbox.control.connect('carol', { brokerage: 'ROBINHOOD' });
    const user = { userId: 'carol', userSecret };
    const config = { baseUrl: sandbox.snaptradeUrl, clientId: CLIENT_ID, consumerKey: CONSUMER_KEY };
    const accountId = auth.accounts[0]!.id;
    for (const path of ['/holdings', `/accounts/${accountId}/holdings`, `/accounts/${accountId}/positions`]) {
      const response = await snaptradeFetch(config, { path, query: user });
      expect(response.status, path).toBe(410);
      expect(response.body).toMatchObject({ status_code: 410 });
    }
    const err = await sdkError(snaptrade.accountInformation.getUserHoldings({ ...user, accountId }));
    expect(err.status).toBe(410);
  });

  it('rate limits per clientId over a rolling window with 429, SnapTrade body and X-RateLimit headers', async () => {
    await sandbox.control.setRateLimit({ limit: 3, windowMs: 60_000 });
    const config = { baseUrl: sandbox.snaptradeUrl, clientId: CLIENT_ID, consumerKey: CONSUMER_KEY };
    const statuses: number[] = [];
    let last;
    for (let i = 0; i < 4; i++) {
      last = await snaptradeFetch(config, { path: '/snapTrade/listUsers' });
      statuses.push(last.status);
    }
    expect(statuses).toEqual([200, 200, 200, 429]);
    expect(last!.headers.get('x-ratelimit-limit')).toBe('3');
    expect(last!.headers.get('x-ratelimit-remaining')).toBe('0');
    expect(Number(last!.headers.get('x-ratelimit-reset'))).toBeGreaterThan(0);
    expect(last!.headers.get('retry-after')).toBeNull();
    expect(last!.body).toMatchObject({ status_code: 429, code: 'throttled' });
  });

  it('sends webhooks signed so that the documented recipe verifies them', async () => {
    const receiver = await startReceiver();
    try {
      await sandbox.control.configureWebhooks({ url: receiver.url });
      await snaptrade.authentication.registerSnapTradeUser({ userId: 'dave' });
      const hook = await until(() => receiver.received.find((r) => r.body.eventType === 'USER_REGISTERED'));
      // Recipe: base64(HMAC-SHA256(consumerKey, canonical JSON of the parsed body)) in `Signature`.
      const expected = createHmac('sha256', CONSUMER_KEY).update(canonicalJson(JSON.parse(hook.raw))).digest('base64');
      expect(hook.headers.signature).toBe(expected);
      expect(hook.body).toMatchObject({ clientId: CLIENT_ID, userId: 'dave', eventType: 'USER_REGISTERED' });
      expect(Object.keys(hook.body).sort()).toEqual(Object.keys(webhookExample('USER_REGISTERED')!).sort());
      expect(hook.body.eventTimestamp).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}\+00:00$/);
    } finally {
      await receiver.close();
    }
  });

  it('connects through the portal page: authorization, accounts with positions, and the connection webhooks in order', async () => {
    const receiver = await startReceiver();
    try {
      await sandbox.control.configureWebhooks({ url: receiver.url });
      const { data: registered } = await snaptrade.authentication.registerSnapTradeUser({ userId: 'erin' });
      const user = { userId: 'erin', userSecret: registered.userSecret! };
      const { data: login } = await snaptrade.authentication.loginSnapTradeUser(user);
      const { redirectURI } = login as { redirectURI: string };

      const pageResponse = await fetch(redirectURI);
      expect(pageResponse.status).toBe(200);
      const html = await pageResponse.text();
      expect(html).toContain('<form id="connect"');
      const token = /name="token" value="([^"]+)"/.exec(html)![1]!;
      expect(html).toContain('value="WEALTHSIMPLE"');

      const submitted = await fetch(`${sandbox.snaptradeUrl}/snapTrade/redeemToken`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ token, brokerage: 'WEALTHSIMPLE', outcome: 'success' }).toString(),
      });
      const result = await submitted.text();
      expect(result).toContain('data-status="SUCCESS"');
      const authorizationId = /data-authorization-id="([^"]+)"/.exec(result)![1]!;

      const { data: auths } = await snaptrade.connections.listBrokerageAuthorizations(user);
      expect(auths.map((a) => a.id)).toEqual([authorizationId]);
      const { data: accounts } = await snaptrade.accountInformation.listUserAccounts(user);
      expect(accounts.length).toBeGreaterThan(0);
      for (const account of accounts) {
        const { data: positions } = await snaptrade.accountInformation.getAllAccountPositions({ ...user, accountId: account.id });
        expect(positions.results.length).toBeGreaterThan(0);
      }

      // The token is single-use: the link now shows the expired page.
      expect((await fetch(redirectURI)).status).toBe(410);

      const n = accounts.length;
      const hooks = await until(() => {
        const connection = receiver.received.filter((r) => r.body.eventType !== 'USER_REGISTERED');
        return connection.filter((r) => r.body.eventType === 'ACCOUNT_TRANSACTIONS_INITIAL_UPDATE').length === n
          ? connection
          : undefined;
      });
      const types = hooks.map((h) => h.body.eventType);
      expect(types.slice(0, 2 + n)).toEqual(['CONNECTION_ATTEMPTED', 'CONNECTION_ADDED', ...Array(n).fill('NEW_ACCOUNT_AVAILABLE')]);
      expect(types.filter((t) => t === 'ACCOUNT_HOLDINGS_UPDATED')).toHaveLength(n);
      for (const hook of hooks) {
        const example = webhookExample(hook.body.eventType as string)!;
        expect(Object.keys(hook.body).sort(), hook.body.eventType as string).toEqual(Object.keys(example).sort());
        expect(hook.body.userId).toBe('erin');
      }
      const added = hooks.find((h) => h.body.eventType === 'CONNECTION_ADDED')!;
      expect(added.body.brokerageAuthorizationId).toBe(authorizationId);
      expect(hooks.find((h) => h.body.eventType === 'CONNECTION_ATTEMPTED')!.body.connectionAttemptedResult).toBe('SUCCESS');
      const accountIds = new Set(accounts.map((a) => a.id));
      for (const hook of hooks.filter((h) => h.body.eventType === 'NEW_ACCOUNT_AVAILABLE')) {
        expect(accountIds.has(hook.body.accountId as string)).toBe(true);
      }
    } finally {
      await receiver.close();
    }
  });

  it('retries a webhook on the configured schedule until a delivered status, counting 203 as undelivered', async () => {
    const receiver = await startReceiver([500, 203, 200]);
    try {
      await sandbox.control.configureWebhooks({ url: receiver.url, retryScheduleMs: [30, 30, 30] });
      await sandbox.control.createUser({ userId: 'frank' });
      const [delivery] = await sandbox.control.waitForWebhooks((d) => d[0]?.state === 'delivered', { userId: 'frank' });
      expect(delivery!.attempts.map((a) => a.status)).toEqual([500, 203, 200]);
      expect(receiver.received.map((r) => r.body.webhookId)).toEqual(Array(3).fill(delivery!.webhookId));
    } finally {
      await receiver.close();
    }
  });

  it('gives up after the last retry and marks the delivery failed', async () => {
    const receiver = await startReceiver([500, 500]);
    try {
      await sandbox.control.configureWebhooks({ url: receiver.url, retryScheduleMs: [20] });
      await sandbox.control.createUser({ userId: 'gina' });
      const [delivery] = await sandbox.control.waitForWebhooks((d) => d[0]?.state === 'failed', { userId: 'gina' });
      expect(delivery!.attempts).toHaveLength(2);
    } finally {
      await receiver.close();
    }
  });

  it('answers injected faults: 503/3002 for one account, 425/3012 while populating, added latency', async () => {
    const { userSecret } = await sandbox.control.createUser({ userId: 'hank' });
    const user = { userId: 'hank', userSecret };
    const auth = await sandbox.control.connect('hank', { brokerage: 'SCHWAB' });
    const [first, second] = auth.accounts as [ControlAccount, ControlAccount];
    await sandbox.control.addFault({
      kind: 'brokerage_error',
      match: { operationId: 'AccountInformation_getAllAccountPositions', accountId: first.id },
      times: 1,
    });
    const broken = await sdkError(snaptrade.accountInformation.getAllAccountPositions({ ...user, accountId: first.id }));
    expect(broken.status).toBe(503);
    expect(broken.responseBody).toMatchObject({ status_code: 503, code: '3002' });
    // `times: 1`: the next call succeeds; the other account was never affected.
    await snaptrade.accountInformation.getAllAccountPositions({ ...user, accountId: first.id });
    await snaptrade.accountInformation.getAllAccountPositions({ ...user, accountId: second.id });

    const populating = await sandbox.control.connect('hank', { brokerage: 'ROBINHOOD', populatingForMs: 60_000 });
    const early = await sdkError(
      snaptrade.accountInformation.getAllAccountPositions({ ...user, accountId: populating.accounts[0]!.id }),
    );
    expect(early.status).toBe(425);
    expect(early.responseBody).toMatchObject({ code: '3012' });

    await sandbox.control.addFault({ kind: 'latency', latencyMs: 300, match: { operationId: 'AccountInformation_listUserAccounts' } });
    const started = Date.now();
    await snaptrade.accountInformation.listUserAccounts(user);
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
  });

  it('breaks a connection: 402/3003 on its holdings and a CONNECTION_BROKEN webhook; fixing restores it', async () => {
    const { userSecret } = await sandbox.control.createUser({ userId: 'ivy' });
    const user = { userId: 'ivy', userSecret };
    const auth = await sandbox.control.connect('ivy', { brokerage: 'QUESTRADE' });
    const accountId = auth.accounts[0]!.id;
    await sandbox.control.breakConnection(auth.id);
    const err = await sdkError(snaptrade.accountInformation.getAllAccountPositions({ ...user, accountId }));
    expect(err.status).toBe(402);
    expect(err.responseBody).toMatchObject({ code: '3003' });
    const [broken] = await sandbox.control.waitForWebhooks((d) => d.length === 1, { eventType: 'CONNECTION_BROKEN' });
    expect(broken!.payload).toMatchObject({ userId: 'ivy', brokerageAuthorizationId: auth.id });
    const { data: detail } = await snaptrade.connections.detailBrokerageAuthorization({ ...user, authorizationId: auth.id });
    expect(detail.disabled).toBe(true);

    await sandbox.control.fixConnection(auth.id);
    await snaptrade.accountInformation.getAllAccountPositions({ ...user, accountId });
    await sandbox.control.waitForWebhooks((d) => d.length === 1, { eventType: 'CONNECTION_FIXED' });
  });

  it('counts requests per operation and account so a test can assert exactly one positions request', async () => {
    const { userSecret } = await sandbox.control.createUser({ userId: 'jack' });
    const user = { userId: 'jack', userSecret };
    const auth = await sandbox.control.connect('jack', { brokerage: 'SCHWAB' });
    const [a, b] = auth.accounts as [ControlAccount, ControlAccount];
    await snaptrade.accountInformation.getAllAccountPositions({ ...user, accountId: a.id });
    await snaptrade.accountInformation.getAllAccountPositions({ ...user, accountId: a.id });
    await snaptrade.accountInformation.getAllAccountPositions({ ...user, accountId: b.id });
    const op = 'AccountInformation_getAllAccountPositions';
    expect(await sandbox.control.requestCount({ operationId: op, accountId: a.id })).toBe(2);
    expect(await sandbox.control.requestCount({ operationId: op, accountId: b.id })).toBe(1);
    const summary = await sandbox.control.requests({ userId: 'jack' });
    expect(summary.byAccount[b.id]).toEqual({ [op]: 1 });
    await sandbox.control.resetRequests();
    expect(await sandbox.control.requestCount({ operationId: op })).toBe(0);
  });

  it('sends ACCOUNT_HOLDINGS_UPDATED for each account after a refresh, and the refreshed positions show moved prices', async () => {
    const { userSecret } = await sandbox.control.createUser({ userId: 'kate' });
    const user = { userId: 'kate', userSecret };
    const auth = await sandbox.control.connect('kate', {
      brokerage: 'ROBINHOOD',
      accounts: [{ currency: 'USD', cash: { USD: 1000 }, positions: [{ symbol: 'AAPL', units: 10, averageCost: 150 }] }],
      webhooks: false,
    });
    const accountId = auth.accounts[0]!.id;
    await sandbox.control.setPrices({ symbol: 'AAPL', price: 250.25 });
    await snaptrade.connections.refreshBrokerageAuthorization({ ...user, authorizationId: auth.id });
    const [hook] = await sandbox.control.waitForWebhooks((d) => d.length === 1, { eventType: 'ACCOUNT_HOLDINGS_UPDATED' });
    expect(hook!.payload).toMatchObject({ accountId, details: { positions: { success: true, error: null } } });
    const { data } = await snaptrade.accountInformation.getAllAccountPositions({ ...user, accountId });
    expect(data.results).toHaveLength(1);
    expect(data.results[0]).toMatchObject({ units: '10', price: '250.25', cost_basis: '150', currency: 'USD' });
    const { data: account } = await snaptrade.accountInformation.getUserAccountDetails({ ...user, accountId });
    expect(account.balance.total?.amount).toBeCloseTo(1000 + 10 * 250.25, 2);
  });

  it('answers an unknown path with 404 code 1011', async () => {
    const response = await snaptradeFetch(
      { baseUrl: sandbox.snaptradeUrl, clientId: CLIENT_ID, consumerKey: CONSUMER_KEY },
      { path: '/no/such/endpoint' },
    );
    expect(response.status).toBe(404);
    expect(response.body).toMatchObject({ status_code: 404, code: '1011' });
  });
});
