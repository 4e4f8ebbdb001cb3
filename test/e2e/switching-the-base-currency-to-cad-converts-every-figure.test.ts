import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { holdingView, totalsView } from '../../actors/portfolio/portfolio-views.ts';
import { loadFxTable, loadPortfolio } from '../../actors/portfolio/portfolio-repository.ts';
import { readPurchaseDateCosts } from '../../actors/portfolio/purchase-fx-read.ts';
import { alpacaTicker } from '../../actors/portfolio/us-listings.ts';
import { startFoliostream, type Foliostream } from '../../src/app/foliostream.ts';
import { HistoryJobs, marketDay } from '../../src/history/daily-close-jobs.ts';
import { readLastPrices } from '../../src/market/price-reader.ts';
import { aggregateHoldings, applyQuote, fxRate, quoteAt } from '../../src/portfolio/index.ts';
import type { HoldingView, PortfolioTotals } from '../../src/realtime/events.ts';
import { eventually, startTestEngine, type TestEngine } from '../support/engine.ts';
import { singleRedis } from '../../src/runtime/redis-client.ts';

/**
 * A user holding USD and CAD securities switches their base currency to CAD (`PUT
 * /api/me/settings`): the change goes through their stream and actor, and every figure of
 * `/api/portfolio` is then in CAD, equal to a pure `aggregateHoldings` of the same accounts in CAD
 * with the same rates and prices; the history leaves the USD close out and says so, returns are in
 * CAD. The base is in Postgres: a worker started afresh revalues the next sync in CAD. A code the
 * engine cannot convert to, or no three-letter code at all, is a 400 naming the field. A user
 * deleted and back starts in USD again.
 *
 * The web and market roles run in the engine, the worker apart, so it can be restarted.
 */
interface PortfolioBody {
  baseCurrency: string;
  totals: PortfolioTotals;
  holdings: HoldingView[];
}
interface SettingsBody {
  baseCurrency: string;
  supportedBaseCurrencies: string[];
  applied?: boolean;
}

const USER = 'e2e-base-currency-user';
let engine: TestEngine;
let worker: Foliostream | undefined;

const startWorker = () => startFoliostream({ ...engine.config, ROLES: ['worker'] }, pino({ level: 'error' }), { namespace: engine.namespace });

beforeAll(async () => {
  engine = await startTestEngine({ env: { ROLES: 'web,market', HISTORY_CHUNK_SPACING_MS: '0' } });
  worker = await startWorker();
});
afterAll(async () => {
  await worker?.stop();
  await engine?.stop();
});

const portfolio = async () => (await engine.api<PortfolioBody>(USER, 'GET', '/api/portfolio')).body;

/** The oracle: the user's accounts as stored, aggregated in `base` with the stored rates and the last market prices. */
async function aggregatedIn(base: string): Promise<{ totals: PortfolioTotals; holdings: HoldingView[] }> {
  const db = engine.db.knex;
  const { portfolio: stored } = await loadPortfolio(db, USER);
  const fx = await loadFxTable(db);
  const state = aggregateHoldings(stored.accounts, { baseCurrency: base, fx });
  const tickers = new Map<string, string>();
  for (const h of state.holdings.values()) {
    const ticker = alpacaTicker(h);
    if (ticker) tickers.set(ticker, h.identityKey);
  }
  for (const [ticker, price] of await readLastPrices(engine.redis.client, engine.app.ctx.keys, [...tickers.keys()])) {
    applyQuote(state, tickers.get(ticker)!, quoteAt(price.price, price.at, price.previousClose));
  }
  // The cost at the purchase days' rates comes from the stored activities, as the read model adds it.
  const purchase = await readPurchaseDateCosts(db, USER, [...state.holdings.values()], base, fx);
  const holdings = [...state.holdings.values()].map((h) => holdingView(h, purchase.get(h.identityKey))).sort((a, b) => (a.symbol < b.symbol ? -1 : 1));
  return { totals: totalsView(state.totals), holdings };
}

describe('the base currency per user', () => {
  it('converts every figure to CAD through the stream, keeps it across a worker restart, and refuses codes it cannot convert to', async () => {
    const { sandbox } = engine;
    expect((await engine.api(USER, 'POST', '/api/snaptrade/connection-url', {})).status).toBe(200);
    const connection = await sandbox.control.connect(USER, {
      brokerage: 'QUESTRADE',
      accounts: [
        { name: 'TFSA', currency: 'CAD', cash: { CAD: 2500 }, positions: [{ symbol: 'AAPL', units: 10, averageCost: 150 }, { symbol: 'SHOP.TO', units: 20, averageCost: 90 }] },
        { name: 'Margin', currency: 'USD', cash: { USD: 1200 }, positions: [{ symbol: 'MSFT', units: 8, averageCost: 300 }] },
      ],
    });
    const usd = await eventually(async () => {
      const p = await portfolio();
      const priced = p.holdings?.filter((h) => h.price !== null && (h.dayChange !== null || h.symbol === 'SHOP')).map((h) => h.symbol).sort();
      return JSON.stringify(priced) === JSON.stringify(['AAPL', 'MSFT', 'SHOP']) ? p : undefined;
    }, 60_000, 'both accounts synced and priced');
    expect(usd.baseCurrency).toBe('USD');

    // A close recorded in USD (yesterday), before the switch.
    const day = marketDay(new Date(Date.now() - 86_400_000));
    const jobs = new HistoryJobs({ redisTarget: singleRedis(engine.redis.url), prefix: `{${engine.namespace}-bull}`, db: engine.db.knex, redis: engine.redis.client, keys: engine.app.ctx.keys, log: engine.app.ctx.log });
    try {
      await jobs.runDailyClose(day);
      await eventually(async () => ((await engine.db.knex('portfolio_daily_closes').where({ user_id: USER, day }).first('day')) ? true : undefined), 30_000, `the close of ${day}`);
    } finally {
      await jobs.close();
    }

    const before = await engine.api<SettingsBody>(USER, 'GET', '/api/me/settings');
    expect(before).toEqual({ status: 200, body: { baseCurrency: 'USD', supportedBaseCurrencies: ['CAD', 'EUR', 'GBP', 'USD'] } });

    // Case does not matter; the answer comes once the actor applied the change.
    const changed = await engine.api<SettingsBody>(USER, 'PUT', '/api/me/settings', { baseCurrency: 'cad' });
    expect(changed).toEqual({ status: 200, body: { baseCurrency: 'CAD', supportedBaseCurrencies: ['CAD', 'EUR', 'GBP', 'USD'], applied: true } });

    // Every figure of /api/portfolio is the pure aggregation in CAD.
    const cad = await portfolio();
    expect(cad.baseCurrency).toBe('CAD');
    const expected = await aggregatedIn('CAD');
    expect(cad.totals).toEqual(expected.totals);
    expect(cad.holdings).toEqual(expected.holdings);
    // ... and, independently of that code, the USD figures at the stored USD -> CAD rate.
    const usdToCad = Number(fxRate(await loadFxTable(engine.db.knex), 'USD', 'CAD').rate);
    expect(usdToCad).toBeGreaterThan(1);
    for (const key of ['totalValue', 'cash', 'invested', 'costBasis', 'unrealizedPl', 'dayChange'] as const) {
      expect(Number(cad.totals[key]), key).toBeCloseTo(Number(usd.totals[key]) * usdToCad, 1);
    }
    for (const h of cad.holdings) {
      const before = usd.holdings.find((x) => x.id === h.id)!;
      expect(Number(h.marketValueBase), h.symbol).toBeCloseTo(Number(before.marketValueBase) * usdToCad, 2);
      expect(h.marketValue, h.symbol).toBe(before.marketValue);
    }
    // The actor rewrote every holdings row in the new base.
    const rows = await engine.db.knex('holdings').where({ user_id: USER }).select('base_currency');
    expect(rows.map((r) => r.base_currency)).toEqual(['CAD', 'CAD', 'CAD']);

    // History and returns follow: the USD close is left out, and the answer says which base it was in.
    const history = await engine.api<{ baseCurrency: string; points: unknown[]; otherBaseCurrencies: string[]; live: { totalValue: string } }>(USER, 'GET', '/api/portfolio/history?range=1M');
    expect(history.body).toMatchObject({ baseCurrency: 'CAD', points: [], otherBaseCurrencies: ['USD'], live: { totalValue: cad.totals.totalValue } });
    const returns = await engine.api<{ baseCurrency: string }>(USER, 'GET', '/api/portfolio/returns?range=1M');
    expect(returns.body.baseCurrency).toBe('CAD');

    // Bad codes: 400 naming the field; nothing changes.
    const unknown = await engine.api<{ error: { code: string; message: string } }>(USER, 'PUT', '/api/me/settings', { baseCurrency: 'XYZ' });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.code).toBe('FS_VALIDATION');
    expect(unknown.body.error.message).toBe(
      'baseCurrency: XYZ is not a currency the engine can convert to with its exchange rates; supported: CAD, EUR, GBP, USD',
    );
    for (const body of [{ baseCurrency: 'CADX' }, { baseCurrency: 12 }, {}, { baseCurrency: 'CAD', theme: 'dark' }]) {
      const refused = await engine.api<{ error: { code: string; message: string } }>(USER, 'PUT', '/api/me/settings', body);
      expect(refused.status, JSON.stringify(body)).toBe(400);
      expect(refused.body.error.message, JSON.stringify(body)).toMatch(/^(baseCurrency|body): /);
    }
    expect((await engine.api<SettingsBody>(USER, 'GET', '/api/me/settings')).body.baseCurrency).toBe('CAD');

    // A fresh worker loads the base from Postgres: the next sync is revalued and written in CAD.
    await worker!.stop();
    worker = await startWorker();
    const margin = connection.accounts.find((a) => a.name === 'Margin')!;
    await sandbox.control.setPositions(margin.id, { positions: [{ symbol: 'MSFT', units: 8, averageCost: 300 }, { symbol: 'SPY', units: 3, averageCost: 400 }], notify: true });
    await eventually(async () => {
      const rows = await engine.db.knex('holdings as h').join('securities as s', 's.id', 'h.security_id').where('h.user_id', USER).select('s.ticker', 'h.base_currency');
      return rows.some((r) => r.ticker === 'SPY') ? rows : undefined;
    }, 60_000, 'SPY in the holdings rows').then((rows) => {
      expect(rows.map((r) => r.base_currency)).toEqual(['CAD', 'CAD', 'CAD', 'CAD']);
    });
    const after = await portfolio();
    expect(after.baseCurrency).toBe('CAD');
    const expectedAfter = await aggregatedIn('CAD');
    expect(after.totals).toEqual(expectedAfter.totals);

    // Deleted, then back (with an Alpaca account): the base is the default again, in the rows the
    // same actor writes too.
    expect((await engine.api(USER, 'DELETE', '/api/me')).status).toBe(200);
    const alpaca = await sandbox.control.alpacaCreateAccount({ cash: 1000 });
    await sandbox.control.alpacaSetPositions(alpaca.id, { positions: [{ symbol: 'MSFT', qty: 2 }] });
    expect((await engine.api(USER, 'POST', '/api/alpaca/accounts', { keyId: alpaca.keyId, secretKey: alpaca.secretKey })).status).toBe(201);
    const again = await eventually(async () => {
      const rows = await engine.db.knex('holdings').where({ user_id: USER }).select('base_currency');
      return rows.length ? rows : undefined;
    }, 60_000, 'the holdings of the user who came back');
    expect(again.map((r) => r.base_currency)).toEqual(['USD']);
    expect((await engine.api<SettingsBody>(USER, 'GET', '/api/me/settings')).body.baseCurrency).toBe('USD');
  });
});
