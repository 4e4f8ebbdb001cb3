import { afterEach, describe, expect, it } from 'vitest';
import type { streaming } from '@alpacahq/alpaca-trade-api';
import { KEY_ID, sleep, startHarness, waitFor, type AlpacaHarness } from './alpaca-fixture.ts';
import type { AlpacaClient } from '../../src/providers/alpaca/client.ts';

let h: AlpacaHarness | undefined;
const streams: streaming.TradingStream[] = [];

afterEach(async () => {
  for (const stream of streams.splice(0)) stream.disconnect();
  await h?.close();
  h = undefined;
});

/** A connected trade_updates stream that has confirmed it is listening. */
async function listen(client: AlpacaClient): Promise<{ stream: streaming.TradingStream; updates: streaming.TradeUpdate[] }> {
  const stream = client.tradingStream({ initialReconnectMs: 50, reconnectJitter: 0, pingIntervalMs: 0 });
  streams.push(stream);
  const updates: streaming.TradeUpdate[] = [];
  stream.onTradeUpdate((u) => updates.push(u));
  let listening: unknown;
  stream.on('subscription', (s: unknown) => (listening = s));
  stream.subscribeTradeUpdates();
  stream.connect();
  expect(await stream.waitForAuthentication(2000)).toBe(true);
  await waitFor(() => listening !== undefined, 2000, 'listening');
  expect(listening).toEqual(['trade_updates']);
  return { stream, updates };
}

describe('Alpaca sandbox trade_updates stream through the real SDK', () => {
  it('delivers new then fill for a market order, with the fill price and the position after it', async () => {
    h = await startHarness();
    const { updates } = await listen(h.client);
    h.book.setPrice('NFLX', 680);
    const order = await h.client.sdk.trading.orders.market({ symbol: 'NFLX', qty: 2, side: 'buy', clientOrderId: 'tu-1' });
    await waitFor(() => updates.length === 2, 2000, 'two updates');
    expect(updates.map((u) => u.event)).toEqual(['new', 'fill']);
    const fill = updates[1]!;
    expect(fill).toMatchObject({ price: '680', qty: '2', positionQty: '2' });
    expect(fill.executionId).toMatch(/^[0-9a-f-]{36}$/);
    expect(fill.timestamp).toBeInstanceOf(Date);
    expect(fill.order).toMatchObject({ id: order.id, clientOrderId: 'tu-1', status: 'filled', filledQty: '2', symbol: 'NFLX' });

    await h.client.sdk.trading.orders.market({ symbol: 'NFLX', qty: 1, side: 'sell' });
    await waitFor(() => updates.length === 4, 2000, 'sell updates');
    expect(updates[3]).toMatchObject({ event: 'fill', qty: '1', positionQty: '1' });
    expect((await h.client.sdk.trading.positions.getOpenPosition({ symbolOrAssetId: 'NFLX' })).qty).toBe('1');
  });

  it('reports each streamed fill as a FILL activity whose id carries the execution id', async () => {
    h = await startHarness({ maxFillQtyPerTick: 3 });
    const { updates } = await listen(h.client);
    h.book.setPrice('INTC', 22);
    await h.client.sdk.trading.orders.limit({ symbol: 'INTC', qty: 5, side: 'buy', limitPrice: 21, timeInForce: 'gtc' });
    h.book.setPrice('INTC', 20.9);
    h.book.setPrice('INTC', 20.8);
    await waitFor(() => updates.length === 3, 2000, 'fills');
    const executions = updates.filter((u) => u.executionId !== undefined);
    const activities = await h.client.sdk.trading.accountActivities.getAccountActivities({ activityTypes: ['FILL'], direction: 'asc' });
    expect(activities.map((a) => [a.id!.split('::')[1], a.type, a.qty, a.price])).toEqual(
      executions.map((u) => [u.executionId, u.event, u.qty, u.price]),
    );
  });

  it('fills a resting limit order in parts when ticks are smaller than the order', async () => {
    h = await startHarness({ maxFillQtyPerTick: 10 });
    const { updates } = await listen(h.client);
    h.book.setPrice('INTC', 22);
    const order = await h.client.sdk.trading.orders.limit({ symbol: 'INTC', qty: 25, side: 'buy', limitPrice: 21, timeInForce: 'gtc' });
    await waitFor(() => updates.length === 1, 2000, 'new');
    h.book.setPrice('INTC', 20.9);
    h.book.setPrice('INTC', 21.5); // above the limit: no fill
    h.book.setPrice('INTC', 20.95);
    h.book.setPrice('INTC', 20.8);
    await waitFor(() => updates.length === 4, 2000, 'fills');
    expect(updates.map((u) => [u.event, u.qty, u.price, u.positionQty])).toEqual([
      ['new', undefined, undefined, undefined],
      ['partial_fill', '10', '20.9', '10'],
      ['partial_fill', '10', '20.95', '20'],
      ['fill', '5', '20.8', '25'],
    ]);
    const done = await h.client.sdk.trading.orders.getOrderByOrderID({ orderId: order.id! });
    expect(done.status).toBe('filled');
    expect(Number(done.filledAvgPrice)).toBeCloseTo((10 * 20.9 + 10 * 20.95 + 5 * 20.8) / 25, 6);
  });

  it('announces a cancel', async () => {
    h = await startHarness();
    const { updates } = await listen(h.client);
    const order = await h.client.sdk.trading.orders.limit({ symbol: 'DIS', qty: 1, side: 'buy', limitPrice: 1 });
    await h.client.sdk.trading.orders.deleteOrderByOrderID({ orderId: order.id! });
    await waitFor(() => updates.length === 2, 2000, 'new and canceled');
    expect(updates.map((u) => [u.event, u.order.status])).toEqual([
      ['new', 'new'],
      ['canceled', 'canceled'],
    ]);
  });

  it("sends each account only its own orders' updates", async () => {
    h = await startHarness();
    const other = h.sandbox.createAccount();
    const otherClient = h.clientFor(other.keyId, other.secretKey, { retry: false });
    const mine = await listen(h.client);
    const theirs = await listen(otherClient);
    await otherClient.sdk.trading.orders.market({ symbol: 'PEP', qty: 1, side: 'buy' });
    await waitFor(() => theirs.updates.length === 2, 2000, "the other account's updates");
    await sleep(50);
    expect(mine.updates).toEqual([]);
  });

  it('rejects wrong credentials without retrying', async () => {
    h = await startHarness();
    const stream = h.clientFor(KEY_ID, 'wrong').tradingStream();
    streams.push(stream);
    stream.connect();
    const result = await stream.waitForAuthenticationResult(2000);
    expect(result).toMatchObject({ authenticated: false, status: 'server_rejected' });
    await sleep(100);
    expect(h.sandbox.connectionCounts().tradeUpdates).toBe(0);
  });

  it('resumes updates after the sandbox drops the trading stream', async () => {
    h = await startHarness();
    const { stream, updates } = await listen(h.client);
    let reconnected = false;
    let listening = 0;
    stream.onReconnected(() => (reconnected = true));
    stream.on('subscription', () => listening++);
    expect(h.sandbox.killTradeUpdateConnections()).toBe(1);
    await waitFor(() => reconnected && listening === 1, 5000, 'reconnect and listen again');
    expect(h.sandbox.connectionCounts().tradeUpdates).toBe(1);
    await h.client.sdk.trading.orders.market({ symbol: 'WMT', qty: 1, side: 'buy' });
    await waitFor(() => updates.length === 2, 2000, 'updates after reconnect');
    expect(updates.map((u) => u.event)).toEqual(['new', 'fill']);
  });
});
