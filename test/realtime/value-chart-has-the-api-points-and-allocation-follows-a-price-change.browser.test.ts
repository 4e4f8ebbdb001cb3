import { mkdir } from 'node:fs/promises';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PortfolioResponse } from '../../src/api/schemas.ts';
import { add, dec, str } from '../../src/portfolio/decimal.ts';
import { eventually, startTestEngine, type TestEngine } from '../support/engine.ts';
import { awayFromTheMinute, launchChromium, openDashboard } from '../support/browser.ts';

/**
 * The value chart and the allocation panel in headless Chromium against the whole engine: the
 * chart (lightweight-charts) draws on its canvas exactly the points the history API answered the
 * page; the allocation shows the parts by asset class, account, currency and security, summing
 * to the API's total value; and a price tick moves it without a reload (MSFT 415.20 -> 456.72 on
 * 8 shares: stocks up 8 x 41.52 = 332.16). Screenshots 1366 and 390 wide, where the two panels
 * stay inside the page.
 */
const USER = 'browser-chart-allocation';
const SHOTS = '/tmp/foliostream-screenshots';
let engine: TestEngine;
let browser: Browser;

const portfolio = async () => (await engine.api<PortfolioResponse>(USER, 'GET', '/api/portfolio')).body;

beforeAll(async () => {
  engine = await startTestEngine({ env: { HISTORY_INTRADAY_EVERY_MS: '1000' } });
  expect((await engine.api(USER, 'POST', '/api/snaptrade/connection-url', {})).status).toBe(200);
  await engine.sandbox.control.connect(USER, {
    brokerage: 'QUESTRADE',
    accounts: [
      { name: 'TFSA', currency: 'CAD', cash: { CAD: 1000 }, positions: [{ symbol: 'SHOP.TO', units: 20 }] },
      { name: 'Margin', currency: 'USD', cash: { USD: 500 }, positions: [{ symbol: 'MSFT', units: 8, averageCost: 300 }, { symbol: 'VTI', units: 5 }] },
    ],
  });
  await eventually(async () => {
    const body = await portfolio();
    return body.holdings?.length === 3 && body.totals.totalValue !== null && body.holdings.every((h) => h.marketValueBase !== null) ? true : undefined;
  }, 60_000, 'three holdings synced and valued');
  browser = await launchChromium();
  await mkdir(SHOTS, { recursive: true });
});

afterAll(async () => {
  await browser?.close();
  await engine?.stop();
});

describe('the value chart and the allocation panel', () => {
  it("draws the API's points, divides the portfolio four ways, and follows a price tick", async () => {
    const { page, problems } = await openDashboard(browser, engine.url, await engine.token(USER), { width: 1366, height: 900 });
    await page.locator('[data-testid="connection"]', { hasText: 'live' }).waitFor();

    // Allocation by asset class (the default): the parts, with their shares, sum to the total value.
    const allocation = page.getByTestId('allocation');
    const total = (await portfolio()).totals.totalValue!;
    await page.locator(`[data-testid="allocation"][data-total="${total}"]`).waitFor();
    const keys = () => allocation.locator('tbody tr[data-part]').evaluateAll((rows) => rows.map((r) => (r as HTMLElement).dataset.part).sort());
    expect(await keys()).toEqual(['cash', 'equity', 'etf']);
    expect(await allocation.locator('tr[data-part="etf"]').textContent()).toMatch(/ETFs\d+\.\d%\$1,382\.00/);
    const byDimension: Record<string, string[]> = {};
    for (const dimension of ['account', 'currency', 'security']) {
      await page.click(`[data-testid="allocation"] button[data-dimension="${dimension}"]`);
      await page.locator(`[data-testid="allocation"][data-dimension="${dimension}"]`).waitFor();
      expect(await allocation.getAttribute('data-total')).toBe(total);
      byDimension[dimension] = await allocation.locator('tbody tr[data-part] td.part-label').allTextContents();
    }
    // Each account with its holdings and its own cash.
    expect(byDimension.account?.sort()).toEqual(['Questrade · Margin', 'Questrade · TFSA']);
    expect(byDimension.currency?.sort()).toEqual(['CAD', 'Cash (all currencies)', 'USD']);
    expect(byDimension.security?.map((label) => label.split(' · ')[0]).sort()).toEqual(['Cash', 'MSFT', 'SHOP', 'VTI']);
    await page.click('[data-testid="allocation"] button[data-dimension="assetClass"]');

    // A price tick moves the stocks' part and the total, without a reload.
    const stocks = allocation.locator('tr[data-part="equity"]');
    const before = (await stocks.getAttribute('data-value'))!;
    engine.sandbox.priceBook.setPrice('MSFT', 456.72);
    const after = str(add(dec(before), dec('332.16')));
    await page.locator(`[data-testid="allocation"] tr[data-part="equity"][data-value="${after}"]`).waitFor();
    await eventually(async () => ((await portfolio()).totals.totalValue === (await allocation.getAttribute('data-total')) ? true : undefined), 30_000, 'the page total equal to the API total after the tick');

    // The chart: once the open page has had an intraday point stored, 1W holds exactly the
    // points the API answered the page (and the live one), drawn on the library's canvas.
    await eventually(async () => {
      const { body } = await engine.api<{ points: unknown[] }>(USER, 'GET', '/api/portfolio/history?range=1W');
      return body.points.length > 0 ? true : undefined;
    }, 30_000, 'a stored intraday point');
    await awayFromTheMinute();
    const [response] = await Promise.all([
      page.waitForResponse((r) => r.url().endsWith('/api/portfolio/history?range=1W')),
      page.click('[data-testid="history"] button[data-range="1W"]'),
    ]);
    const answer = (await response.json()) as { points: { at: string; totalValue: string }[]; live: { at: string; totalValue: string } };
    // The chart takes one point a second (the library needs distinct times).
    const expected = new Set([...answer.points, answer.live].map((p) => Math.floor(Date.parse(p.at) / 1000))).size;
    expect(expected).toBeGreaterThanOrEqual(2);
    const chart = page.getByTestId('history-chart');
    await page.locator(`[data-testid="history-chart"][data-points="${expected}"]`).waitFor();
    await page.locator('[data-testid="history-caption"]', { hasText: `1W · ${expected} points` }).waitFor();
    expect(await chart.locator('canvas').count()).toBeGreaterThan(0);

    // The line ends at the total now: a tick moves it (and the caption) before any point is stored.
    const shown = (await allocation.getAttribute('data-total'))!;
    engine.sandbox.priceBook.setPrice('MSFT', 470.05);
    const moved = await eventually(async () => {
      const now = (await portfolio()).totals.totalValue!;
      return now !== shown && now === (await allocation.getAttribute('data-total')) ? now : undefined;
    }, 30_000, 'the second tick in the totals');
    const dollars = new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD' }).format(Number(moved));
    await page.locator('[data-testid="history-caption"]', { hasText: dollars }).waitFor();
    await page.screenshot({ path: `${SHOTS}/chart-and-allocation-1366.png`, fullPage: true });

    // 390 wide: the chart and the allocation fit the page (nothing to scroll sideways in them).
    await page.setViewportSize({ width: 390, height: 844 });
    await page.locator('[data-testid="history-chart"] canvas').first().waitFor();
    for (const testId of ['history', 'allocation']) {
      const box = await page.getByTestId(testId).evaluate((section) => ({ right: section.getBoundingClientRect().right, scroll: section.scrollWidth, client: section.clientWidth }));
      expect(box.right, testId).toBeLessThanOrEqual(390);
      expect(box.scroll, testId).toBeLessThanOrEqual(box.client);
    }
    await page.screenshot({ path: `${SHOTS}/chart-and-allocation-390.png`, fullPage: true });
    await page.getByTestId('history').screenshot({ path: `${SHOTS}/value-chart-390.png` });
    await page.getByTestId('allocation').screenshot({ path: `${SHOTS}/allocation-390.png` });
    expect(problems).toEqual([]);
  });
});
