import { describe, expect, it } from 'vitest';
import { sdkError, useSnaptradeSandbox } from './snaptrade-sdk-fixture.ts';

const t = useSnaptradeSandbox();

// The spec types client_order_id as a UUID.
const SAM_CLIENT_ORDER_ID = '0b6f5d4e-8c1a-4f3e-9a2b-7d6c5e4f3a21';
const VIC_CLIENT_ORDER_ID = '7e1d2c3b-4a59-4687-8b9c-0d1e2f3a4b5c';

/** A user with one funded Robinhood USD account holding 10 AAPL. */
async function fundedAccount(userId: string) {
  const user = await t.user(userId);
  const auth = await t.sandbox.control.connect(userId, {
    brokerage: 'ROBINHOOD',
    type: 'trade',
    accounts: [{ currency: 'USD', cash: { USD: 100_000 }, positions: [{ symbol: 'AAPL', units: 10, averageCost: 150 }] }],
    webhooks: false,
  });
  return { user, accountId: auth.accounts[0]!.id };
}

describe('SnapTrade sandbox quotes', () => {
  it('quotes tickers and universal symbol ids from the price book: bid below, ask above the last price, round-lot sizes', async () => {
    const { user, accountId } = await fundedAccount('quinn');
    await t.sandbox.control.setPrices({ prices: { AAPL: 200, MSFT: 400.5 } });

    const { data: byTicker } = await t.snaptrade.trading.getUserAccountQuotes({
      ...user,
      accountId,
      symbols: 'AAPL,MSFT',
      useTicker: true,
    });
    t.expectConforms('Trading_getUserAccountQuotes', byTicker);
    expect(byTicker.map((q) => q.symbol?.symbol)).toEqual(['AAPL', 'MSFT']);
    for (const [quote, last] of [
      [byTicker[0]!, 200],
      [byTicker[1]!, 400.5],
    ] as const) {
      expect(quote.last_trade_price).toBe(last);
      expect(quote.bid_price).toBeLessThan(last);
      expect(quote.ask_price).toBeGreaterThan(last);
      // About 4 bp wide.
      expect(quote.ask_price! - quote.bid_price!).toBeCloseTo(last * 0.0004, 2);
      expect(quote.bid_size! % 100).toBe(0);
      expect(quote.ask_size! % 100).toBe(0);
      expect(quote.bid_size).toBeGreaterThan(0);
    }

    // Without use_ticker, `symbols` are universal symbol ids.
    const aaplId = t.sandbox.priceBook.security('AAPL')!.snaptradeId;
    const { data: byId } = await t.snaptrade.trading.getUserAccountQuotes({ ...user, accountId, symbols: aaplId });
    t.expectConforms('Trading_getUserAccountQuotes', byId);
    expect(byId).toEqual([byTicker[0]]);
  });

  it('refuses a ticker given as a universal symbol id, an unknown ticker and more than 10 symbols with 400', async () => {
    const { user, accountId } = await fundedAccount('rita');
    const notAnId = await sdkError(t.snaptrade.trading.getUserAccountQuotes({ ...user, accountId, symbols: 'AAPL' }));
    expect(notAnId.status).toBe(400);
    expect((notAnId.responseBody as { detail: string }).detail).toContain('use_ticker');
    const unknown = await sdkError(
      t.snaptrade.trading.getUserAccountQuotes({ ...user, accountId, symbols: 'NOPE', useTicker: true }),
    );
    expect(unknown.status).toBe(400);
    const many = 'AAPL,MSFT,GOOGL,AMZN,NVDA,META,TSLA,NFLX,ADBE,COST,PEP';
    const tooMany = await sdkError(t.snaptrade.trading.getUserAccountQuotes({ ...user, accountId, symbols: many, useTicker: true }));
    expect(tooMany.status).toBe(400);
  });
});

describe('SnapTrade sandbox orders', () => {
  it('finds an order by brokerage order id and by its client order id in the V1 and V2 detail lookups', async () => {
    const { user, accountId } = await fundedAccount('sam');
    const { data: placed } = await t.snaptrade.trading.placeForceOrder({
      ...user,
      account_id: accountId,
      action: 'BUY',
      symbol: 'MSFT',
      order_type: 'Limit',
      time_in_force: 'GTC',
      price: 1,
      units: 2,
      client_order_id: SAM_CLIENT_ORDER_ID,
    });
    const orderId = placed.brokerage_order_id!;

    const { data: detail } = await t.snaptrade.accountInformation.getUserAccountOrderDetail({
      ...user,
      accountId,
      brokerage_order_id: orderId,
    });
    t.expectConforms('AccountInformation_getUserAccountOrderDetail', detail);
    expect(detail).toMatchObject({ brokerage_order_id: orderId, status: 'ACCEPTED', total_quantity: '2', limit_price: '1' });
    const { data: byClientId } = await t.snaptrade.accountInformation.getUserAccountOrderDetail({
      ...user,
      accountId,
      brokerage_order_id: SAM_CLIENT_ORDER_ID,
    });
    expect(byClientId).toEqual(detail);

    for (const id of [orderId, SAM_CLIENT_ORDER_ID]) {
      const { data: v2 } = await t.snaptrade.experimentalEndpoints.getUserAccountOrderDetailV2({
        ...user,
        accountId,
        brokerageOrderId: id,
      });
      t.expectConforms('AccountInformation_getUserAccountOrderDetailV2', v2);
      expect(v2).toMatchObject({
        brokerage_order_id: orderId,
        status: 'ACCEPTED',
        order_type: 'LIMIT',
        time_in_force: 'GTC',
        quote_currency: 'USD',
        limit_price: '1',
        legs: [
          {
            leg_id: orderId,
            action: 'BUY',
            status: 'PENDING',
            total_quantity: '2',
            filled_quantity: '0',
            instrument: { symbol: 'MSFT', asset_type: 'EQUITY', exchange_mic_code: 'XNAS' },
          },
        ],
      });
    }

    const missing = await sdkError(
      t.snaptrade.accountInformation.getUserAccountOrderDetail({ ...user, accountId, brokerage_order_id: 'no-such-order' }),
    );
    expect(missing.status).toBe(404);
    expect(missing.responseBody).toMatchObject({ code: '1011' });

    // Another user's account does not see the order, by either id.
    const other = await fundedAccount('tess');
    for (const id of [orderId, SAM_CLIENT_ORDER_ID]) {
      const err = await sdkError(
        t.snaptrade.experimentalEndpoints.getUserAccountOrderDetailV2({ ...other.user, accountId: other.accountId, brokerageOrderId: id }),
      );
      expect(err.status).toBe(404);
    }
  });

  it('lists orders in the V2 format, all of them and the recent executed ones, each with its one leg', async () => {
    const { user, accountId } = await fundedAccount('uma');
    await t.sandbox.control.setPrices({ symbol: 'AAPL', price: 200 });
    const { data: filled } = await t.snaptrade.trading.placeForceOrder({
      ...user,
      account_id: accountId,
      action: 'SELL',
      symbol: 'AAPL',
      order_type: 'Market',
      time_in_force: 'Day',
      units: 4,
    });
    const { data: resting } = await t.snaptrade.trading.placeForceOrder({
      ...user,
      account_id: accountId,
      action: 'BUY',
      symbol: 'MSFT',
      order_type: 'Limit',
      time_in_force: 'Day',
      price: 1,
      units: 1,
    });

    const { data: all } = await t.snaptrade.experimentalEndpoints.getUserAccountOrdersV2({ ...user, accountId });
    t.expectConforms('AccountInformation_getUserAccountOrdersV2', all);
    const byId = new Map(all.orders.map((o) => [o.brokerage_order_id, o]));
    expect(byId.get(filled.brokerage_order_id!)).toMatchObject({
      status: 'EXECUTED',
      order_type: 'MARKET',
      time_in_force: 'DAY',
      execution_price: '200',
      legs: [{ action: 'SELL', status: 'EXECUTED', filled_quantity: '4', execution_price: '200' }],
    });
    expect(byId.get(resting.brokerage_order_id!)).toMatchObject({ status: 'ACCEPTED', legs: [{ status: 'PENDING' }] });
    const { data: open } = await t.snaptrade.experimentalEndpoints.getUserAccountOrdersV2({ ...user, accountId, state: 'open' });
    expect(open.orders.map((o) => o.brokerage_order_id)).toEqual([resting.brokerage_order_id]);

    const { data: recent } = await t.snaptrade.experimentalEndpoints.getUserAccountRecentOrdersV2({ ...user, accountId });
    t.expectConforms('AccountInformation_getUserAccountRecentOrdersV2', recent);
    expect(recent.orders.map((o) => o.brokerage_order_id)).toEqual([filled.brokerage_order_id]);
    const { data: recentAll } = await t.snaptrade.experimentalEndpoints.getUserAccountRecentOrdersV2({
      ...user,
      accountId,
      onlyExecuted: false,
    });
    expect(recentAll.orders.map((o) => o.brokerage_order_id).sort()).toEqual(
      [filled.brokerage_order_id, resting.brokerage_order_id].sort(),
    );
  });

  it('cancels through the deprecated orders/cancel alias by client order id and answers with the canceled order', async () => {
    const { user, accountId } = await fundedAccount('vic');
    const { data: resting } = await t.snaptrade.trading.placeForceOrder({
      ...user,
      account_id: accountId,
      action: 'BUY',
      symbol: 'MSFT',
      order_type: 'Limit',
      time_in_force: 'GTC',
      price: 1,
      units: 3,
      client_order_id: VIC_CLIENT_ORDER_ID,
    });
    const { data: canceled } = await t.snaptrade.trading.cancelUserAccountOrder({
      ...user,
      accountId,
      brokerage_order_id: VIC_CLIENT_ORDER_ID,
    });
    t.expectConforms('Trading_cancelUserAccountOrder', canceled);
    expect(canceled).toMatchObject({
      brokerage_order_id: resting.brokerage_order_id,
      status: 'CANCELED',
      canceled_quantity: '3',
      open_quantity: '0',
    });
    const again = await sdkError(
      t.snaptrade.trading.cancelUserAccountOrder({ ...user, accountId, brokerage_order_id: resting.brokerage_order_id! }),
    );
    expect(again.status).toBe(400);
    const unknown = await sdkError(t.snaptrade.trading.cancelOrder({ ...user, accountId, brokerage_order_id: 'nope' }));
    expect(unknown.status).toBe(404);
  });
});

describe('SnapTrade sandbox symbol search', () => {
  it('searches symbols by ticker and name, exact tickers first, at most 20', async () => {
    const { data: apple } = await t.snaptrade.referenceData.getSymbols({ substring: 'aapl' });
    t.expectConforms('ReferenceData_getSymbols', apple);
    expect(apple[0]).toMatchObject({ symbol: 'AAPL', id: t.sandbox.priceBook.security('AAPL')!.snaptradeId });

    const { data: banks } = await t.snaptrade.referenceData.getSymbols({ substring: 'bank' });
    expect(banks.map((s) => s.symbol)).toEqual(expect.arrayContaining(['RY.TO', 'TD.TO', 'BAC', 'BNS.TO']));
    // A raw ticker finds its suffixed listing first.
    const { data: shop } = await t.snaptrade.referenceData.getSymbols({ substring: 'SHOP' });
    expect(shop[0]!.symbol).toBe('SHOP.TO');

    const { data: wide } = await t.snaptrade.referenceData.getSymbols({ substring: 'a' });
    expect(wide).toHaveLength(20);
  });
});
