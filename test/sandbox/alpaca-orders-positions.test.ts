import { NotFoundError, PermissionError } from '@alpacahq/alpaca-trade-api';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KEY_ID, SECRET, startHarness, type AlpacaHarness } from './alpaca-fixture.ts';

/**
 * Order and position operations of SDK 4 beyond placing, reading and canceling one order:
 * cancel all (`DELETE /v2/orders`), close one or all positions (`DELETE /v2/positions[/{symbol}]`),
 * and the newer order-list filters (`after_order_id`, `before_order_id`, `asset_class`).
 */

let h: AlpacaHarness;

beforeEach(async () => {
  h = await startHarness();
});

afterEach(async () => {
  await h.close();
});

const headers = { 'APCA-API-KEY-ID': KEY_ID, 'APCA-API-SECRET-KEY': SECRET };

describe('Alpaca sandbox order and position operations', () => {
  it('cancels every open order with DELETE /v2/orders and frees the buying power they held', async () => {
    const { orders, account } = h.client.sdk.trading;
    h.book.setPrice('JPM', 200);
    const a = await orders.limit({ symbol: 'JPM', qty: 10, side: 'buy', limitPrice: 150, timeInForce: 'gtc' });
    const b = await orders.limit({ symbol: 'JPM', qty: 5, side: 'buy', limitPrice: 100, timeInForce: 'gtc' });
    const filled = await orders.market({ symbol: 'JPM', qty: 1, side: 'buy' });
    expect((await account.getAccount()).buyingPower).toBe('97800');

    const canceled = await orders.deleteAllOrders();
    expect(canceled.map((c) => [c.id, c.status]).sort()).toEqual([[a.id, 200], [b.id, 200]].sort());
    expect((await orders.getOrderByOrderID({ orderId: a.id! })).status).toBe('canceled');
    expect((await orders.getOrderByOrderID({ orderId: filled.id! })).status).toBe('filled');
    expect(await orders.getAllOrders({ status: 'open' })).toEqual([]);
    expect((await account.getAccount()).buyingPower).toBe('99800');
    expect(await orders.deleteAllOrders()).toEqual([]);
  });

  it('closes part or all of a position with a market sell order', async () => {
    const { positions, orders } = h.client.sdk.trading;
    h.book.setPrice('KO', 60);
    await orders.market({ symbol: 'KO', qty: 10, side: 'buy' });
    h.book.setPrice('KO', 62);

    const half = await positions.deleteOpenPosition({ symbolOrAssetId: 'KO', percentage: 50 });
    expect(half).toMatchObject({ symbol: 'KO', side: 'sell', type: 'market', status: 'filled', filledQty: '5', filledAvgPrice: '62' });
    expect((await positions.getOpenPosition({ symbolOrAssetId: 'KO' })).qty).toBe('5');
    const two = await positions.deleteOpenPosition({ symbolOrAssetId: h.book.security('KO')!.alpacaAssetId, qty: 2 });
    expect(two.filledQty).toBe('2');
    await positions.deleteOpenPosition({ symbolOrAssetId: 'KO' });
    await expect(positions.getOpenPosition({ symbolOrAssetId: 'KO' })).rejects.toBeInstanceOf(NotFoundError);
    await expect(positions.deleteOpenPosition({ symbolOrAssetId: 'KO' })).rejects.toBeInstanceOf(NotFoundError);
    expect((await h.client.sdk.trading.account.getAccount()).cash).toBe(String(100_000 - 600 + 620));
  });

  it('will not close shares held back by an open sell order unless asked to cancel orders first', async () => {
    const { positions, orders } = h.client.sdk.trading;
    h.book.setPrice('KO', 60);
    h.book.setPrice('SPY', 500);
    await orders.market({ symbol: 'KO', qty: 4, side: 'buy' });
    await orders.market({ symbol: 'SPY', qty: 1, side: 'buy' });
    const resting = await orders.limit({ symbol: 'KO', qty: 4, side: 'sell', limitPrice: 90, timeInForce: 'gtc' });

    await expect(positions.deleteOpenPosition({ symbolOrAssetId: 'KO' })).rejects.toBeInstanceOf(PermissionError);
    const kept = await h.client.sdk.trading.closeAllPositions();
    expect(kept.map((r) => [r.symbol, r.status])).toEqual([['KO', 403], ['SPY', 200]]);
    expect(kept[1]!.body).toMatchObject({ symbol: 'SPY', side: 'sell', status: 'filled' });

    const closed = await h.client.sdk.trading.closeAllPositions({ cancelOrders: true });
    expect(closed.map((r) => [r.symbol, r.status])).toEqual([['KO', 200]]);
    expect((await orders.getOrderByOrderID({ orderId: resting.id! })).status).toBe('canceled');
    expect(await positions.getAllOpenPositions()).toEqual([]);
  });

  it('lists orders after or before a given order id, and none for another asset class', async () => {
    const { orders } = h.client.sdk.trading;
    const placed = [];
    for (let i = 0; i < 4; i++) placed.push(await orders.market({ symbol: 'KO', qty: 1, side: 'buy' }));
    const ids = (list: { id?: string }[]) => list.map((o) => o.id);

    expect(ids(await orders.getAllOrders({ status: 'all', afterOrderId: placed[1]!.id }))).toEqual([placed[3]!.id, placed[2]!.id]);
    expect(ids(await orders.getAllOrders({ status: 'all', beforeOrderId: placed[2]!.id, direction: 'asc' }))).toEqual([placed[0]!.id, placed[1]!.id]);
    expect(await orders.getAllOrders({ status: 'all', assetClass: ['crypto'] })).toEqual([]);
    expect(await orders.getAllOrders({ status: 'all', assetClass: ['us_equity', 'crypto'], nested: true })).toHaveLength(4);
    const unknown = await fetch(`${h.sandbox.url}/v2/orders?status=all&after_order_id=00000000-0000-4000-8000-000000000000`, { headers });
    expect(unknown.status).toBe(404);
  });
});
