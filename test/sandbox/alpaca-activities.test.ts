import { ValidationError, type trading } from '@alpacahq/alpaca-trade-api';
import { afterEach, describe, expect, it } from 'vitest';
import { KEY_ID, SECRET, startHarness, type AlpacaHarness } from './alpaca-fixture.ts';

/**
 * `GET /v2/account/activities` and `/v2/account/activities/{activity_type}`: the record of what
 * happened in a sandbox account. Fills produce FILL activities, deposits (the opening cash
 * included) CSD, withdrawals CSW; nothing else happens in the sandbox, so there are no
 * dividends (DIV) or fees (FEE).
 */

let h: AlpacaHarness | undefined;
let clock: number;

afterEach(async () => {
  await h?.close();
  h = undefined;
});

/** A sandbox whose account, order and activity times come from `clock`. */
async function start(options: { maxFillQtyPerTick?: number } = {}): Promise<AlpacaHarness> {
  // Friday 2024-05-24, 11:00 in New York.
  clock = Date.parse('2024-05-24T15:00:00.000Z');
  h = await startHarness({ now: () => new Date(clock), ...options });
  return h;
}

/** Move the sandbox clock on by `ms`. */
function later(ms = 1000): void {
  clock += ms;
}

const headers = { 'APCA-API-KEY-ID': KEY_ID, 'APCA-API-SECRET-KEY': SECRET };

async function raw(h: AlpacaHarness, path: string): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`${h.sandbox.url}${path}`, { headers });
  return { status: res.status, body: await res.json() };
}

type Activity = trading.GetAccountActivities200ResponseInner;

describe('Alpaca sandbox account activities', () => {
  it('records the opening cash as a CSD with Alpaca field names and an id in New York time', async () => {
    const { client } = await start();
    const activities = await client.sdk.trading.accountActivities.getAccountActivities();
    expect(activities).toHaveLength(1);
    expect(activities[0]).toMatchObject({ activityType: 'CSD', netAmount: '100000', status: 'executed', currency: 'USD' });
    expect(activities[0]!.date).toEqual(new Date('2024-05-24'));
    const wire = (await raw(h!, '/v2/account/activities')).body as Record<string, unknown>[];
    expect(wire).toEqual([
      {
        id: expect.stringMatching(/^20240524110000000::[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/),
        activity_type: 'CSD',
        date: '2024-05-24',
        created_at: '2024-05-24T15:00:00.000Z',
        net_amount: '100000',
        currency: 'USD',
        status: 'executed',
      },
    ]);
  });

  it('turns fills and funding into FILL, CSD and CSW activities that add up to the cash balance', async () => {
    const { client, sandbox, book } = await start();
    const { sdk } = client;
    book.setPrice('AAPL', 200);
    later();
    const buy = await sdk.trading.orders.market({ symbol: 'AAPL', qty: 5, side: 'buy' });
    later();
    sandbox.fundAccount(sandbox.defaultAccountId, 2500);
    later();
    sandbox.fundAccount(KEY_ID, -500.25);
    later();
    book.setPrice('AAPL', 210);
    const sell = await sdk.trading.orders.market({ symbol: 'AAPL', qty: 2, side: 'sell' });

    const activities = await sdk.trading.accountActivities.getAccountActivities();
    expect(activities.map((a) => a.activityType)).toEqual(['FILL', 'CSW', 'CSD', 'FILL', 'CSD']);
    expect(activities[0]).toMatchObject({
      activityType: 'FILL',
      type: 'fill',
      symbol: 'AAPL',
      side: 'sell',
      price: '210',
      qty: '2',
      cumQty: '2',
      leavesQty: '0',
      orderId: sell.id,
      orderStatus: 'filled',
      transactionTime: new Date('2024-05-24T15:00:04.000Z'),
    });
    expect(activities[0]!.id).toMatch(/^20240524110004000::/);
    expect(activities[1]).toMatchObject({ activityType: 'CSW', netAmount: '-500.25' });
    expect(activities[2]).toMatchObject({ activityType: 'CSD', netAmount: '2500' });
    expect(activities[3]).toMatchObject({ activityType: 'FILL', side: 'buy', price: '200', qty: '5', orderId: buy.id });
    expect(new Set(activities.map((a) => a.id)).size).toBe(5);

    // The record reconciles with the account: deposits - withdrawals - buys + sells = cash.
    let cash = 0;
    for (const a of activities) {
      if (a.activityType === 'FILL') cash += (a.side === 'buy' ? -1 : 1) * Number(a.price) * Number(a.qty);
      else cash += Number(a.netAmount);
    }
    expect(cash.toFixed(2)).toBe((await sdk.trading.account.getAccount()).cash);
  });

  it('reports each part of a partially filled order as its own FILL with leaves and cumulative qty', async () => {
    const { client, book } = await start({ maxFillQtyPerTick: 3 });
    book.setPrice('JPM', 200);
    const order = await client.sdk.trading.orders.limit({ symbol: 'JPM', qty: 5, side: 'buy', limitPrice: 190, timeInForce: 'gtc' });
    later();
    book.setPrice('JPM', 189);
    later();
    book.setPrice('JPM', 188);
    const fills = (await client.sdk.trading.accountActivities.getAccountActivities({ activityTypes: ['FILL'], direction: 'asc' })) as Activity[];
    expect(fills.map((f) => [f.type, f.qty, f.price, f.cumQty, f.leavesQty, f.orderStatus, f.orderId])).toEqual([
      ['partial_fill', '3', '189', '3', '2', 'partially_filled', order.id],
      ['fill', '2', '188', '5', '0', 'filled', order.id],
    ]);
  });

  it('pages with page_size and page_token (the id of the last activity) in either direction', async () => {
    const { client, sandbox } = await start();
    for (let i = 0; i < 6; i++) {
      later();
      sandbox.fundAccount(KEY_ID, 100 + i);
    }
    const { accountActivities } = client.sdk.trading;
    const all = await accountActivities.getAccountActivities();
    expect(all.map((a) => a.netAmount)).toEqual(['105', '104', '103', '102', '101', '100', '100000']);

    sandbox.resetRequestCounts();
    const collected = await client.sdk.trading.collectActivities({ pageSize: 3 });
    expect(collected.map((a) => a.id)).toEqual(all.map((a) => a.id));
    expect(sandbox.requestCounts().byRoute['GET /v2/account/activities']).toBe(3);

    const first = await accountActivities.getAccountActivities({ direction: 'asc', pageSize: 2 });
    expect(first.map((a) => a.netAmount)).toEqual(['100000', '100']);
    const second = await accountActivities.getAccountActivities({ direction: 'asc', pageSize: 2, pageToken: first[1]!.id });
    expect(second.map((a) => a.netAmount)).toEqual(['101', '102']);
    const back = await accountActivities.getAccountActivities({ direction: 'desc', pageSize: 2, pageToken: second[0]!.id });
    expect(back.map((a) => a.netAmount)).toEqual(['100', '100000']);

    const bad = await raw(h!, '/v2/account/activities?page_token=nope');
    expect(bad.status).toBe(400);
    // Without a date, page_size tops out at 100.
    for (let i = 0; i < 120; i++) sandbox.fundAccount(KEY_ID, 1);
    expect(await accountActivities.getAccountActivities({ pageSize: 500 })).toHaveLength(100);
  });

  it('filters by after, until and New York date', async () => {
    const { client, sandbox } = await start();
    later(3_600_000); // 12:00 EDT
    sandbox.fundAccount(KEY_ID, 1);
    clock = Date.parse('2024-05-25T03:30:00.000Z'); // 23:30 EDT, still the 24th in New York
    sandbox.fundAccount(KEY_ID, 2);
    clock = Date.parse('2024-05-25T04:30:00.000Z'); // 00:30 EDT on the 25th
    sandbox.fundAccount(KEY_ID, 3);
    const { accountActivities } = client.sdk.trading;
    const amounts = (list: Activity[]) => list.map((a) => a.netAmount);

    expect(amounts(await accountActivities.getAccountActivities({ date: new Date('2024-05-24') }))).toEqual(['2', '1', '100000']);
    expect(amounts(await accountActivities.getAccountActivities({ date: new Date('2024-05-25') }))).toEqual(['3']);
    expect(amounts(await accountActivities.getAccountActivities({ after: new Date('2024-05-24T15:00:00.000Z') }))).toEqual(['3', '2', '1']);
    expect(amounts(await accountActivities.getAccountActivities({ until: new Date('2024-05-25T03:30:00.000Z') }))).toEqual(['1', '100000']);
    // A bare date in after/until is that day's New York midnight.
    const wire = (await raw(h!, '/v2/account/activities?after=2024-05-25&direction=asc')).body as Record<string, unknown>[];
    expect(wire.map((a) => a.net_amount)).toEqual(['3']);

    const both = await raw(h!, '/v2/account/activities?date=2024-05-24&after=2024-05-24T00:00:00Z');
    expect(both.status).toBe(400);
  });

  it('serves one activity type or category, with empty DIV and FEE since the sandbox pays and charges nothing', async () => {
    const { client, sandbox, book } = await start();
    book.setPrice('KO', 60);
    await client.sdk.trading.orders.market({ symbol: 'KO', qty: 3, side: 'buy' });
    later();
    sandbox.fundAccount(KEY_ID, 50);
    const { accountActivities } = client.sdk.trading;

    // The SDK types a by-type answer as a union and parses every item as a non-trade activity.
    const byType = (await accountActivities.getAccountActivitiesByActivityType({ activityType: 'CSD' })) as trading.NonTradeActivities[];
    expect(byType.map((a) => a.netAmount)).toEqual(['50', '100000']);
    const fills = (await raw(h!, '/v2/account/activities/FILL')).body as Record<string, unknown>[];
    expect(fills).toHaveLength(1);
    expect(fills[0]).toMatchObject({ activity_type: 'FILL', symbol: 'KO', side: 'buy', qty: '3', price: '60', cum_qty: '3', leaves_qty: '0' });
    expect(await accountActivities.getAccountActivitiesByActivityType({ activityType: 'DIV' })).toEqual([]);
    expect(await accountActivities.getAccountActivitiesByActivityType({ activityType: 'FEE' })).toEqual([]);

    const trades = await accountActivities.getAccountActivities({ category: 'trade_activity' });
    expect(trades.map((a) => a.activityType)).toEqual(['FILL']);
    const nonTrades = await accountActivities.getAccountActivities({ category: 'non_trade_activity' });
    expect(nonTrades.map((a) => a.activityType)).toEqual(['CSD', 'CSD']);
    const some = await accountActivities.getAccountActivities({ activityTypes: ['FILL', 'DIV'] });
    expect(some.map((a) => a.activityType)).toEqual(['FILL']);

    const unknown = await accountActivities.getAccountActivitiesByActivityType({ activityType: 'BOGUS' }).catch((e: unknown) => e);
    expect(unknown).toBeInstanceOf(ValidationError);
    const mixed = await raw(h!, '/v2/account/activities?activity_types=FILL&category=trade_activity');
    expect(mixed.status).toBe(400);
  });

  it('keeps each account to its own activities', async () => {
    const { client, sandbox, clientFor } = await start();
    const other = sandbox.createAccount({ cash: 700 });
    const otherSdk = clientFor(other.keyId, other.secretKey, { retry: false }).sdk;
    await otherSdk.trading.orders.market({ symbol: 'KO', qty: 1, side: 'buy' });
    expect((await otherSdk.trading.accountActivities.getAccountActivities()).map((a) => a.activityType)).toEqual(['FILL', 'CSD']);
    expect((await client.sdk.trading.accountActivities.getAccountActivities()).map((a) => a.activityType)).toEqual(['CSD']);
    // A page token from another account is not a position in this one.
    const foreign = (await otherSdk.trading.accountActivities.getAccountActivities())[0]!.id!;
    expect((await raw(h!, `/v2/account/activities?page_token=${encodeURIComponent(foreign)}`)).status).toBe(400);
  });
});
