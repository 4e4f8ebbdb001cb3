import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { createPriceBook } from '../../sandbox/market/price-book.ts';
import { ScenarioEngine, TradeRejected } from '../../sandbox/scenario/scenario-engine.ts';

const silent = pino({ level: 'silent' });

/** An engine whose webhooks are collected in a list (the sink interface is the engine's port). */
function engineFor(seed: number) {
  const sent: Array<{ eventType: string; userId: string; fields: Record<string, unknown> }> = [];
  const priceBook = createPriceBook({ seed });
  const engine = new ScenarioEngine({
    seed,
    priceBook,
    logger: silent,
    tradeSyncDelayMs: 0,
    webhooks: {
      send(eventType, userId, fields = {}) {
        sent.push({ eventType, userId, fields });
        return { webhookId: String(sent.length) };
      },
    },
  });
  return { engine, sent, priceBook, close: () => (engine.close(), priceBook.close()) };
}

function snapshot(engine: ScenarioEngine) {
  return [...engine.store.accounts.values()].map((a) => ({
    id: a.id,
    authorizationId: a.authorizationId,
    number: a.number,
    currency: a.currency,
    cash: Object.fromEntries(a.cash),
    positions: [...a.positions.values()],
  }));
}

function connectAll(engine: ScenarioEngine, userId: string) {
  engine.registerUser(userId);
  for (const slug of ['QUESTRADE', 'WEALTHSIMPLE', 'ROBINHOOD', 'INTERACTIVE-BROKERS-FLEX']) engine.connect(userId, slug);
}

describe('scenario engine', () => {
  it('generates the same ids, positions and cash for the same seed and script', () => {
    const a = engineFor(7);
    const b = engineFor(7);
    connectAll(a.engine, 'u1');
    connectAll(b.engine, 'u1');
    expect(snapshot(a.engine)).toEqual(snapshot(b.engine));
    a.close();
    b.close();
  });

  it('generates different holdings for a different seed', () => {
    const a = engineFor(7);
    const b = engineFor(8);
    connectAll(a.engine, 'u1');
    connectAll(b.engine, 'u1');
    expect(snapshot(a.engine)).not.toEqual(snapshot(b.engine));
    a.close();
    b.close();
  });

  it('holds the same security at several brokerages, in USD and CAD accounts', () => {
    const { engine, close } = engineFor(3);
    connectAll(engine, 'u1');
    const accounts = [...engine.store.accounts.values()];
    expect(new Set(accounts.map((a) => a.currency))).toEqual(new Set(['USD', 'CAD']));
    const brokeragesBySymbol = new Map<string, Set<string>>();
    for (const account of accounts) {
      for (const symbol of account.positions.keys()) {
        const set = brokeragesBySymbol.get(symbol) ?? new Set<string>();
        set.add(account.brokerage.slug);
        brokeragesBySymbol.set(symbol, set);
      }
    }
    expect(Math.max(...[...brokeragesBySymbol.values()].map((s) => s.size))).toBeGreaterThanOrEqual(2);
    const currencies = new Set(accounts.flatMap((a) => [...a.positions.keys()].map((s) => engine.priceBook.security(s)!.currency)));
    expect(currencies).toEqual(new Set(['USD', 'CAD']));
    close();
  });

  it('sends the connection webhooks with the ids of what it created', async () => {
    const { engine, sent, close } = engineFor(1);
    engine.registerUser('u1');
    const { authorization, accounts } = engine.connect('u1', 'SCHWAB');
    await new Promise((r) => setTimeout(r, 5));
    expect(sent.map((s) => s.eventType)).toEqual([
      'USER_REGISTERED',
      'CONNECTION_ATTEMPTED',
      'CONNECTION_ADDED',
      'NEW_ACCOUNT_AVAILABLE',
      'NEW_ACCOUNT_AVAILABLE',
      'ACCOUNT_HOLDINGS_UPDATED',
      'ACCOUNT_TRANSACTIONS_INITIAL_UPDATE',
      'ACCOUNT_HOLDINGS_UPDATED',
      'ACCOUNT_TRANSACTIONS_INITIAL_UPDATE',
    ]);
    expect(sent[2]!.fields).toEqual({ brokerageId: authorization.brokerage.id, brokerageAuthorizationId: authorization.id });
    expect(sent.filter((s) => s.eventType === 'NEW_ACCOUNT_AVAILABLE').map((s) => s.fields.accountId)).toEqual(
      accounts.map((a) => a.id),
    );
    close();
  });

  it('values an account in its own currency with the exchange rate and the book price', () => {
    const { engine, close } = engineFor(1);
    engine.registerUser('u1');
    const { accounts } = engine.connect('u1', 'QUESTRADE', {
      webhooks: false,
      accounts: [{ currency: 'CAD', cash: { CAD: 100, USD: 10 }, positions: [{ symbol: 'AAPL', units: 2, averageCost: 100 }] }],
    });
    engine.priceBook.setPrice('AAPL', 200);
    engine.rates.setRate('USD', 'CAD', 1.5);
    // 100 CAD + 10 USD * 1.5 + 2 * 200 USD * 1.5
    expect(engine.accountValue(accounts[0]!)).toBeCloseTo(100 + 15 + 600, 2);
    expect(engine.rates.rate('CAD', 'USD')).toBeCloseTo(1 / 1.5, 5);
    close();
  });

  it('fills a market buy at the book price, moving cash and average cost, and refuses an unaffordable one', () => {
    const { engine, close } = engineFor(1);
    engine.registerUser('u1');
    const { accounts } = engine.connect('u1', 'ROBINHOOD', {
      webhooks: false,
      accounts: [{ currency: 'USD', cash: { USD: 1_000 }, positions: [{ symbol: 'MSFT', units: 1, averageCost: 300 }] }],
    });
    const account = accounts[0]!;
    engine.priceBook.setPrice('MSFT', 100);
    const order = engine.placeOrder({
      accountId: account.id,
      symbol: 'MSFT',
      action: 'BUY',
      orderType: 'Market',
      timeInForce: 'Day',
      units: 3,
      limitPrice: null,
      stopPrice: null,
    });
    expect(order).toMatchObject({ status: 'EXECUTED', executionPrice: 100, filledUnits: 3 });
    expect(account.cash.get('USD')).toBe(700);
    expect(account.positions.get('MSFT')).toEqual({ symbol: 'MSFT', units: 4, averageCost: 150 });
    expect(() =>
      engine.placeOrder({
        accountId: account.id,
        symbol: 'MSFT',
        action: 'BUY',
        orderType: 'Market',
        timeInForce: 'Day',
        units: 100,
        limitPrice: null,
        stopPrice: null,
      }),
    ).toThrow(TradeRejected);
    close();
  });

  it('fills a resting limit order when a tick crosses its price', () => {
    const { engine, close } = engineFor(1);
    engine.registerUser('u1');
    const { accounts } = engine.connect('u1', 'ROBINHOOD', {
      webhooks: false,
      accounts: [{ currency: 'USD', cash: { USD: 10_000 }, positions: [] }],
    });
    engine.priceBook.setPrice('KO', 70);
    const order = engine.placeOrder({
      accountId: accounts[0]!.id,
      symbol: 'KO',
      action: 'BUY',
      orderType: 'Limit',
      timeInForce: 'GTC',
      units: 10,
      limitPrice: 65,
      stopPrice: null,
    });
    expect(order.status).toBe('ACCEPTED');
    engine.priceBook.setPrice('KO', 64.5);
    expect(order).toMatchObject({ status: 'EXECUTED', executionPrice: 64.5 });
    expect(accounts[0]!.positions.get('KO')?.units).toBe(10);
    close();
  });

  it('changes one account per auto step and announces it with ACCOUNT_HOLDINGS_UPDATED', () => {
    const { engine, sent, close } = engineFor(5);
    engine.registerUser('u1');
    engine.connect('u1', 'ROBINHOOD', { webhooks: false });
    const before = snapshot(engine);
    const changed = engine.autoStep()!;
    expect(snapshot(engine)).not.toEqual(before);
    expect(sent.at(-1)).toMatchObject({ eventType: 'ACCOUNT_HOLDINGS_UPDATED', fields: { accountId: changed.id } });
    close();
  });
});
