import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAlpacaClient } from '../../src/providers/alpaca/client.ts';
import { eventually, startTestEngine, type TestEngine } from '../support/engine.ts';
import { accountsOf, placeOrder } from '../support/orders.ts';

/**
 * Every refusal answers its stable code and places nothing (no order at either brokerage, and
 * the key stays free): read-only and broken connections, a brokerage that does not trade,
 * unknown securities, a closed market, buying power, positions, the brokerages' own rules,
 * brokerage 4xx and 5xx; SnapTrade's 429 is retried within the shared budget and no further.
 * Then a property over random order forms at the internal account: forms an independent oracle
 * calls valid place exactly one order (a second request with the key places nothing more);
 * the others place nothing at all.
 */
const USER = 'e2e-order-refusals';
let engine: TestEngine;
type Account = Awaited<ReturnType<typeof accountsOf>>[number];
let byInstitution: Record<string, Account>;
let alpacaKeys: { keyId: string; secretKey: string };

beforeAll(async () => {
  // The user's share of the SnapTrade budget is off: four connections' syncs and the refusals' calls
  // would otherwise wait for it (the share has its own test).
  engine = await startTestEngine({ env: { SNAPTRADE_USER_SHARE: '1' } });
  const control = engine.sandbox.control;
  expect((await engine.api(USER, 'POST', '/api/snaptrade/connection-url', {})).status).toBe(200);
  await control.connect(USER, {
    brokerage: 'QUESTRADE',
    type: 'trade',
    accounts: [{ name: 'Margin', currency: 'USD', cash: { USD: 2_000 }, positions: [{ symbol: 'AAPL', units: 10, averageCost: 150 }] }],
  });
  await control.connect(USER, { brokerage: 'ROBINHOOD', type: 'read', accounts: [{ name: 'Individual', currency: 'USD', cash: { USD: 5_000 } }] });
  await control.connect(USER, { brokerage: 'FIDELITY', type: 'trade', accounts: [{ name: 'Individual', currency: 'USD', cash: { USD: 5_000 } }] });
  const schwab = await control.connect(USER, { brokerage: 'SCHWAB', type: 'trade', accounts: [{ name: 'Brokerage', currency: 'USD', cash: { USD: 5_000 } }] });
  // The property counts orders at Alpaca around every request: more than its 200 requests a minute per key.
  await control.alpacaSetRateLimit(0);
  const alpaca = await control.alpacaCreateAccount({ cash: 10_000_000 });
  await control.alpacaSetPositions(alpaca.id, { positions: [{ symbol: 'KO', qty: 1_000_000, avgEntryPrice: 50 }] });
  alpacaKeys = alpaca;
  expect((await engine.api(USER, 'POST', '/api/alpaca/accounts', { keyId: alpaca.keyId, secretKey: alpaca.secretKey })).status).toBe(201);
  const accounts = await accountsOf(engine, USER, 5);
  byInstitution = Object.fromEntries(accounts.map((a) => [a.institutionName, a]));
  await control.breakConnection(schwab.id);
  await eventually(
    async () => {
      const { body } = await engine.api<{ accounts: { institutionName: string; connection: { status: string } }[] }>(USER, 'GET', '/api/accounts');
      return body.accounts.find((a) => a.institutionName === 'Charles Schwab')?.connection.status === 'broken' ? true : undefined;
    },
    20_000,
    'the Schwab connection broken',
  );
});

afterAll(async () => {
  await engine?.stop();
});

const alpacaClient = () => createAlpacaClient({ keyId: alpacaKeys.keyId, secretKey: alpacaKeys.secretKey, tradingUrl: engine.sandbox.alpacaUrl });
const alpacaOrderCount = async () => (await alpacaClient().sdk.trading.orders.getAllOrders({ status: 'all', limit: 500 })).length;
const snaptradeOrderCount = () =>
  [...engine.sandbox.snaptrade.engine.store.orders.values()].filter((o) => engine.sandbox.snaptrade.engine.store.accounts.get(o.accountId)?.userId === USER).length;

let keys = 0;
/** Places `body`, expects the refusal `code`, and that nothing was placed anywhere and the key is free. */
async function refused(body: Record<string, unknown>, code: string, status?: number) {
  const before = [await alpacaOrderCount(), snaptradeOrderCount()];
  const key = `refusal-${++keys}-${code.toLowerCase()}`;
  const answer = await placeOrder(engine, USER, key, body);
  expect(answer.body.error?.code, `${JSON.stringify(body)}: ${JSON.stringify(answer.body)}`).toBe(code);
  if (status !== undefined) expect(answer.status).toBe(status);
  expect([await alpacaOrderCount(), snaptradeOrderCount()]).toEqual(before);
  expect(await engine.db.knex('order_requests').where({ user_id: USER, idempotency_key: key }).first()).toBeUndefined();
  return answer;
}

describe('refusals place nothing', () => {
  it('connections that cannot trade, unknown securities, buying power, positions and the brokerages\' rules', async () => {
    const questrade = byInstitution.Questrade!.id;
    const alpaca = byInstitution.Alpaca!.id;
    await refused({ accountId: byInstitution.Robinhood!.id, symbol: 'MSFT', side: 'buy', quantity: '1', type: 'market' }, 'FS_TRADING_NOT_ALLOWED', 422);
    await refused({ accountId: byInstitution.Fidelity!.id, symbol: 'MSFT', side: 'buy', quantity: '1', type: 'market' }, 'FS_TRADING_NOT_ALLOWED');
    await refused({ accountId: byInstitution['Charles Schwab']!.id, symbol: 'MSFT', side: 'buy', quantity: '1', type: 'market' }, 'FS_CONNECTION_BROKEN', 409);
    await refused({ accountId: alpaca, symbol: 'ZZZZQ', side: 'buy', quantity: '1', type: 'market' }, 'FS_UNKNOWN_SECURITY');
    await refused({ accountId: questrade, symbol: 'ZZZZQ', side: 'buy', quantity: '1', type: 'market' }, 'FS_UNKNOWN_SECURITY');
    await refused({ accountId: alpaca, symbol: 'MSFT', side: 'buy', quantity: '100000', type: 'market' }, 'FS_INSUFFICIENT_BUYING_POWER');
    await refused({ accountId: questrade, symbol: 'AAPL', side: 'buy', quantity: '1000', type: 'market' }, 'FS_INSUFFICIENT_BUYING_POWER');
    await refused({ accountId: alpaca, symbol: 'MSFT', side: 'sell', quantity: '5', type: 'market' }, 'FS_INSUFFICIENT_POSITION');
    await refused({ accountId: questrade, symbol: 'AAPL', side: 'sell', quantity: '50', type: 'market' }, 'FS_INSUFFICIENT_POSITION');
    await refused({ symbol: 'JPM', side: 'sell', quantity: '1', type: 'market' }, 'FS_NO_TRADING_ACCOUNT');
    await refused({ accountId: alpaca, symbol: 'MSFT', side: 'buy', quantity: '0.5', type: 'limit', limitPrice: '10' }, 'FS_ORDER_NOT_SUPPORTED');
    await refused({ accountId: alpaca, symbol: 'MSFT', side: 'buy', notional: '100', type: 'limit', limitPrice: '10' }, 'FS_VALIDATION', 400);
    await refused({ accountId: alpaca, side: 'buy', quantity: '1', type: 'market' }, 'FS_VALIDATION', 400);
    const noKey = await placeOrder(engine, USER, null, { symbol: 'MSFT', side: 'buy', quantity: '1', type: 'market' });
    expect(noKey.status).toBe(400);
    expect(noKey.body.error.message).toMatch(/Idempotency-Key/);
  });

  it('a closed market refuses the orders that need it open; a limit order waits for the open', async () => {
    const alpaca = byInstitution.Alpaca!.id;
    await engine.sandbox.control.alpacaSetTrading({ marketOpen: false });
    try {
      await refused({ accountId: alpaca, symbol: 'MSFT', side: 'buy', quantity: '1', type: 'market' }, 'FS_MARKET_CLOSED');
      await refused({ accountId: alpaca, symbol: 'MSFT', side: 'buy', quantity: '1', type: 'limit', limitPrice: '1', timeInForce: 'ioc' }, 'FS_MARKET_CLOSED');
      const preview = await engine.api<{ warnings: string[] }>(USER, 'POST', '/api/orders/preview', {
        accountId: alpaca,
        symbol: 'MSFT',
        side: 'buy',
        quantity: '1',
        type: 'limit',
        limitPrice: '1',
      });
      expect(preview.status).toBe(200);
      expect(preview.body.warnings.join(' ')).toMatch(/market is closed/);
    } finally {
      await engine.sandbox.control.alpacaSetTrading({ marketOpen: true });
    }
  });

  it('brokerage 4xx and 5xx place nothing; SnapTrade 429 is retried within the budget, and no further', async () => {
    const control = engine.sandbox.control;
    const questrade = byInstitution.Questrade!.id;
    const buy = { accountId: questrade, symbol: 'AAPL', side: 'buy', quantity: '1', type: 'market' };
    await control.addFault({ kind: 'error', status: 400, times: 1, match: { operationId: 'Trading_placeOrder', userId: USER } });
    await refused(buy, 'FS_ORDER_REJECTED');
    await control.addFault({ kind: 'brokerage_error', times: 1, match: { operationId: 'Trading_getOrderImpact', userId: USER } });
    await refused(buy, 'FS_BROKERAGE_UNAVAILABLE', 503);

    await control.resetRequests();
    await control.addFault({ kind: 'error', status: 429, times: 10, match: { operationId: 'Trading_getOrderImpact', userId: USER } });
    await refused(buy, 'FS_BROKERAGE_UNAVAILABLE', 503);
    expect(await control.requestCount({ operationId: 'Trading_getOrderImpact', userId: USER })).toBe(3);
    await control.clearFaults();

    await control.addFault({ kind: 'error', status: 429, times: 2, match: { operationId: 'Trading_getOrderImpact', userId: USER } });
    const before = snaptradeOrderCount();
    const placed = await placeOrder(engine, USER, 'refusal-429-then-placed', buy);
    expect(placed.status, JSON.stringify(placed.body)).toBe(201);
    expect(snaptradeOrderCount()).toBe(before + 1);
    await control.clearFaults();
  });
});

// ------------------------------------------------------------------------------------------
// The property: random forms at the internal account.

interface Form {
  side: string;
  type: string;
  timeInForce?: string;
  quantity?: string;
  notional?: string;
  limitPrice?: string;
  stopPrice?: string;
  symbol: string;
}

const decimal = (min: number, max: number, places: number) =>
  fc.integer({ min: Math.round(min * 10 ** places), max: Math.round(max * 10 ** places) }).map((n) => (n / 10 ** places).toFixed(places));

/** Forms an order ticket would send: consistent, but for the brokerage's own rules. */
const validForm: fc.Arbitrary<Form> = fc
  .record({
    side: fc.constantFrom('buy', 'sell'),
    size: fc.constantFrom('shares', 'fraction', 'notional'),
    type: fc.constantFrom('market', 'limit', 'stop', 'stop_limit'),
    timeInForce: fc.constantFrom(undefined, 'day', 'gtc', 'ioc', 'fok'),
    shares: decimal(1, 20, 0),
    fraction: decimal(0.001, 3, 3),
    notional: decimal(1, 500, 2),
    limitPrice: decimal(1, 2000, 2),
    stopPrice: decimal(1, 2000, 2),
  })
  .map((r) => {
    const simple = r.size !== 'shares';
    const type = simple ? 'market' : r.type;
    const form: Form = { side: r.side, type, symbol: r.side === 'sell' ? 'KO' : 'MSFT' };
    if (simple) form.timeInForce = 'day';
    else if (r.timeInForce !== undefined) form.timeInForce = r.timeInForce;
    if (r.size === 'notional') form.notional = r.notional;
    else form.quantity = r.size === 'shares' ? r.shares : r.fraction;
    if (type === 'limit' || type === 'stop_limit') form.limitPrice = r.limitPrice;
    if (type === 'stop' || type === 'stop_limit') form.stopPrice = r.stopPrice;
    return form;
  });

/** One change that breaks a form (or not: the oracle decides). */
const MUTATIONS: ((form: Form) => Form)[] = [
  (f) => ({ ...f, side: 'hold' }),
  (f) => ({ ...f, type: 'trailing_stop' }),
  (f) => ({ ...f, timeInForce: 'opg' }),
  (f) => ({ ...f, quantity: '-1' }),
  (f) => ({ ...f, quantity: '1.0000000001' }),
  (f) => ({ ...f, quantity: '0' }),
  (f) => ({ ...f, notional: '25.5', quantity: f.quantity }),
  (f) => ({ ...f, limitPrice: '10.00001' }),
  (f) => ({ ...f, stopPrice: '-5' }),
  (f) => ({ ...f, type: 'limit', stopPrice: undefined }),
  (f) => ({ ...f, type: 'market' }),
  (f) => ({ ...f, timeInForce: 'gtc' }),
  (f) => ({ ...f, side: 'sell', symbol: 'JPM' }),
  (f) => ({ ...f, quantity: '0.5', notional: undefined }),
  (f) => ({ ...f, quantity: '0.25', notional: undefined, type: 'limit', limitPrice: '10', stopPrice: undefined }),
  (f) => ({ ...f, notional: '30', quantity: undefined, timeInForce: 'gtc' }),
];

const formArbitrary: fc.Arbitrary<Form> = fc.oneof(
  validForm,
  fc.tuple(validForm, fc.integer({ min: 0, max: MUTATIONS.length - 1 })).map(([form, i]) => {
    const mutated = MUTATIONS[i]!(form);
    return Object.fromEntries(Object.entries(mutated).filter(([, v]) => v !== undefined)) as unknown as Form;
  }),
);

const positiveWithin = (value: string | undefined, places: number) =>
  value !== undefined && /^\d+(\.\d+)?$/.test(value) && Number(value) > 0 && (value.split('.')[1] ?? '').replace(/0+$/, '').length <= places;

/** An oracle written apart from the code: what the API and Alpaca accept, for these forms. */
function acceptable(form: Form): boolean {
  if (!['buy', 'sell'].includes(form.side) || !['market', 'limit', 'stop', 'stop_limit'].includes(form.type)) return false;
  const tif = form.timeInForce ?? 'day';
  if (!['day', 'gtc', 'ioc', 'fok'].includes(tif)) return false;
  if ((form.quantity === undefined) === (form.notional === undefined)) return false;
  if (form.quantity !== undefined && !positiveWithin(form.quantity, 9)) return false;
  if (form.notional !== undefined && (!positiveWithin(form.notional, 2) || form.type !== 'market' || tif !== 'day')) return false;
  const needsLimit = form.type === 'limit' || form.type === 'stop_limit';
  const needsStop = form.type === 'stop' || form.type === 'stop_limit';
  if (needsLimit !== (form.limitPrice !== undefined) || needsStop !== (form.stopPrice !== undefined)) return false;
  if (form.limitPrice !== undefined && !positiveWithin(form.limitPrice, 4)) return false;
  if (form.stopPrice !== undefined && !positiveWithin(form.stopPrice, 4)) return false;
  const fractional = form.notional !== undefined || !Number.isInteger(Number(form.quantity));
  if (fractional && (form.type !== 'market' || tif !== 'day')) return false;
  // KO is held (a million shares) and JPM never is (buys are of MSFT); cash covers any buy.
  if (form.side === 'sell' && form.symbol !== 'KO') return false;
  return true;
}

describe('random order forms at the internal account', () => {
  it('valid forms place exactly once per key; invalid ones place nothing', async () => {
    const alpaca = byInstitution.Alpaca!.id;
    let run = 0;
    await fc.assert(
      fc.asyncProperty(formArbitrary, async (form) => {
        const key = `property-${++run}-${Date.now()}`;
        const before = await alpacaOrderCount();
        const first = await placeOrder(engine, USER, key, { ...form, accountId: alpaca });
        if (acceptable(form)) {
          expect(first.status, `${JSON.stringify(form)}: ${JSON.stringify(first.body)}`).toBe(201);
          const again = await placeOrder(engine, USER, key, { ...form, accountId: alpaca });
          expect(again.body.id).toBe(first.body.id);
          const atAlpaca = (await alpacaClient().sdk.trading.orders.getAllOrders({ status: 'all', limit: 500 })).filter((o) => o.clientOrderId === key);
          expect(atAlpaca).toHaveLength(1);
          expect(await alpacaOrderCount()).toBe(before + 1);
        } else {
          expect(first.status, `${JSON.stringify(form)}: ${JSON.stringify(first.body)}`).toBeGreaterThanOrEqual(400);
          expect(first.status).toBeLessThan(500);
          expect(await alpacaOrderCount()).toBe(before);
        }
      }),
      { numRuns: 80 },
    );
  });
});
