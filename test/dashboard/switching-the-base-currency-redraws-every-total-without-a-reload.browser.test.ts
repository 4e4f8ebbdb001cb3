import { mkdirSync } from 'node:fs';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HistoryJobs, marketDay } from '../../src/history/daily-close-jobs.ts';
import type { HoldingView, PortfolioTotals } from '../../src/realtime/events.ts';
import { eventually, startTestEngine, type TestEngine } from '../support/engine.ts';
import { launchChromium, openDashboard } from '../support/browser.ts';
import { singleRedis } from '../../src/runtime/redis-client.ts';

/**
 * The base-currency select of the dashboard's header in headless Chromium against the whole engine:
 * it offers the currencies the engine converts to, and choosing CAD redraws every total in CAD (what
 * `GET /api/portfolio` then answers) without a reload, pushed by the server; the value chart and the
 * returns follow, and the chart says in words that yesterday's close, kept in USD, is left out. A currency the engine
 * can no longer convert to (its rates were removed after the page loaded) is refused in words and
 * the select goes back to CAD.
 */
interface PortfolioBody {
  baseCurrency: string;
  totals: PortfolioTotals;
  holdings: HoldingView[];
}

const USER = 'browser-base-currency';
const TOTALS = ['totalValue', 'cash', 'invested', 'costBasis', 'unrealizedPl', 'dayChange'] as const;
let engine: TestEngine;
let browser: Browser;

/** Money as the page shows it (format.ts, in the page's en-US locale). */
const shown = (value: string | null, currency: string) =>
  value === null ? '—' : new Intl.NumberFormat('en-US', { style: 'currency', currency, minimumFractionDigits: 2, maximumFractionDigits: 2 }).format(Number(value));

beforeAll(async () => {
  engine = await startTestEngine();
  expect((await engine.api(USER, 'POST', '/api/snaptrade/connection-url', {})).status).toBe(200);
  await engine.sandbox.control.connect(USER, {
    brokerage: 'QUESTRADE',
    accounts: [
      { name: 'TFSA', currency: 'CAD', cash: { CAD: 2500 }, positions: [{ symbol: 'SHOP.TO', units: 20, averageCost: 90 }] },
      { name: 'Margin', currency: 'USD', cash: { USD: 1200 }, positions: [{ symbol: 'MSFT', units: 8, averageCost: 300 }] },
    ],
  });
  await eventually(async () => {
    const { body } = await engine.api<PortfolioBody>(USER, 'GET', '/api/portfolio');
    return body.holdings?.length === 2 && body.holdings.some((h) => h.symbol === 'MSFT' && h.dayChange !== null) ? true : undefined;
  }, 60_000, 'both holdings synced, MSFT with a day change');
  // Yesterday's close, in USD.
  const jobs = new HistoryJobs({ redisTarget: singleRedis(engine.redis.url), prefix: `{${engine.namespace}-bull}`, db: engine.db.knex, redis: engine.redis.client, keys: engine.app.ctx.keys, log: engine.app.ctx.log });
  const day = marketDay(new Date(Date.now() - 86_400_000));
  try {
    await jobs.runDailyClose(day);
    await eventually(async () => ((await engine.db.knex('portfolio_daily_closes').where({ user_id: USER, day }).first('day')) ? true : undefined), 30_000, `the close of ${day}`);
  } finally {
    await jobs.close();
  }
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await engine?.stop();
});

describe('the base-currency select', () => {
  it('redraws every total in CAD without a reload, and says in words why a currency is refused', async () => {
    const { page, problems } = await openDashboard(browser, engine.url, await engine.token(USER));
    await page.locator('[data-testid="connection"]', { hasText: 'live' }).waitFor();
    const totals = async () => Object.fromEntries(await Promise.all(TOTALS.map(async (key) => [key, await page.locator(`[data-total="${key}"]`).textContent()] as const)));
    const expectedIn = (body: PortfolioBody) => Object.fromEntries(TOTALS.map((key) => [key, shown(body.totals[key], body.baseCurrency)]));

    const usd = (await engine.api<PortfolioBody>(USER, 'GET', '/api/portfolio')).body;
    expect(usd.baseCurrency).toBe('USD');
    await eventually(async () => (JSON.stringify(await totals()) === JSON.stringify(expectedIn(usd)) ? true : undefined), 15_000, 'the totals in USD');
    await page.locator('[data-testid="history-caption"]', { hasText: /^1M · 2 points · \$/ }).waitFor({ timeout: 15_000 });

    const select = page.getByTestId('base-currency');
    await page.locator('[data-testid="base-currency"]:enabled').waitFor();
    expect(await select.inputValue()).toBe('USD');
    expect(await select.locator('option').allTextContents()).toEqual(['CAD', 'EUR', 'GBP', 'USD']);

    // A mark on the window: a reload would lose it.
    await page.evaluate(() => Object.assign(window, { notReloaded: true }));
    await select.selectOption('CAD');
    const cad = await eventually(async () => {
      const { body } = await engine.api<PortfolioBody>(USER, 'GET', '/api/portfolio');
      return body.baseCurrency === 'CAD' ? body : undefined;
    }, 15_000, 'the API in CAD');
    await eventually(async () => (JSON.stringify(await totals()) === JSON.stringify(expectedIn(cad)) ? true : undefined), 15_000, 'the totals redrawn in CAD').catch(async (err: unknown) => {
      throw new Error(`${String(err)}: the page shows ${JSON.stringify(await totals())}, the API answers ${JSON.stringify(expectedIn(cad))}`);
    });
    expect(await totals()).not.toEqual(expectedIn(usd));
    expect(await page.getByTestId('meta').textContent()).toMatch(/^CAD · /);
    await page.locator('[data-testid="base-currency"]:enabled').waitFor();
    expect(await select.inputValue()).toBe('CAD');
    expect(await page.getByTestId('base-currency-status').textContent()).toBe('');
    expect(await page.evaluate(() => (window as unknown as { notReloaded?: boolean }).notReloaded)).toBe(true);
    // The chart and the returns follow; the USD close is left out, and the chart says so.
    await page.locator('[data-testid="history-caption"]', { hasText: 'No history in CAD' }).waitFor({ timeout: 15_000 });
    expect(await page.getByTestId('history-caption').textContent()).toBe(
      'No history in CAD for 1M yet: the points kept before the base currency changed are in USD and are left out; new ones are kept in CAD from now on.',
    );
    await page.locator('[data-testid="returns-caption"]', { hasText: `1M: ${shown(cad.totals.totalValue, 'CAD')}` }).waitFor({ timeout: 15_000 });

    // The page was given GBP, but the engine no longer has its rates: refused, said why, back to CAD.
    await engine.db.knex('fx_rates').where({ base: 'GBP' }).orWhere({ quote: 'GBP' }).delete();
    await select.selectOption('GBP');
    const status = page.getByTestId('base-currency-status');
    await page.locator('[data-testid="base-currency-status"]', { hasText: 'not changed' }).waitFor({ timeout: 15_000 });
    expect(await status.textContent()).toBe(
      'The base currency was not changed: baseCurrency: GBP is not a currency the engine can convert to with its exchange rates; supported: CAD, EUR, USD',
    );
    expect(await select.inputValue()).toBe('CAD');
    expect(await totals()).toEqual(expectedIn(cad));

    mkdirSync('/tmp/foliostream-screenshots', { recursive: true });
    await page.screenshot({ path: '/tmp/foliostream-screenshots/base-currency.png', fullPage: true });
    expect(problems).toEqual([]);
  });
});
