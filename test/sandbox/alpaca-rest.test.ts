import { ApiError, AuthError, NotFoundError, PermissionError, RateLimitError, ValidationError } from '@alpacahq/alpaca-trade-api';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KEY_ID, SECRET, startHarness, type AlpacaHarness } from './alpaca-fixture.ts';

let h: AlpacaHarness;

beforeEach(async () => {
  h = await startHarness();
});

afterEach(async () => {
  await h.close();
});

async function rejection(promise: Promise<unknown>): Promise<ApiError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof ApiError) return err;
    throw err;
  }
  throw new Error('expected the call to fail');
}

describe('Alpaca sandbox REST through the real SDK', () => {
  it('serves the default account with Alpaca decimal strings', async () => {
    const account = await h.client.sdk.trading.account.getAccount();
    expect(account.id).toBe(h.sandbox.defaultAccountId);
    expect(account.accountNumber).toMatch(/^PA\d{10}$/);
    expect(account.status).toBe('ACTIVE');
    expect(account.currency).toBe('USD');
    expect(account.cash).toBe('100000');
    expect(account.buyingPower).toBe('100000');
    expect(account.equity).toBe('100000');
    expect(account.createdAt).toBeInstanceOf(Date);
  });

  it('answers a wrong secret with 401 and Alpaca error code 40110000', async () => {
    const err = await rejection(h.clientFor(KEY_ID, 'wrong-secret', { retry: false }).sdk.trading.account.getAccount());
    expect(err).toBeInstanceOf(AuthError);
    expect(err.status).toBe(401);
    expect(err.code).toBe(40110000);
    const raw = await fetch(`${h.sandbox.url}/v2/positions`, { headers: { 'APCA-API-KEY-ID': 'PKUNKNOWN' } });
    expect(raw.status).toBe(401);
    expect(await raw.json()).toEqual({ code: 40110000, message: 'request is not authorized' });
  });

  it('fills a market order at the current price and moves the position and cash', async () => {
    const { sdk } = h.client;
    h.book.setPrice('AAPL', 200);
    const order = await sdk.trading.orders.market({ symbol: 'AAPL', qty: 5, side: 'buy' });
    expect(order.status).toBe('filled');
    expect(order.filledQty).toBe('5');
    expect(order.filledAvgPrice).toBe('200');

    h.book.setPrice('AAPL', 210);
    const positions = await sdk.trading.positions.getAllOpenPositions();
    expect(positions).toHaveLength(1);
    expect(positions[0]).toMatchObject({
      symbol: 'AAPL',
      qty: '5',
      qtyAvailable: '5',
      avgEntryPrice: '200',
      costBasis: '1000',
      marketValue: '1050',
      unrealizedPl: '50',
      unrealizedPlpc: '0.05',
      currentPrice: '210',
      side: 'long',
      assetClass: 'us_equity',
      exchange: 'NASDAQ',
      assetId: h.book.security('AAPL')!.alpacaAssetId,
    });
    const lastday = Number(positions[0]!.lastdayPrice);
    expect(Number(positions[0]!.changeToday)).toBeCloseTo(210 / lastday - 1, 5);

    const byAssetId = await sdk.trading.positions.getOpenPosition({ symbolOrAssetId: h.book.security('AAPL')!.alpacaAssetId });
    expect(byAssetId.qty).toBe('5');
    const account = await sdk.trading.account.getAccount();
    expect(account.cash).toBe('99000');
    expect(account.longMarketValue).toBe('1050');
    expect(account.equity).toBe('100050');

    await sdk.trading.orders.market({ symbol: 'AAPL', qty: 5, side: 'sell' });
    const gone = await rejection(sdk.trading.positions.getOpenPosition({ symbolOrAssetId: 'AAPL' }));
    expect(gone).toBeInstanceOf(NotFoundError);
    expect(gone.code).toBe(40410000);
    expect((await sdk.trading.account.getAccount()).cash).toBe('100050');
  });

  it('buys a fractional quantity for a notional market order', async () => {
    h.book.setPrice('MSFT', 400);
    const order = await h.client.sdk.trading.orders.market({ symbol: 'MSFT', notional: 1000, side: 'buy' });
    expect(order.status).toBe('filled');
    expect(order.notional).toBe('1000');
    expect(order.filledQty).toBe('2.5');
    const position = await h.client.sdk.trading.positions.getOpenPosition({ symbolOrAssetId: 'MSFT' });
    expect(position.qty).toBe('2.5');
  });

  it('rejects a duplicate client_order_id with 422 and code 40010001, and finds orders by either id', async () => {
    const { orders } = h.client.sdk.trading;
    const first = await orders.market({ symbol: 'KO', qty: 1, side: 'buy', clientOrderId: 'my-order-1' });
    const err = await rejection(orders.market({ symbol: 'KO', qty: 1, side: 'buy', clientOrderId: 'my-order-1' }));
    expect(err).toBeInstanceOf(ValidationError);
    expect(err.status).toBe(422);
    expect(err.code).toBe(40010001);
    expect(err.message).toMatch(/client_order_id/);

    const byClientId = await orders.getOrderByClientOrderId({ clientOrderId: 'my-order-1' });
    expect(byClientId.id).toBe(first.id);
    const byId = await orders.getOrderByOrderID({ orderId: first.id! });
    expect(byId.clientOrderId).toBe('my-order-1');
    const missing = await rejection(orders.getOrderByClientOrderId({ clientOrderId: 'nope' }));
    expect(missing.status).toBe(404);
  });

  it('rests a limit order until the price crosses it, then fills it at the crossing price', async () => {
    const { orders } = h.client.sdk.trading;
    h.book.setPrice('JPM', 200);
    const order = await orders.limit({ symbol: 'JPM', qty: 10, side: 'buy', limitPrice: 190, timeInForce: 'gtc' });
    expect(order.status).toBe('new');
    expect(order.limitPrice).toBe('190');
    expect((await orders.getAllOrders({ status: 'open' })).map((o) => o.id)).toEqual([order.id]);
    // Open buy orders reserve buying power.
    expect((await h.client.sdk.trading.account.getAccount()).buyingPower).toBe('98100');

    h.book.setPrice('JPM', 195);
    expect((await orders.getOrderByOrderID({ orderId: order.id! })).status).toBe('new');
    h.book.setPrice('JPM', 189.5);
    const filled = await orders.getOrderByOrderID({ orderId: order.id! });
    expect(filled.status).toBe('filled');
    expect(filled.filledAvgPrice).toBe('189.5');
    expect(await orders.getAllOrders({ status: 'open' })).toEqual([]);
    expect((await orders.getAllOrders({ status: 'closed' })).map((o) => o.id)).toEqual([order.id]);
    expect((await h.client.sdk.trading.positions.getOpenPosition({ symbolOrAssetId: 'JPM' })).qty).toBe('10');
  });

  it('cancels an open order, and answers 422 for a filled one and 404 for an unknown one', async () => {
    const { orders } = h.client.sdk.trading;
    h.book.setPrice('V', 280);
    const open = await orders.limit({ symbol: 'V', qty: 1, side: 'buy', limitPrice: 100 });
    await orders.deleteOrderByOrderID({ orderId: open.id! });
    const canceled = await orders.getOrderByOrderID({ orderId: open.id! });
    expect(canceled.status).toBe('canceled');
    expect(canceled.canceledAt).toBeInstanceOf(Date);

    const filled = await orders.market({ symbol: 'V', qty: 1, side: 'buy' });
    const notCancelable = await rejection(orders.deleteOrderByOrderID({ orderId: filled.id! }));
    expect(notCancelable.status).toBe(422);
    expect(notCancelable.code).toBe(42210000);
    const unknown = await rejection(orders.deleteOrderByOrderID({ orderId: '00000000-0000-4000-8000-000000000000' }));
    expect(unknown).toBeInstanceOf(NotFoundError);
  });

  it('refuses orders beyond buying power or beyond the shares held with 403', async () => {
    const { orders } = h.client.sdk.trading;
    const tooBig = await rejection(orders.market({ symbol: 'COST', qty: 1000, side: 'buy' }));
    expect(tooBig).toBeInstanceOf(PermissionError);
    expect(tooBig.code).toBe(40310000);
    expect(tooBig.message).toBe('insufficient buying power');
    const naked = await rejection(orders.market({ symbol: 'AAPL', qty: 1, side: 'sell' }));
    expect(naked.status).toBe(403);
    expect(naked.message).toMatch(/insufficient qty available/);
    const badSymbol = await rejection(orders.market({ symbol: 'SHOP.TO', qty: 1, side: 'buy' }));
    expect(badSymbol.status).toBe(422);
  });

  it('lists US listings as Alpaca assets but not TSX listings or the money-market fund', async () => {
    const { assets } = h.client.sdk.trading;
    const aapl = await assets.getV2AssetsSymbolOrAssetId({ symbolOrAssetId: 'AAPL' });
    expect(aapl).toMatchObject({ symbol: 'AAPL', id: h.book.security('AAPL')!.alpacaAssetId, exchange: 'NASDAQ', tradable: true, status: 'active' });
    expect((await assets.getV2AssetsSymbolOrAssetId({ symbolOrAssetId: 'SPY' })).exchange).toBe('ARCA');
    for (const symbol of ['SHOP.TO', 'SWVXX', 'NOPE']) {
      const err = await rejection(assets.getV2AssetsSymbolOrAssetId({ symbolOrAssetId: symbol }));
      expect(err.status).toBe(404);
    }
  });

  it('serves latest trades from the price book on the data API', async () => {
    const { stocks } = h.client.sdk.marketData;
    h.book.setPrice('AAPL', 231.23);
    h.book.setPrice('NVDA', 118.07);
    const latest = await stocks.stockLatestTrades({ symbols: 'AAPL,NVDA,SHOP.TO' });
    expect(Object.keys(latest.trades).sort()).toEqual(['AAPL', 'NVDA']);
    expect(latest.trades.AAPL).toMatchObject({ p: 231.23, x: 'Q', z: 'C' });
    expect(latest.trades.AAPL!.t).toBeInstanceOf(Date);
    expect(latest.trades.NVDA!.p).toBe(118.07);
    const single = await stocks.stockLatestTradeSingle({ symbol: 'AAPL' });
    expect(single.symbol).toBe('AAPL');
    expect(single.trade.p).toBe(231.23);
    expect(await h.client.sdk.marketData.getLatestPrice('NVDA')).toBe(118.07);
  });

  it('keeps each account to its own key pair, cash, positions and orders', async () => {
    const second = h.sandbox.createAccount({ cash: 5000 });
    expect(second.keyId).toMatch(/^PK[A-Z0-9]{18}$/);
    const other = h.clientFor(second.keyId, second.secretKey, { retry: false }).sdk;
    h.book.setPrice('KO', 70);
    await other.trading.orders.market({ symbol: 'KO', qty: 10, side: 'buy', clientOrderId: 'shared-id' });
    // The same client_order_id is fine on another account.
    await h.client.sdk.trading.orders.market({ symbol: 'KO', qty: 1, side: 'buy', clientOrderId: 'shared-id' });

    expect((await other.trading.account.getAccount()).cash).toBe('4300');
    expect((await other.trading.positions.getAllOpenPositions()).map((p) => [p.symbol, p.qty])).toEqual([['KO', '10']]);
    expect((await h.client.sdk.trading.positions.getAllOpenPositions()).map((p) => [p.symbol, p.qty])).toEqual([['KO', '1']]);
    expect(await other.trading.orders.getAllOrders({ status: 'all' })).toHaveLength(1);

    expect(h.sandbox.fundAccount(second.id, 700)).toBe(5000);
    h.sandbox.setPositions(second.keyId, [{ symbol: 'SPY', qty: 3, avgEntryPrice: 500 }]);
    const positions = await other.trading.positions.getAllOpenPositions();
    expect(positions.map((p) => [p.symbol, p.qty, p.costBasis])).toEqual([['SPY', '3', '1500']]);
    expect(h.sandbox.listAccounts().map((a) => a.id)).toEqual([h.sandbox.defaultAccountId, second.id]);
  });

  it('sends X-RateLimit headers and answers 429 once the per-key budget is spent', async () => {
    h.sandbox.setRateLimit(3);
    const headers = { 'APCA-API-KEY-ID': KEY_ID, 'APCA-API-SECRET-KEY': SECRET };
    const first = await fetch(`${h.sandbox.url}/v2/account`, { headers });
    expect(first.headers.get('X-RateLimit-Limit')).toBe('3');
    expect(first.headers.get('X-RateLimit-Remaining')).toBe('2');
    expect(Number(first.headers.get('X-RateLimit-Reset'))).toBeGreaterThan(Date.now() / 1000);
    await fetch(`${h.sandbox.url}/v2/account`, { headers });
    await fetch(`${h.sandbox.url}/v2/account`, { headers });
    const err = await rejection(h.client.sdk.trading.account.getAccount());
    expect(err).toBeInstanceOf(RateLimitError);
    expect(err.code).toBe(42910000);
    expect(err.rateLimit).toMatchObject({ limit: 3, remaining: 0 });
  });

  it('fails requests with injected faults, which the SDK retries on GET', async () => {
    h.sandbox.setFaults({ probability: 1, statuses: [503], maxFaults: 1 });
    const retrying = h.clientFor(KEY_ID, SECRET).sdk;
    const account = await retrying.trading.account.getAccount();
    expect(account.id).toBe(h.sandbox.defaultAccountId);
    const counts = h.sandbox.requestCounts();
    expect(counts.byStatus).toEqual({ '503': 1, '200': 1 });
    expect(counts.byRoute['GET /v2/account']).toBe(2);

    h.sandbox.setFaults({ probability: 1, statuses: [500] });
    const err = await rejection(h.client.sdk.trading.positions.getAllOpenPositions());
    expect(err.status).toBe(500);
    h.sandbox.setFaults(undefined);
    expect(await h.client.sdk.trading.positions.getAllOpenPositions()).toEqual([]);
  });

  it('counts requests by route with ids and symbols folded', async () => {
    const { sdk } = h.client;
    const order = await sdk.trading.orders.market({ symbol: 'IBM', qty: 1, side: 'buy' });
    await sdk.trading.orders.getOrderByOrderID({ orderId: order.id! });
    await sdk.trading.positions.getOpenPosition({ symbolOrAssetId: 'IBM' });
    await sdk.marketData.stocks.stockLatestTradeSingle({ symbol: 'IBM' });
    const counts = h.sandbox.requestCounts();
    expect(counts.total).toBe(4);
    expect(counts.byRoute).toEqual({
      'POST /v2/orders': 1,
      'GET /v2/orders/{order_id}': 1,
      'GET /v2/positions/{symbol}': 1,
      'GET /v2/stocks/{symbol}/trades/latest': 1,
    });
    expect(counts.byAccount).toEqual({ [h.sandbox.defaultAccountId]: 4 });
  });
});
