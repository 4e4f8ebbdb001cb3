import { ApiError, RateLimitError, type streaming } from '@alpacahq/alpaca-trade-api';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createAlpacaClient, type AlpacaClient } from '../../src/providers/alpaca/client.ts';
import { SandboxControlError } from '../../sandbox/control-client.ts';
import { startSandbox, type Sandbox } from '../../sandbox/sandbox.ts';
import { waitFor } from './alpaca-fixture.ts';

/** The Alpaca sandbox scripted only through the control API, observed through the real SDK. */

let sandbox: Sandbox;
const disconnectors: Array<() => void> = [];

beforeEach(async () => {
  sandbox = await startSandbox({ snaptradePort: 0, alpacaPort: 0, seed: 5, logger: pino({ level: 'silent' }) });
});

afterEach(async () => {
  for (const disconnect of disconnectors.splice(0)) disconnect();
  await sandbox.close();
});

function sdkClient(keyId: string, secretKey: string): AlpacaClient {
  return createAlpacaClient({ keyId, secretKey, tradingUrl: sandbox.alpacaUrl, dataUrl: sandbox.alpacaUrl, retry: false });
}

async function controlError(call: Promise<unknown>): Promise<SandboxControlError> {
  try {
    await call;
  } catch (err) {
    if (err instanceof SandboxControlError) return err;
    throw err;
  }
  throw new Error('expected the control call to fail');
}

async function apiError(call: Promise<unknown>): Promise<ApiError> {
  try {
    await call;
  } catch (err) {
    if (err instanceof ApiError) return err;
    throw err;
  }
  throw new Error('expected the SDK call to fail');
}

describe('sandbox control API: Alpaca', () => {
  it('lists the Alpaca endpoints and describes the Alpaca server', async () => {
    const response = await fetch(`${sandbox.snaptradeUrl}/__sandbox`);
    const { endpoints } = (await response.json()) as { endpoints: string[] };
    for (const path of ['/__sandbox/alpaca/accounts', '/__sandbox/alpaca/streams/kill', '/__sandbox/alpaca/faults']) {
      expect(endpoints.some((e) => e.includes(path)), path).toBe(true);
    }
    expect(await sandbox.control.alpaca()).toEqual({
      url: sandbox.alpacaUrl,
      wsUrl: sandbox.alpacaWsUrl,
      defaultAccountId: sandbox.alpaca.defaultAccountId,
      rateLimit: { perMinute: 200 },
      symbolLimit: 0,
    });
    const accounts = await sandbox.control.alpacaAccounts();
    expect(accounts.map((a) => a.id)).toEqual([sandbox.alpaca.defaultAccountId]);
  });

  it('creates, funds and positions an account that the real SDK then sees', async () => {
    sandbox.priceBook.setPrice('AAPL', 200);
    const created = await sandbox.control.alpacaCreateAccount({ keyId: 'PKCONTROLTEST000001', secretKey: 'control-secret', cash: 5000 });
    expect(created).toMatchObject({ keyId: 'PKCONTROLTEST000001', secretKey: 'control-secret', cash: 5000, positions: [], openOrders: 0 });
    const generated = await sandbox.control.alpacaCreateAccount();
    expect(generated.keyId).toMatch(/^PK[A-Z0-9]{18}$/);
    expect(generated.secretKey).toHaveLength(40);

    const client = sdkClient(created.keyId, created.secretKey);
    const account = await client.sdk.trading.account.getAccount();
    expect(account).toMatchObject({ id: created.id, cash: '5000' });

    expect((await sandbox.control.alpacaFund(created.keyId, 1500.5)).cash).toBe(6500.5);
    expect((await sandbox.control.alpacaFund(created.id, -500)).cash).toBe(6000.5);
    expect((await client.sdk.trading.account.getAccount()).cash).toBe('6000.5');

    const positioned = await sandbox.control.alpacaSetPositions(created.id, {
      positions: [
        { symbol: 'AAPL', qty: 10, avgEntryPrice: 150 },
        { symbol: 'MSFT', qty: 0 },
        { symbol: 'NFLX', qty: 2 },
      ],
    });
    const nflx = sandbox.priceBook.quote('NFLX')!.price;
    expect(positioned.positions).toEqual([
      { symbol: 'AAPL', qty: 10, costBasis: 1500, avgEntryPrice: 150 },
      expect.objectContaining({ symbol: 'NFLX', qty: 2, avgEntryPrice: expect.closeTo(nflx, 5) }),
    ]);
    const positions = await client.sdk.trading.positions.getAllOpenPositions();
    expect(positions.map((p) => [p.symbol, p.qty])).toEqual([
      ['AAPL', '10'],
      ['NFLX', '2'],
    ]);
    expect(positions[0]).toMatchObject({ avgEntryPrice: '150', currentPrice: '200' });
    expect(await sandbox.control.alpacaAccount(created.keyId)).toEqual(positioned);

    // The default account is untouched.
    expect((await sandbox.control.alpacaAccount(sandbox.alpaca.defaultAccountId)).positions).toEqual([]);
  });

  it('refuses bad bodies, unknown accounts and symbols, duplicate keys and overdrafts', async () => {
    const { control } = sandbox;
    const invalid = await controlError(control.alpacaCreateAccount({ cash: -1 }));
    expect(invalid).toMatchObject({ status: 400, code: 'invalid_body' });
    expect(invalid.message).toContain('cash');
    expect(await controlError(control.alpacaSetPositions(sandbox.alpaca.defaultAccountId, { positions: [{ symbol: 'AAPL', qty: -1 }] }))).toMatchObject({
      status: 400,
      code: 'invalid_body',
    });
    expect(await controlError(control.alpacaKillStreams('everything' as 'all'))).toMatchObject({ status: 400, code: 'invalid_body' });
    expect(await controlError(control.alpacaSetFaults({ probability: 1.5 }))).toMatchObject({ status: 400, code: 'invalid_body' });
    expect(await controlError(control.alpacaSetRateLimit(-1))).toMatchObject({ status: 400, code: 'invalid_body' });

    expect(await controlError(control.alpacaAccount('nobody'))).toMatchObject({ status: 404, code: 'not_found' });
    expect(await controlError(control.alpacaFund('nobody', 1))).toMatchObject({ status: 404, code: 'not_found' });
    expect(
      await controlError(control.alpacaSetPositions(sandbox.alpaca.defaultAccountId, { positions: [{ symbol: 'NOPE', qty: 1 }] })),
    ).toMatchObject({ status: 404, code: 'not_found' });

    const taken = sandbox.alpaca.account(sandbox.alpaca.defaultAccountId)!.keyId;
    expect(await controlError(control.alpacaCreateAccount({ keyId: taken }))).toMatchObject({ status: 409, code: 'account_exists' });
    expect(await controlError(control.alpacaFund(taken, -1_000_000))).toMatchObject({ status: 422, code: 'insufficient_cash' });
    expect((await control.alpacaAccount(taken)).cash).toBe(100_000);

    const raw = await fetch(`${sandbox.snaptradeUrl}/__sandbox/alpaca/nothing-here`);
    expect(raw.status).toBe(404);
    expect(await raw.json()).toMatchObject({ error: { code: 'not_found' } });
  });

  it("reports the SDK's stream connections and kills them, which closes the SDK's streams", async () => {
    const created = await sandbox.control.alpacaCreateAccount();
    const client = sdkClient(created.keyId, created.secretKey);
    const trading = client.tradingStream({ reconnect: false, pingIntervalMs: 0 });
    const market = client.stockStream({ reconnect: false, pingIntervalMs: 0 });
    disconnectors.push(
      () => trading.disconnect(),
      () => market.disconnect(),
    );
    const closed = { trading: false, market: false };
    trading.onDisconnect(() => (closed.trading = true));
    market.onDisconnect(() => (closed.market = true));
    trading.connect();
    market.connect();
    expect(await trading.waitForAuthentication(2000)).toBe(true);
    expect(await market.waitForAuthentication(2000)).toBe(true);
    expect(await sandbox.control.alpacaConnections()).toEqual({ marketData: 1, tradeUpdates: 1 });

    expect(await sandbox.control.alpacaKillStreams('trade-updates')).toEqual({ marketData: 0, tradeUpdates: 1 });
    await waitFor(() => closed.trading, 3000, 'the SDK trading stream to close');
    expect(closed.market).toBe(false);
    expect(await sandbox.control.alpacaConnections()).toEqual({ marketData: 1, tradeUpdates: 0 });

    expect(await sandbox.control.alpacaKillStreams()).toEqual({ marketData: 1, tradeUpdates: 0 });
    await waitFor(() => closed.market, 3000, 'the SDK market-data stream to close');
    await waitFor(() => sandbox.alpaca.connectionCounts().marketData === 0, 3000, 'no market-data sockets');
    expect(await sandbox.control.alpacaConnections()).toEqual({ marketData: 0, tradeUpdates: 0 });
  });

  it('lets a reconnecting SDK stream come back after a kill', async () => {
    const stream: streaming.TradingStream = sdkClient(
      sandbox.alpaca.account(sandbox.alpaca.defaultAccountId)!.keyId,
      sandbox.alpaca.account(sandbox.alpaca.defaultAccountId)!.secretKey,
    ).tradingStream({ initialReconnectMs: 50, reconnectJitter: 0, pingIntervalMs: 0 });
    disconnectors.push(() => stream.disconnect());
    let reconnected = false;
    stream.onReconnected(() => (reconnected = true));
    stream.subscribeTradeUpdates();
    stream.connect();
    expect(await stream.waitForAuthentication(2000)).toBe(true);
    expect(await sandbox.control.alpacaKillStreams('all')).toEqual({ marketData: 0, tradeUpdates: 1 });
    await waitFor(() => reconnected, 5000, 'reconnect');
    expect((await sandbox.control.alpacaConnections()).tradeUpdates).toBe(1);
  });

  it('sets the per-key rate limit the SDK runs into', async () => {
    const created = await sandbox.control.alpacaCreateAccount();
    const client = sdkClient(created.keyId, created.secretKey);
    expect(await sandbox.control.alpacaSetRateLimit(2)).toEqual({ perMinute: 2 });
    expect(await sandbox.control.alpacaRateLimit()).toEqual({ perMinute: 2 });
    await client.sdk.trading.account.getAccount();
    await client.sdk.trading.account.getAccount();
    const limited = await apiError(client.sdk.trading.account.getAccount());
    expect(limited).toBeInstanceOf(RateLimitError);
    expect(limited.status).toBe(429);

    await sandbox.control.alpacaSetRateLimit(0);
    await client.sdk.trading.account.getAccount();
  });

  it('injects REST faults the SDK sees, and clears them', async () => {
    const created = await sandbox.control.alpacaCreateAccount();
    const client = sdkClient(created.keyId, created.secretKey);
    const config = { probability: 1, statuses: [503], pathPrefixes: ['/v2/account'], maxFaults: 2 };
    expect(await sandbox.control.alpacaSetFaults(config)).toEqual({ faults: config });
    expect(await sandbox.control.alpacaFaults()).toEqual({ faults: config });

    expect((await apiError(client.sdk.trading.account.getAccount())).status).toBe(503);
    await client.sdk.trading.positions.getAllOpenPositions(); // not under /v2/account
    expect((await apiError(client.sdk.trading.account.getAccount())).status).toBe(503);
    await client.sdk.trading.account.getAccount(); // maxFaults reached

    await sandbox.control.alpacaSetFaults({ probability: 1 });
    expect((await apiError(client.sdk.trading.account.getAccount())).status).toBe(500);
    expect(await sandbox.control.alpacaClearFaults()).toEqual({ ok: true });
    expect(await sandbox.control.alpacaFaults()).toEqual({ faults: null });
    await client.sdk.trading.account.getAccount();
  });

  it("counts the SDK's REST requests by route, status and account, and resets the counts", async () => {
    const created = await sandbox.control.alpacaCreateAccount();
    const client = sdkClient(created.keyId, created.secretKey);
    await sandbox.control.alpacaResetRequests();
    await client.sdk.trading.account.getAccount();
    await client.sdk.trading.positions.getAllOpenPositions();
    await client.sdk.trading.positions.getAllOpenPositions();
    await apiError(sdkClient(created.keyId, 'wrong').sdk.trading.account.getAccount());

    const counts = await sandbox.control.alpacaRequests();
    expect(counts.total).toBe(4);
    expect(counts.byRoute).toMatchObject({ 'GET /v2/account': 2, 'GET /v2/positions': 2 });
    expect(counts.byStatus).toEqual({ '200': 3, '401': 1 });
    expect(counts.byAccount).toEqual({ [created.id]: 3 });

    expect(await sandbox.control.alpacaResetRequests()).toEqual({ ok: true });
    expect((await sandbox.control.alpacaRequests()).total).toBe(0);
  });
});
