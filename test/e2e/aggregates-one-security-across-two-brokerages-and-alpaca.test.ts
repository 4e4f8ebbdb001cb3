import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startTestEngine, type TestEngine } from '../support/engine.ts';

/**
 * One user, AAPL at two SnapTrade brokerages and at an internal Alpaca account: the aggregate
 * sums all three with a per-account breakdown, follows a holdings change at one brokerage, and
 * drops a brokerage's share (and its accounts) when its connection is deleted.
 */
interface AccountShare {
  accountId: string;
  institution: string;
  quantity: string;
  marketValue: string | null;
}
interface HoldingBody {
  symbol: string;
  quantity: string;
  price: string | null;
  marketValue: string | null;
  dayChange: string | null;
  accounts: AccountShare[];
}
interface PortfolioBody {
  holdings: HoldingBody[];
}
interface AccountsBody {
  accounts: { id: string; provider: string; externalId: string; institutionName: string; connection: { status: string } }[];
}

const USER = 'e2e-aggregate-user';
let engine: TestEngine;

beforeAll(async () => {
  engine = await startTestEngine();
});
afterAll(async () => {
  await engine?.stop();
});

async function portfolio(): Promise<PortfolioBody> {
  const res = await engine.api<PortfolioBody>(USER, 'GET', '/api/portfolio');
  expect(res.status).toBe(200);
  return res.body;
}

async function holdingOf(symbol: string): Promise<HoldingBody | undefined> {
  return (await portfolio()).holdings.find((h) => h.symbol === symbol);
}

/** Quantity x price, rounded like money (the engine keeps decimal strings). */
function expectValued(h: { quantity: string; marketValue: string | null }, price: string | null) {
  expect(price).not.toBeNull();
  expect(h.marketValue).not.toBeNull();
  expect(Number(h.marketValue)).toBeCloseTo(Number(h.quantity) * Number(price), 2);
}

describe('one security held at two brokerages and at Alpaca', () => {
  let questradeAuth: string;
  let questradeAccount: string;
  let robinhoodAccount: string;
  let alpacaAccountId: string;

  it('aggregates AAPL across all three accounts, with the breakdown and valuation', async () => {
    const url = await engine.api<{ redirectURI: string }>(USER, 'POST', '/api/snaptrade/connection-url', {});
    expect(url.status).toBe(200);
    expect(url.body.redirectURI).toMatch(/^http/);

    const questrade = await engine.sandbox.control.connect(USER, {
      brokerage: 'QUESTRADE',
      accounts: [{ name: 'Margin', currency: 'USD', positions: [{ symbol: 'AAPL', units: 10, averageCost: 150 }, { symbol: 'MSFT', units: 3 }] }],
    });
    const robinhood = await engine.sandbox.control.connect(USER, {
      brokerage: 'ROBINHOOD',
      accounts: [{ name: 'Individual', currency: 'USD', positions: [{ symbol: 'AAPL', units: 4, averageCost: 170 }] }],
    });
    questradeAuth = questrade.id;
    questradeAccount = questrade.accounts[0]!.id;
    robinhoodAccount = robinhood.accounts[0]!.id;

    const alpaca = await engine.sandbox.control.alpacaCreateAccount({ cash: 10_000 });
    await engine.sandbox.control.alpacaSetPositions(alpaca.id, { positions: [{ symbol: 'AAPL', qty: 6, avgEntryPrice: 180 }] });
    const linked = await engine.api<{ accountId: string }>(USER, 'POST', '/api/alpaca/accounts', { keyId: alpaca.keyId, secretKey: alpaca.secretKey });
    expect(linked.status).toBe(201);
    alpacaAccountId = linked.body.accountId;
    expect(alpacaAccountId).toBe(alpaca.id);

    const aapl = await eventually(async () => {
      const h = await holdingOf('AAPL');
      return h && h.accounts.length === 3 && h.quantity !== undefined && Number(h.quantity) === 20 ? h : undefined;
    }, 30_000, 'AAPL aggregated over three accounts');

    const accounts = (await engine.api<AccountsBody>(USER, 'GET', '/api/accounts')).body.accounts;
    expect(accounts).toHaveLength(3);
    const idOf = (externalId: string) => accounts.find((a) => a.externalId === externalId)?.id;
    const byAccount = new Map(aapl.accounts.map((a) => [a.accountId, a]));
    expect(Number(byAccount.get(idOf(questradeAccount)!)?.quantity)).toBe(10);
    expect(Number(byAccount.get(idOf(robinhoodAccount)!)?.quantity)).toBe(4);
    expect(Number(byAccount.get(idOf(alpacaAccountId)!)?.quantity)).toBe(6);
    expectValued(aapl, aapl.price);
    for (const share of aapl.accounts) expectValued(share, aapl.price);
    expect(Number(aapl.marketValue)).toBeCloseTo(
      aapl.accounts.reduce((sum, a) => sum + Number(a.marketValue), 0),
      2,
    );
    // Alpaca reports a previous close (lastday_price). It is stored with the position, so the HTTP
    // read model, built from Postgres, has a day change too: 20 x (price - previous close).
    const previousClose = engine.sandbox.priceBook.quote('AAPL')!.previousClose;
    expect(aapl.dayChange).not.toBeNull();
    expect(Number(aapl.dayChange)).toBeCloseTo(20 * (Number(aapl.price) - previousClose), 2);
    // MSFT is held at one brokerage only.
    const msft = await holdingOf('MSFT');
    expect(Number(msft?.quantity)).toBe(3);
    expect(msft?.accounts).toHaveLength(1);
  });

  it('follows a holdings change at one brokerage (ACCOUNT_HOLDINGS_UPDATED)', async () => {
    await engine.sandbox.control.setPosition(robinhoodAccount, { symbol: 'AAPL', units: 9, notify: true });
    const aapl = await eventually(async () => {
      const h = await holdingOf('AAPL');
      return h && Number(h.quantity) === 25 ? h : undefined;
    }, 20_000, 'AAPL at 10 + 9 + 6');
    expect(aapl.accounts).toHaveLength(3);
    expect(aapl.accounts.map((a) => Number(a.quantity)).sort((a, b) => a - b)).toEqual([6, 9, 10]);
    expectValued(aapl, aapl.price);
  });

  it('drops a deleted connection’s share and its accounts (CONNECTION_DELETED)', async () => {
    const before = (await engine.api<AccountsBody>(USER, 'GET', '/api/accounts')).body.accounts;
    const questradeRowId = before.find((a) => a.externalId === questradeAccount)!.id;
    await engine.sandbox.control.removeConnection(questradeAuth);

    const aapl = await eventually(async () => {
      const h = await holdingOf('AAPL');
      return h && Number(h.quantity) === 15 ? h : undefined;
    }, 20_000, 'AAPL without the Questrade share');
    expect(aapl.accounts.map((a) => a.accountId)).not.toContain(questradeRowId);
    expect(aapl.accounts).toHaveLength(2);
    expectValued(aapl, aapl.price);
    // MSFT was held only at Questrade: it is gone.
    expect(await holdingOf('MSFT')).toBeUndefined();

    const after = (await engine.api<AccountsBody>(USER, 'GET', '/api/accounts')).body.accounts;
    expect(after.map((a) => a.externalId).sort()).toEqual([alpacaAccountId, robinhoodAccount].sort());
  });
});
