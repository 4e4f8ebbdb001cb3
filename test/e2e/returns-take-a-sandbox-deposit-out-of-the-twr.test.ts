import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HistoryJobs, marketDay } from '../../src/history/daily-close-jobs.ts';
import type { ReturnsResponse } from '../../src/api/schemas.ts';
import { timeWeightedReturn } from '../../src/returns/time-weighted-return.ts';
import { moneyWeightedReturn, mwrFlows } from '../../src/returns/money-weighted-return.ts';
import { REPORTED_RETURN_PLACES } from '../../src/returns/range-returns.ts';
import { dec } from '../../src/portfolio/decimal.ts';
import { eventually, startTestEngine, type TestEngine } from '../support/engine.ts';
import { singleRedis } from '../../src/runtime/redis-client.ts';

/**
 * Returns on the sandbox: a SnapTrade account (10 NVDA at 100, 1,000 USD cash) gets yesterday's
 * daily close (2,000), then a 2,000 USD deposit the brokerage reports as an activity (with the
 * cash), then NVDA moves to 120. The engine fetches the activity after SnapTrade's
 * ACCOUNT_TRANSACTIONS_UPDATED webhook. `GET /api/portfolio/returns` then counts the deposit as a
 * flow: the simple return (4,200 / 2,000 − 1 = 1.1) takes the deposit for gain, the TWR only the
 * 200 the shares made, so it is lower, and it equals the pure computation on the same inputs (the
 * close, the value now, the deposit as stored). Before the activities are known the answer says
 * flows are unknown and the TWR equals the simple return. A sale of 4 NVDA at 130 reported with the
 * deposit realizes 4 x (130 - 90) = 160: its cost is the account's seeded buy of 10 at 90, dated
 * before the range (the sale alone changes no holding and no flow here).
 */
const USER = 'e2e-returns-user';
let engine: TestEngine;

beforeAll(async () => {
  engine = await startTestEngine({ env: { HISTORY_CHUNK_SPACING_MS: '0' } });
});
afterAll(async () => {
  await engine?.stop();
});

const returns = async (query = 'range=1M') => {
  const answer = await engine.api<ReturnsResponse>(USER, 'GET', `/api/portfolio/returns?${query}`);
  expect(answer.status).toBe(200);
  return answer.body;
};

describe('returns after a sandbox deposit and a price change', () => {
  it('take the deposit out of the TWR, which equals the pure computation', async () => {
    const { sandbox } = engine;
    const db = engine.app.ctx.db;
    sandbox.priceBook.setPrice('NVDA', 100);
    expect((await engine.api(USER, 'POST', '/api/snaptrade/connection-url', {})).status).toBe(200);
    const authorization = await sandbox.control.connect(USER, {
      brokerage: 'QUESTRADE',
      accounts: [{ name: 'Margin', currency: 'USD', cash: { USD: 1000 }, positions: [{ symbol: 'NVDA', units: 10, averageCost: 90 }] }],
    });
    const brokerageAccountId = authorization.accounts[0]!.id;
    const valueIs = (total: number) =>
      eventually(async () => {
        const { body } = await engine.api<{ totals: { totalValue: string } }>(USER, 'GET', '/api/portfolio');
        return Number(body.totals?.totalValue) === total ? true : undefined;
      }, 60_000, `the portfolio at ${total}`);
    await valueIs(2000);
    const { body: listed } = await engine.api<{ accounts: Array<{ id: string; externalId: string }> }>(USER, 'GET', '/api/accounts');
    const accountId = listed.accounts.find((account) => account.externalId === brokerageAccountId)!.id;

    const jobs = new HistoryJobs({ redisTarget: singleRedis(engine.redis.url), prefix: `{${engine.namespace}-bull}`, db, redis: engine.redis.client, keys: engine.app.ctx.keys, log: engine.app.ctx.log });
    const day = marketDay(new Date(Date.now() - 86_400_000));
    let closedAt: Date;
    try {
      await jobs.runDailyClose(day);
      closedAt = await eventually(async () => {
        const row = await db('portfolio_daily_closes').where({ user_id: USER, day }).first('taken_at');
        return row ? (row.taken_at as Date) : undefined;
      }, 30_000, `the close of ${day}`);
    } finally {
      await jobs.close();
    }

    // Seeded activities (the account's past) may or may not be fetched yet: none is in the range.
    const before = await returns();
    expect(before.start?.value).toBe('2000');
    expect(before.twr).toBe(before.simpleReturn);

    // The deposit, a whole second after the close (SnapTrade's timestamps have seconds), with its cash.
    const depositAt = new Date(Math.ceil((closedAt.getTime() + 1) / 1000) * 1000);
    // A brokerage reports a deposit once it happened: the value after it is taken later. On a fast
    // run the whole sync fits in the rest of the close's second, so the clock has to pass it first.
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, depositAt.getTime() - Date.now() + 1)));
    sandbox.snaptrade.engine.recordActivity(brokerageAccountId, { type: 'CONTRIBUTION', currency: 'USD', amount: 2000, tradeDate: depositAt, description: 'CONTRIBUTION USD' }, { applyToCash: true });
    sandbox.snaptrade.engine.recordActivity(brokerageAccountId, { type: 'SELL', currency: 'USD', symbol: 'NVDA', units: 4, price: 130, amount: 520, tradeDate: depositAt, description: 'SOLD 4 NVDA @ 130' }, { notify: false });
    sandbox.priceBook.setPrice('NVDA', 120);
    await sandbox.control.syncConnection(authorization.id);
    await valueIs(4200);
    await eventually(async () => {
      const row = await db('activities').where({ user_id: USER, type: 'deposit', amount: 2000 }).first('trade_date');
      return row ? true : undefined;
    }, 60_000, 'the deposit stored as an activity');
    await eventually(async () => {
      const rows = await db('activities').where({ user_id: USER }).whereIn('type', ['buy', 'sell']).select('type');
      return rows.some((row) => row.type === 'buy') && rows.some((row) => row.type === 'sell') ? true : undefined;
    }, 60_000, 'the seeded buy and the sale stored as activities');

    const after = await returns();
    expect(after.start).toEqual({ at: closedAt.toISOString(), value: '2000' });
    expect(after.end.value).toBe('4200');
    expect(new Date(after.end.at).getTime()).toBeGreaterThan(depositAt.getTime());
    expect(after.flows).toMatchObject({ known: true, net: '2000', inflows: '2000', count: 1 });
    expect(after.simpleReturn).toBe('1.1');
    expect(after.realized).toEqual({ pl: '160', sells: 1, notValued: 0 });
    // The deposit is not gain: the TWR is far below the simple return, and positive (the shares rose).
    expect(Number(after.twr)).toBeLessThan(Number(after.simpleReturn));
    expect(Number(after.twr)).toBeGreaterThan(0);
    // A range of seconds: 7 % in it is no annual rate a double holds; the period's rate is given.
    expect(after.marks.map((mark) => mark.code)).toEqual(['flows-between-points', 'mwr-annual-rate-too-large']);
    expect(after.mwr?.annual).toBeNull();

    const start = { at: closedAt, value: '2000' };
    const end = { at: new Date(after.end.at), value: '4200' };
    const flows = [{ at: depositAt, amount: '2000' }];
    const pure = timeWeightedReturn([start, end], flows);
    expect(pure.kind).toBe('return');
    if (pure.kind === 'return') expect(after.twr).toBe(pure.value.round(REPORTED_RETURN_PLACES, 2).toString());
    const mwr = moneyWeightedReturn(mwrFlows(start, flows, end));
    expect(mwr.kind).toBe('rate');
    if (mwr.kind === 'rate') expect(after.mwr?.period).toBe(dec(mwr.period).round(REPORTED_RETURN_PLACES, 2).toString());

    // The account alone: the deposit is its flow too; its value and P/L come from its holdings, its
    // start from its own daily close (account_daily_closes). The only account: the portfolio's figures.
    const closes = await db('account_daily_closes').where({ user_id: USER, account_id: accountId }).select(db.raw('total_value::float AS value'), 'base_currency');
    expect(closes).toEqual([{ value: 2000, base_currency: 'USD' }]);
    const account = await returns(`range=1M&accountId=${accountId}`);
    expect(account.flows).toMatchObject({ net: '2000', count: 1 });
    expect(account.start).toEqual(after.start);
    expect(account.end.value).toBe('4200');
    // Its TWR is the same computation over its own points (asked a moment later: its end is later).
    const accountTwr = timeWeightedReturn([start, { at: new Date(account.end.at), value: account.end.value }], flows);
    expect(accountTwr.kind).toBe('return');
    if (accountTwr.kind === 'return') expect(account.twr).toBe(accountTwr.value.round(REPORTED_RETURN_PLACES, 2).toString());
    expect(account.unrealizedPl).toBe('300');
    expect(account.realized).toEqual({ pl: '160', sells: 1, notValued: 0 });
    expect(account.marks.map((mark) => mark.code)).toEqual(after.marks.map((mark) => mark.code));
    // Within a day an account has no recorded values: no return, said so.
    const today = await returns(`range=1D&accountId=${accountId}`);
    expect(today.twr).toBeNull();
    expect(today.marks.map((mark) => mark.code)).toContain('fewer-than-two-account-points');
  });
});
