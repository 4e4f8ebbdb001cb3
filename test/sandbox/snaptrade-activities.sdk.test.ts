import { describe, expect, it } from 'vitest';
import { dividendYield, generateHistory } from '../../sandbox/scenario/activity-history.ts';
import { webhookExample } from '../../sandbox/snaptrade/webhook-events.ts';
import { sdkError, useSnaptradeSandbox } from './snaptrade-sdk-fixture.ts';

const t = useSnaptradeSandbox();

type Activity = {
  id?: string;
  type?: string;
  amount?: number | null;
  units?: number;
  price?: number;
  fee?: number;
  trade_date?: string | null;
  currency?: { code?: string } | null;
  symbol?: { symbol?: string; id?: string } | null;
  external_reference_id?: string | null;
};

const time = (a: Activity) => new Date(a.trade_date!.replace(' ', 'T')).getTime();

/** Sum of the activities' amounts by currency code. */
function amountsByCurrency(activities: Activity[]): Map<string, number> {
  const sums = new Map<string, number>();
  for (const a of activities) sums.set(a.currency!.code!, (sums.get(a.currency!.code!) ?? 0) + (a.amount ?? 0));
  return sums;
}

describe('SnapTrade sandbox activities', () => {
  it("reports a connected account's positions as past BUYs and its cash as a CONTRIBUTION that add up to its balance", async () => {
    const user = await t.user('amy');
    const auth = await t.sandbox.control.connect('amy', {
      brokerage: 'ROBINHOOD',
      accounts: [
        {
          currency: 'USD',
          cash: { USD: 1_000 },
          positions: [
            { symbol: 'KO', units: 40, averageCost: 60 },
            { symbol: 'TSLA', units: 2, averageCost: 200 },
          ],
        },
      ],
      webhooks: false,
    });
    const accountId = auth.accounts[0]!.id;
    const { data: page } = await t.snaptrade.accountInformation.getAccountActivities({ ...user, accountId });
    t.expectConforms('AccountInformation_getAccountActivities', page);
    const activities = page.data as Activity[];
    expect(page.pagination).toEqual({ offset: 0, limit: 1000, total: activities.length });

    const buys = activities.filter((a) => a.type === 'BUY');
    expect(buys.map((b) => [b.symbol?.symbol, b.units, b.price, b.amount]).sort()).toEqual([
      ['KO', 40, 60, -2400],
      ['TSLA', 2, 200, -400],
    ]);
    expect(buys.find((b) => b.symbol?.symbol === 'KO')!.symbol!.id).toBe(t.sandbox.priceBook.security('KO')!.snaptradeId);
    const contributions = activities.filter((a) => a.type === 'CONTRIBUTION');
    expect(contributions).toHaveLength(1);
    expect(contributions[0]).toMatchObject({ currency: { code: 'USD' }, symbol: null });
    // A yearly account fee, paid from the account's cash (counted in the sums below).
    const fees = activities.filter((a) => a.type === 'FEE');
    expect(fees).toEqual([expect.objectContaining({ amount: -25, fee: 25, currency: expect.objectContaining({ code: 'USD' }), symbol: null })]);
    // Contributions, buys and dividends add up to the cash the account holds.
    expect(amountsByCurrency(activities).get('USD')).toBeCloseTo(1_000, 2);
    // Dividends only from the payer, after it was bought.
    for (const dividend of activities.filter((a) => a.type === 'DIVIDEND')) {
      expect(dividend.symbol?.symbol).toBe('KO');
      expect(time(dividend)).toBeGreaterThan(time(buys.find((b) => b.symbol?.symbol === 'KO')!));
      expect(dividend.amount).toBeCloseTo(dividend.units! * dividend.price!, 2);
    }

    // Newest first, all in the past, the contribution before any buy.
    const times = activities.map(time);
    expect(times).toEqual([...times].sort((a, b) => b - a));
    expect(Math.max(...times)).toBeLessThan(Date.now());
    expect(time(contributions[0]!)).toBeLessThan(Math.min(...buys.map(time)));
    const { data: account } = await t.snaptrade.accountInformation.getUserAccountDetails({ ...user, accountId });
    expect(account.sync_status.transactions?.first_transaction_date).toBe(contributions[0]!.trade_date!.slice(0, 10));
  });

  it('seeds histories that reconcile every currency and position of generated holdings, with dividends from payers only', async () => {
    const user = await t.user('ben');
    let dividends = 0;
    for (const brokerage of ['QUESTRADE', 'WEALTHSIMPLE', 'SCHWAB']) {
      const auth = await t.sandbox.control.connect('ben', { brokerage, webhooks: false });
      for (const account of auth.accounts) {
        const { data } = await t.snaptrade.accountInformation.getAccountActivities({ ...user, accountId: account.id });
        const activities = data.data as Activity[];
        const sums = amountsByCurrency(activities);
        for (const currency of new Set([...sums.keys(), ...Object.keys(account.cash)])) {
          expect(sums.get(currency) ?? 0, `${account.name} ${currency}`).toBeCloseTo(account.cash[currency] ?? 0, 2);
        }
        const bought = activities.filter((a) => a.type === 'BUY').map((a) => [a.symbol!.symbol, a.units]);
        expect(bought.sort()).toEqual(account.positions.map((p) => [p.symbol, p.units]).sort());
        for (const dividend of activities.filter((a) => a.type === 'DIVIDEND')) {
          dividends++;
          expect(dividendYield(dividend.symbol!.symbol!)).toBeGreaterThan(0);
          expect(dividend.currency!.code).toBe(t.sandbox.priceBook.security(dividend.symbol!.symbol!)!.currency);
        }
      }
    }
    expect(dividends).toBeGreaterThan(0);
  });

  it('seeds the same history for the same seed, account and day', () => {
    const input = {
      seed: 7,
      accountId: 'a1',
      positions: [{ symbol: 'SPY', units: 12, averageCost: 400 }],
      cash: new Map([['USD', 250]]),
      currencyOf: () => 'USD',
      now: new Date('2026-03-04T15:00:00Z'),
    };
    const first = generateHistory(input);
    expect(generateHistory(input)).toEqual(first);
    expect(generateHistory({ ...input, accountId: 'a2' })).not.toEqual(first);
    expect(first.some((a) => a.type === 'DIVIDEND')).toBe(true);
  });

  it('pages account activities newest first with offset and limit, and filters them by trade date and type', async () => {
    const user = await t.user('cal');
    const auth = await t.sandbox.control.connect('cal', {
      brokerage: 'SCHWAB',
      accounts: [
        {
          currency: 'USD',
          cash: { USD: 500 },
          positions: [
            { symbol: 'JNJ', units: 30, averageCost: 150 },
            { symbol: 'PG', units: 20, averageCost: 140 },
            { symbol: 'AMZN', units: 5, averageCost: 120 },
          ],
        },
      ],
      webhooks: false,
    });
    const accountId = auth.accounts[0]!.id;
    const { data: all } = await t.snaptrade.accountInformation.getAccountActivities({ ...user, accountId });
    const total = all.data!.length;
    expect(total).toBeGreaterThanOrEqual(4);

    const { data: page } = await t.snaptrade.accountInformation.getAccountActivities({ ...user, accountId, offset: 1, limit: 2 });
    t.expectConforms('AccountInformation_getAccountActivities', page);
    expect(page.pagination).toEqual({ offset: 1, limit: 2, total });
    expect(page.data!.map((a) => a.id)).toEqual(all.data!.slice(1, 3).map((a) => a.id));

    const { data: buysAndCash } = await t.snaptrade.accountInformation.getAccountActivities({
      ...user,
      accountId,
      type: 'BUY,CONTRIBUTION',
    });
    expect(new Set(buysAndCash.data!.map((a) => a.type))).toEqual(new Set(['BUY', 'CONTRIBUTION']));
    expect(buysAndCash.pagination!.total).toBe(4);

    const day = all.data!.find((a) => a.symbol?.symbol === 'AMZN')!.trade_date!.slice(0, 10);
    const { data: thatDay } = await t.snaptrade.accountInformation.getAccountActivities({
      ...user,
      accountId,
      startDate: day,
      endDate: day,
    });
    expect(thatDay.data!.length).toBeGreaterThanOrEqual(1);
    expect(thatDay.data!.every((a) => a.trade_date!.startsWith(day))).toBe(true);
    expect(thatDay.pagination!.total).toBe(all.data!.filter((a) => a.trade_date!.startsWith(day)).length);
  });

  it('records a fill as a BUY or SELL with price, units, amount, fee and its order id, then ACCOUNT_TRANSACTIONS_UPDATED', async () => {
    const user = await t.user('dan');
    const auth = await t.sandbox.control.connect('dan', {
      brokerage: 'ROBINHOOD',
      type: 'trade',
      accounts: [{ currency: 'USD', cash: { USD: 10_000 }, positions: [] }],
      webhooks: false,
    });
    const accountId = auth.accounts[0]!.id;
    await t.sandbox.control.setPrices({ symbol: 'AAPL', price: 210.5 });
    const { data: bought } = await t.snaptrade.trading.placeForceOrder({
      ...user,
      account_id: accountId,
      action: 'BUY',
      symbol: 'AAPL',
      order_type: 'Market',
      time_in_force: 'Day',
      units: 3,
    });
    await t.sandbox.control.setPrices({ symbol: 'AAPL', price: 220 });
    const { data: sold } = await t.snaptrade.trading.placeForceOrder({
      ...user,
      account_id: accountId,
      action: 'SELL',
      symbol: 'AAPL',
      order_type: 'Market',
      time_in_force: 'Day',
      units: 1,
    });

    const { data } = await t.snaptrade.accountInformation.getAccountActivities({ ...user, accountId, type: 'BUY,SELL' });
    t.expectConforms('AccountInformation_getAccountActivities', data);
    expect(data.data).toHaveLength(2);
    const [sell, buy] = data.data!;
    expect(buy).toMatchObject({
      type: 'BUY',
      units: 3,
      price: 210.5,
      amount: -631.5,
      fee: 0,
      currency: { code: 'USD' },
      symbol: { symbol: 'AAPL', id: t.sandbox.priceBook.security('AAPL')!.snaptradeId },
      external_reference_id: bought.brokerage_order_id,
      institution: 'Robinhood',
    });
    expect(sell).toMatchObject({ type: 'SELL', units: 1, price: 220, amount: 220, fee: 0, external_reference_id: sold.brokerage_order_id });

    const hooks = await t.sandbox.control.waitForWebhooks((d) => d.length === 2, { eventType: 'ACCOUNT_TRANSACTIONS_UPDATED' });
    for (const hook of hooks) {
      expect(hook.payload).toMatchObject({ userId: 'dan', accountId, brokerageAuthorizationId: auth.id });
      expect(Object.keys(hook.payload).sort()).toEqual(Object.keys(webhookExample('ACCOUNT_TRANSACTIONS_UPDATED')!).sort());
    }
  });

  it('records an activity through engine.recordActivity that the API then reports, and notifies ACCOUNT_TRANSACTIONS_UPDATED', async () => {
    const user = await t.user('eve');
    const auth = await t.sandbox.control.connect('eve', {
      brokerage: 'ROBINHOOD',
      accounts: [{ currency: 'USD', cash: { USD: 100 }, positions: [{ symbol: 'KO', units: 10, averageCost: 60 }] }],
      webhooks: false,
    });
    const accountId = auth.accounts[0]!.id;
    const recorded = t.sandbox.snaptrade.engine.recordActivity(
      accountId,
      { type: 'DIVIDEND', symbol: 'KO', units: 10, price: 0.485, amount: 4.85, currency: 'USD', description: 'KO CASH DIV' },
      { applyToCash: true },
    );

    const { data } = await t.snaptrade.accountInformation.getAccountActivities({ ...user, accountId, limit: 1 });
    expect(data.data![0]).toMatchObject({
      id: recorded.id,
      type: 'DIVIDEND',
      amount: 4.85,
      description: 'KO CASH DIV',
      symbol: { symbol: 'KO' },
    });
    expect((await t.sandbox.control.account(accountId)).cash.USD).toBeCloseTo(104.85, 2);
    const [hook] = await t.sandbox.control.waitForWebhooks((d) => d.length === 1, { eventType: 'ACCOUNT_TRANSACTIONS_UPDATED' });
    expect(hook!.payload).toMatchObject({ accountId, brokerageAuthorizationId: auth.id });
  });

  it('answers 425 while the connection populates and keeps answering from the cache once it is disabled', async () => {
    const user = await t.user('fay');
    const populating = await t.sandbox.control.connect('fay', { brokerage: 'ROBINHOOD', populatingForMs: 60_000, webhooks: false });
    const early = await sdkError(
      t.snaptrade.accountInformation.getAccountActivities({ ...user, accountId: populating.accounts[0]!.id }),
    );
    expect(early.status).toBe(425);
    expect(early.responseBody).toMatchObject({ code: '3012' });

    const auth = await t.sandbox.control.connect('fay', { brokerage: 'SCHWAB', webhooks: false });
    await t.sandbox.control.breakConnection(auth.id, { webhook: false });
    const { data } = await t.snaptrade.accountInformation.getAccountActivities({ ...user, accountId: auth.accounts[0]!.id });
    expect(data.data!.length).toBeGreaterThan(0);
  });
});

describe('SnapTrade sandbox user activities (deprecated GET /activities)', () => {
  it("lists a user's activities with each row's account, brokerageAuthorizations taking precedence over accounts", async () => {
    const user = await t.user('gus');
    const schwab = await t.sandbox.control.connect('gus', { brokerage: 'SCHWAB', webhooks: false });
    const robinhood = await t.sandbox.control.connect('gus', { brokerage: 'ROBINHOOD', webhooks: false });
    await t.sandbox.control.connect('gus', { brokerage: 'QUESTRADE', populatingForMs: 60_000, webhooks: false });
    const someone = await t.user('hal');
    await t.sandbox.control.connect(someone.userId, { brokerage: 'SCHWAB', webhooks: false });

    const counts = new Map<string, number>();
    for (const account of [...schwab.accounts, ...robinhood.accounts]) {
      const { data } = await t.snaptrade.accountInformation.getAccountActivities({ ...user, accountId: account.id });
      counts.set(account.id, data.pagination!.total!);
    }

    const { data: all } = await t.snaptrade.transactionsAndReporting.getActivities(user);
    t.expectConforms('TransactionsAndReporting_getActivities', all);
    // Every synced account of this user and nothing else (the populating connection has none yet).
    const perAccount = new Map<string, number>();
    for (const row of all) perAccount.set(row.account!.id!, (perAccount.get(row.account!.id!) ?? 0) + 1);
    expect(perAccount).toEqual(counts);
    const row = all.find((r) => r.account?.id === robinhood.accounts[0]!.id)!;
    expect(row.account).toMatchObject({ name: robinhood.accounts[0]!.name, number: robinhood.accounts[0]!.number });

    const [first] = schwab.accounts;
    const { data: one } = await t.snaptrade.transactionsAndReporting.getActivities({ ...user, accounts: first!.id, type: 'BUY' });
    expect(one.length).toBe(first!.positions.length);
    expect(one.every((r) => r.account?.id === first!.id && r.type === 'BUY')).toBe(true);

    const { data: precedence } = await t.snaptrade.transactionsAndReporting.getActivities({
      ...user,
      accounts: first!.id,
      brokerageAuthorizations: robinhood.id,
    });
    expect(new Set(precedence.map((r) => r.account?.id))).toEqual(new Set(robinhood.accounts.map((a) => a.id)));

    const day = all[0]!.trade_date!.slice(0, 10);
    const { data: windowed } = await t.snaptrade.transactionsAndReporting.getActivities({ ...user, startDate: day, endDate: day });
    expect(windowed.length).toBe(all.filter((r) => r.trade_date!.startsWith(day)).length);
  });
});
