import { io as connectClient } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HistoryJobs, marketDay } from '../../src/history/daily-close-jobs.ts';
import type { HistoryPointUpdate, HoldingView, PortfolioTotals } from '../../src/realtime/events.ts';
import { eventually, startTestEngine, type TestEngine } from '../support/engine.ts';
import { singleRedis } from '../../src/runtime/redis-client.ts';

/**
 * The demo-like user (Questrade TFSA in CAD and Margin in USD, Robinhood, an internal Alpaca
 * account): every US holding, wherever held, has a day change from the market data's previous
 * close (not only those Alpaca reports one for); the Canadian listings, which have no live feed,
 * show the brokerage's price with its time, flagged stale, and are marked as having no day change
 * and counted out of the total's day change. Then the value history: intraday points while the
 * user is watched (pushed on the socket and stored), and daily closes after the job ran on three
 * test-chosen days.
 */
interface PortfolioBody {
  baseCurrency: string;
  totals: PortfolioTotals;
  holdings: HoldingView[];
}
interface HistoryBody {
  range: string;
  baseCurrency: string;
  interval: string;
  points: Array<{ at: string; day?: string; totalValue: string }>;
  live: { at: string; totalValue: string };
}

const USER = 'e2e-day-change-user';
const US = ['AAPL', 'GOOGL', 'MSFT', 'NVDA', 'SPY'];
const CANADIAN = ['RY', 'SHOP'];
let engine: TestEngine;

beforeAll(async () => {
  engine = await startTestEngine({ env: { HISTORY_INTRADAY_EVERY_MS: '1000', HISTORY_CHUNK_SPACING_MS: '0' } });
});
afterAll(async () => {
  await engine?.stop();
});

const portfolio = async () => (await engine.api<PortfolioBody>(USER, 'GET', '/api/portfolio')).body;

describe('day change for every holding, and the value history', () => {
  it('gives every US holding a day change from the previous close, and marks and counts the ones without', async () => {
    const { sandbox } = engine;
    expect((await engine.api(USER, 'POST', '/api/snaptrade/connection-url', {})).status).toBe(200);
    await sandbox.control.connect(USER, {
      brokerage: 'QUESTRADE',
      accounts: [
        { name: 'TFSA', currency: 'CAD', cash: { CAD: 2500 }, positions: [{ symbol: 'AAPL', units: 10, averageCost: 150 }, { symbol: 'SHOP.TO', units: 20 }, { symbol: 'RY.TO', units: 15 }] },
        { name: 'Margin', currency: 'USD', cash: { USD: 1200 }, positions: [{ symbol: 'MSFT', units: 8, averageCost: 300 }, { symbol: 'SPY', units: 5 }] },
      ],
    });
    await sandbox.control.connect(USER, {
      brokerage: 'ROBINHOOD',
      accounts: [{ name: 'Individual', currency: 'USD', cash: { USD: 800 }, positions: [{ symbol: 'AAPL', units: 4, averageCost: 170 }, { symbol: 'NVDA', units: 12 }] }],
    });
    const alpaca = await sandbox.control.alpacaCreateAccount({ cash: 10_000 });
    await sandbox.control.alpacaSetPositions(alpaca.id, { positions: [{ symbol: 'AAPL', qty: 6, avgEntryPrice: 180 }, { symbol: 'GOOGL', qty: 9 }] });
    expect((await engine.api(USER, 'POST', '/api/alpaca/accounts', { keyId: alpaca.keyId, secretKey: alpaca.secretKey })).status).toBe(201);

    let last: PortfolioBody | undefined;
    const body = await eventually(async () => {
      const p = await portfolio();
      const symbols = p.holdings?.map((h) => h.symbol).sort();
      const ready = p.holdings?.filter((h) => US.includes(h.symbol)).every((h) => h.dayChange !== null);
      last = p;
      return JSON.stringify(symbols) === JSON.stringify([...US, ...CANADIAN].sort()) && ready ? p : undefined;
    }, 60_000, 'every holding synced, the US ones with a day change').catch((err: unknown) => {
      throw new Error(`${String(err)}: ${JSON.stringify(last?.holdings.map((h) => [h.symbol, h.priceSource, h.dayChange, h.dayChangeMissing]))}`);
    });

    for (const h of body.holdings.filter((x) => US.includes(x.symbol))) {
      const previousClose = sandbox.priceBook.quote(h.symbol)!.previousClose;
      expect(h.dayChangeMissing, h.symbol).toBeNull();
      expect(h.priceStale, h.symbol).toBe(false);
      expect(Number(h.dayChange), h.symbol).toBeCloseTo(Number(h.quantity) * (Number(h.price) - previousClose), 6);
    }
    // No live feed for Canadian listings: the brokerage's price, with its time, flagged; no day change, and said why.
    for (const h of body.holdings.filter((x) => CANADIAN.includes(x.symbol))) {
      expect(h.priceSource, h.symbol).toBe('brokerage');
      expect(h.priceStale, h.symbol).toBe(true);
      expect(h.price, h.symbol).not.toBeNull();
      expect(h.priceAsOf, h.symbol).not.toBeNull();
      expect(h.dayChange, h.symbol).toBeNull();
      expect(h.dayChangeMissing, h.symbol).toBe('no-previous-close');
    }
    // The total's day change covers the five US holdings, and says so.
    expect(body.totals.holdingsCount).toBe(7);
    expect(body.totals.dayChangeHoldings).toBe(5);
    const sum = body.holdings.reduce((acc, h) => acc + (h.dayChange === null ? 0 : Number(h.dayChange)), 0);
    expect(Number(body.totals.dayChange)).toBeCloseTo(sum, 6);
  });

  it('records intraday points while the user is watched, pushed and served by the history endpoint', async () => {
    const socket = connectClient(engine.url, { auth: { token: await engine.token(USER) }, transports: ['websocket'], reconnection: false });
    try {
      const pushed: HistoryPointUpdate[] = [];
      socket.on('portfolio:history', (point: HistoryPointUpdate) => pushed.push(point));
      // Prices move while the browser is open: a pushed point carries the moved value.
      engine.sandbox.priceBook.setPrice('MSFT', 512.5);
      const msft = await eventually(async () => {
        const h = (await portfolio()).holdings.find((x) => x.symbol === 'MSFT');
        return h?.priceSource === 'market' && h.price === '512.5' ? h : undefined;
      }, 30_000, 'MSFT at the market price');
      expect(Number(msft.dayChange)).toBeCloseTo(8 * (512.5 - engine.sandbox.priceBook.quote('MSFT')!.previousClose), 6);
      const moved = await eventually(async () => {
        const total = (await portfolio()).totals.totalValue;
        return pushed.find((p) => p.totalValue === total && total !== null);
      }, 30_000, 'a pushed point at the moved value');
      const day = await engine.api<HistoryBody>(USER, 'GET', '/api/portfolio/history?range=1D');
      expect(day.status).toBe(200);
      expect(day.body.interval).toBe('minute');
      expect(day.body.baseCurrency).toBe('USD');
      const minute = new Date(Math.floor(Date.parse(moved.at) / 60_000) * 60_000).toISOString();
      expect(day.body.points.map((p) => p.at)).toContain(minute);
      expect(day.body.live.totalValue).toBe((await portfolio()).totals.totalValue);
    } finally {
      socket.close();
    }
    const bad = await engine.api<{ error: { code: string; message: string } }>(USER, 'GET', '/api/portfolio/history?range=2Y');
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('FS_VALIDATION');
    expect(bad.body.error.message).toContain('range');
  });

  it('serves a daily close for each day the job ran', async () => {
    const jobs = new HistoryJobs({
      redisTarget: singleRedis(engine.redis.url),
      prefix: `{${engine.namespace}-bull}`,
      db: engine.app.ctx.db,
      redis: engine.redis.client,
      keys: engine.app.ctx.keys,
      log: engine.app.ctx.log,
    });
    try {
      const days = [3, 2, 1].map((back) => marketDay(new Date(Date.now() - back * 86_400_000)));
      const values: string[] = [];
      for (const [i, day] of days.entries()) {
        // Each day closes at another price.
        engine.sandbox.priceBook.setPrice('NVDA', 150 + i * 10);
        const total = await eventually(async () => {
          const p = await portfolio();
          const nvda = p.holdings.find((h) => h.symbol === 'NVDA');
          return Number(nvda?.price) === 150 + i * 10 ? p.totals.totalValue! : undefined;
        }, 20_000, `NVDA at ${150 + i * 10}`);
        values.push(total);
        await jobs.runDailyClose(day);
        await eventually(async () => {
          const row = await engine.app.ctx.db('portfolio_daily_closes').where({ user_id: USER, day }).first('total_value');
          return row ? true : undefined;
        }, 20_000, `the close of ${day}`);
      }
      const month = await engine.api<HistoryBody>(USER, 'GET', '/api/portfolio/history?range=1M');
      expect(month.status).toBe(200);
      expect(month.body.interval).toBe('day');
      expect(month.body.points.map((p) => p.day)).toEqual(days);
      expect(month.body.points.map((p) => Number(p.totalValue))).toEqual(values.map(Number));
    } finally {
      await jobs.close();
    }
  });
});
