import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAlpacaClient } from '../../src/providers/alpaca/client.ts';
import type { SecuritySearchResponse } from '../../src/api/schemas.ts';
import type { HoldingView } from '../../src/realtime/events.ts';
import { eventually, startTestEngine, type TestEngine } from '../support/engine.ts';
import { accountsOf, orderReaches, placeOrder, type OrderBody } from '../support/orders.ts';

/**
 * Trading end to end with the real SDKs against the sandbox: one user with an external account
 * (Questrade, through SnapTrade, holding AAPL) and an internal Alpaca account. Market and limit
 * orders land at the brokerage that holds the account chosen, routing says why, a preview places
 * nothing, the same Idempotency-Key answers the same order without placing again, a key reused
 * with another body is 409, fills reach the order (and the holdings), and a resting order cancels.
 */
const USER = 'e2e-orders-routing';
let engine: TestEngine;
let questrade: { id: string; externalId: string; tradingAllowed: boolean };
let alpaca: { id: string; externalId: string; keyId: string; secretKey: string };

beforeAll(async () => {
  engine = await startTestEngine({ env: { ALPACA_LINK_REFRESH_MS: '300', SYNC_DEBOUNCE_MS: '100' } });
  expect((await engine.api(USER, 'POST', '/api/snaptrade/connection-url', {})).status).toBe(200);
  await engine.sandbox.control.connect(USER, {
    brokerage: 'QUESTRADE',
    type: 'trade',
    accounts: [{ name: 'Margin', currency: 'USD', cash: { USD: 50_000 }, positions: [{ symbol: 'AAPL', units: 10, averageCost: 150 }] }],
  });
  const created = await engine.sandbox.control.alpacaCreateAccount({ cash: 100_000 });
  expect((await engine.api(USER, 'POST', '/api/alpaca/accounts', { keyId: created.keyId, secretKey: created.secretKey })).status).toBe(201);
  const accounts = await accountsOf(engine, USER, 2);
  questrade = accounts.find((a) => a.provider === 'snaptrade')!;
  const internal = accounts.find((a) => a.provider === 'alpaca')!;
  alpaca = { ...internal, keyId: created.keyId, secretKey: created.secretKey };
  expect(questrade.tradingAllowed && internal.tradingAllowed).toBe(true);
  // The market role listens to the Alpaca account's trade updates.
  await eventually(async () => (engine.sandbox.alpaca.connectionCounts().tradeUpdates > 0 ? true : undefined), 15_000, 'trade updates stream');
});

afterAll(async () => {
  await engine?.stop();
});

const snaptradeOrders = () => engine.sandbox.snaptrade.engine.store.ordersOf(questrade.externalId);
const alpacaOrders = () =>
  createAlpacaClient({ keyId: alpaca.keyId, secretKey: alpaca.secretKey, tradingUrl: engine.sandbox.alpacaUrl }).sdk.trading.orders.getAllOrders({ status: 'all' });

describe('orders are routed to the brokerage that holds the account', () => {
  it('previews without placing anything, and says which account and why', async () => {
    const preview = await engine.api<{ routing: { accountId: string; provider: string; reason: string }; impact: Record<string, string | null> }>(
      USER,
      'POST',
      '/api/orders/preview',
      { symbol: 'aapl', side: 'buy', quantity: 2, type: 'market' },
    );
    expect(preview.status).toBe(200);
    expect(preview.body.routing).toMatchObject({ accountId: questrade.id, provider: 'snaptrade' });
    expect(preview.body.routing.reason).toMatch(/^holds-security/);
    expect(Number(preview.body.impact.estimatedCost)).toBeGreaterThan(0);
    expect(preview.body.impact.buyingPowerAfter).not.toBeNull();
    expect(preview.body.impact.currency).toBe('USD');

    const internal = await engine.api<{ routing: { provider: string; reason: string } }>(USER, 'POST', '/api/orders/preview', {
      symbol: 'MSFT',
      side: 'buy',
      quantity: '1',
      type: 'limit',
      limitPrice: '1.5',
      timeInForce: 'gtc',
    });
    expect(internal.status).toBe(200);
    expect(internal.body.routing).toMatchObject({ provider: 'alpaca' });
    expect(internal.body.routing.reason).toMatch(/^internal-default/);
    expect(snaptradeOrders()).toHaveLength(0);
    expect(await alpacaOrders()).toHaveLength(0);
  });

  it('places a market order on the external account through SnapTrade, once per key', async () => {
    const placed = await placeOrder(engine, USER, 'e2e-snaptrade-market-1', { symbol: 'AAPL', side: 'buy', quantity: '3', type: 'market' });
    expect(placed.status, JSON.stringify(placed.body)).toBe(201);
    expect(placed.replayed).toBe('false');
    expect(placed.body).toMatchObject({ accountId: questrade.id, provider: 'snaptrade', symbol: 'AAPL', side: 'buy', quantity: '3' });
    expect(placed.body.routing?.reason).toMatch(/^holds-security/);
    expect(snaptradeOrders()).toHaveLength(1);
    expect(snaptradeOrders()[0]!.brokerageOrderId).toBe(placed.body.brokerageOrderId);

    const again = await placeOrder(engine, USER, 'e2e-snaptrade-market-1', { symbol: 'aapl', side: 'buy', quantity: 3, type: 'market' });
    expect(again.status).toBe(201);
    expect(again.replayed).toBe('true');
    expect(again.body.id).toBe(placed.body.id);
    expect(snaptradeOrders()).toHaveLength(1);

    const reused = await placeOrder(engine, USER, 'e2e-snaptrade-market-1', { symbol: 'AAPL', side: 'buy', quantity: '4', type: 'market' });
    expect(reused.status).toBe(409);
    expect(reused.body.error.code).toBe('FS_IDEMPOTENCY_KEY_REUSED');
    expect(snaptradeOrders()).toHaveLength(1);

    // SnapTrade's TRADE_UPDATE webhook carries the fill; the account's resync brings the holding.
    const filled = await orderReaches(engine, USER, placed.body.id, 'filled');
    expect(filled.filledQuantity).toBe('3');
    await eventually(
      async () => {
        const { body } = await engine.api<{ holdings: HoldingView[] }>(USER, 'GET', '/api/portfolio');
        return body.holdings.find((h) => h.symbol === 'AAPL')?.quantity === '13' ? true : undefined;
      },
      20_000,
      'AAPL 13 after the fill',
    );
  });

  it('places market and limit orders on the internal account at Alpaca, with the key as client_order_id', async () => {
    const market = await placeOrder(engine, USER, 'e2e-alpaca-market-1', { symbol: 'MSFT', side: 'buy', quantity: '2', type: 'market' });
    expect(market.status, JSON.stringify(market.body)).toBe(201);
    expect(market.body).toMatchObject({ accountId: alpaca.id, provider: 'alpaca', clientOrderId: 'e2e-alpaca-market-1' });
    const atAlpaca = await alpacaOrders();
    expect(atAlpaca.map((o) => o.clientOrderId)).toEqual(['e2e-alpaca-market-1']);
    expect((await orderReaches(engine, USER, market.body.id, 'filled')).filledQuantity).toBe('2');

    const limit = await placeOrder(engine, USER, 'e2e-alpaca-limit-1', {
      accountId: alpaca.id,
      symbol: 'MSFT',
      side: 'buy',
      quantity: '1',
      type: 'limit',
      limitPrice: '1',
      timeInForce: 'gtc',
    });
    expect(limit.status, JSON.stringify(limit.body)).toBe(201);
    expect(limit.body.status).toBe('accepted');
    expect(limit.body.routing?.reason).toMatch(/^requested/);
    const open = await engine.api<{ orders: OrderBody[] }>(USER, 'GET', `/api/orders?status=open&accountId=${alpaca.id}`);
    expect(open.body.orders.map((o) => o.id)).toEqual([limit.body.id]);

    const canceled = await engine.api<OrderBody>(USER, 'POST', `/api/orders/${limit.body.id}/cancel`);
    expect(canceled.status).toBe(200);
    expect(canceled.body.status).toBe('canceled');
    const twice = await engine.api<{ error: { code: string } }>(USER, 'POST', `/api/orders/${limit.body.id}/cancel`);
    expect(twice.body.error.code).toBe('FS_ORDER_NOT_CANCELABLE');
    expect((await alpacaOrders()).find((o) => o.clientOrderId === 'e2e-alpaca-limit-1')?.status).toBe('canceled');
  });

  it('follows Alpaca\'s trade updates: a rejection after acceptance, and partial fills', async () => {
    const control = engine.sandbox.control;
    await control.alpacaSetTrading({ rejectNext: { count: 1, reason: 'halted (scripted)' } });
    const rejected = await placeOrder(engine, USER, 'e2e-alpaca-rejected-1', { accountId: alpaca.id, symbol: 'KO', side: 'buy', quantity: '1', type: 'market' });
    expect(rejected.status, JSON.stringify(rejected.body)).toBe(201);
    // Accepted by Alpaca; the rejection follows on the trade-update stream (the answer, which waits
    // for the projection, may already show it).
    expect(['accepted', 'rejected']).toContain(rejected.body.status);
    await orderReaches(engine, USER, rejected.body.id, 'rejected');

    await control.setPrices({ symbol: 'KO', price: 60 });
    await control.alpacaSetTrading({ maxFillQtyPerTick: 1 });
    try {
      const partial = await placeOrder(engine, USER, 'e2e-alpaca-partial-1', {
        accountId: alpaca.id,
        symbol: 'KO',
        side: 'buy',
        quantity: '3',
        type: 'limit',
        limitPrice: '70',
      });
      expect(partial.status, JSON.stringify(partial.body)).toBe(201);
      expect((await orderReaches(engine, USER, partial.body.id, 'partially_filled')).filledQuantity).toBe('1');
      await control.setPrices({ symbol: 'KO', price: 61 });
      await control.setPrices({ symbol: 'KO', price: 62 });
      const filled = await orderReaches(engine, USER, partial.body.id, 'filled');
      expect(filled.filledQuantity).toBe('3');
    } finally {
      await control.alpacaSetTrading({ maxFillQtyPerTick: null });
    }
  });

  it('searches securities at the account\'s brokerage: SnapTrade\'s symbol search for the external account, Alpaca\'s assets for the internal one', async () => {
    const SEARCH = 'ReferenceData_symbolSearchUserAccount';
    const before = (await engine.sandbox.control.requests({ operationId: SEARCH })).byAccount[questrade.externalId]?.[SEARCH] ?? 0;
    const external = await engine.api<SecuritySearchResponse>(USER, 'GET', `/api/securities/search?query=AAP&accountId=${questrade.id}`);
    expect(external.status, JSON.stringify(external.body)).toBe(200);
    expect(external.body).toMatchObject({ accountId: questrade.id, provider: 'snaptrade' });
    expect(external.body.securities.find((s) => s.symbol === 'AAPL')?.universalSymbolId).toBeTruthy();
    expect((await engine.sandbox.control.requests({ operationId: SEARCH })).byAccount[questrade.externalId]?.[SEARCH]).toBe(before + 1);

    const listings = async () => (await engine.sandbox.control.alpacaRequests()).byRoute['GET /v2/assets'] ?? 0;
    const listed = await listings();
    const internal = await engine.api<SecuritySearchResponse>(USER, 'GET', `/api/securities/search?query=aap&accountId=${alpaca.id}`);
    expect(internal.status, JSON.stringify(internal.body)).toBe(200);
    expect(internal.body.provider).toBe('alpaca');
    expect(internal.body.securities[0]).toMatchObject({ symbol: 'AAPL', universalSymbolId: null });
    // Keystrokes do not list Alpaca's (large) asset list again: the listing answers a while.
    const next = await engine.api<SecuritySearchResponse>(USER, 'GET', `/api/securities/search?query=msf&accountId=${alpaca.id}`);
    expect(next.body.securities[0]?.symbol).toBe('MSFT');
    expect((await listings()) - listed).toBe(1);
  });

  it('rests a limit order at SnapTrade, and cancels it there', async () => {
    const limit = await placeOrder(engine, USER, 'e2e-snaptrade-limit-1', {
      accountId: questrade.id,
      symbol: 'AAPL',
      side: 'buy',
      quantity: '1',
      type: 'limit',
      limitPrice: '1',
      timeInForce: 'gtc',
    });
    expect(limit.status, JSON.stringify(limit.body)).toBe(201);
    expect(limit.body.status).toBe('accepted');
    const canceled = await engine.api<OrderBody>(USER, 'POST', `/api/orders/${limit.body.id}/cancel`);
    expect(canceled.body.status).toBe('canceled');
    expect(snaptradeOrders().find((o) => o.brokerageOrderId === limit.body.brokerageOrderId)?.status).toBe('CANCELED');

    // Listing: newest first, paged with a cursor, filtered by status.
    const first = await engine.api<{ orders: OrderBody[]; nextCursor: string | null }>(USER, 'GET', '/api/orders?limit=2');
    expect(first.body.orders).toHaveLength(2);
    const rest = await engine.api<{ orders: OrderBody[]; nextCursor: string | null }>(USER, 'GET', `/api/orders?limit=10&cursor=${first.body.nextCursor}`);
    const all = [...first.body.orders, ...rest.body.orders].map((o) => o.clientOrderId);
    expect(all).toEqual([
      'e2e-snaptrade-limit-1',
      'e2e-alpaca-partial-1',
      'e2e-alpaca-rejected-1',
      'e2e-alpaca-limit-1',
      'e2e-alpaca-market-1',
      'e2e-snaptrade-market-1',
    ]);
    expect(rest.body.nextCursor).toBeNull();
    const closed = await engine.api<{ orders: OrderBody[] }>(USER, 'GET', '/api/orders?status=canceled');
    expect(closed.body.orders.map((o) => o.clientOrderId).sort()).toEqual(['e2e-alpaca-limit-1', 'e2e-snaptrade-limit-1']);
  });
});
