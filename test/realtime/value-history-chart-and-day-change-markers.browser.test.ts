import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HoldingView } from '../../src/realtime/events.ts';
import { eventually, startTestEngine, type TestEngine } from '../support/engine.ts';
import { awayFromTheMinute, launchChromium, openDashboard } from '../support/browser.ts';

/**
 * The dashboard in headless Chromium against the whole engine: a holding without a day change
 * (a Toronto listing: no market data, so no previous close) says why in its row, the header says
 * how many holdings the day change covers, and the value-history chart (lightweight-charts, on a
 * canvas) draws the intraday points of the open page (pushed as `portfolio:history`) on 1D.
 */
const USER = 'browser-value-history';
let engine: TestEngine;
let browser: Browser;

beforeAll(async () => {
  engine = await startTestEngine({ env: { HISTORY_INTRADAY_EVERY_MS: '1000' } });
  expect((await engine.api(USER, 'POST', '/api/snaptrade/connection-url', {})).status).toBe(200);
  await engine.sandbox.control.connect(USER, {
    brokerage: 'QUESTRADE',
    accounts: [
      { name: 'TFSA', currency: 'CAD', positions: [{ symbol: 'SHOP.TO', units: 20 }] },
      { name: 'Margin', currency: 'USD', positions: [{ symbol: 'MSFT', units: 8, averageCost: 300 }] },
    ],
  });
  await eventually(async () => {
    const { body } = await engine.api<{ holdings: HoldingView[] }>(USER, 'GET', '/api/portfolio');
    return body.holdings?.length === 2 && body.holdings.some((h) => h.symbol === 'MSFT' && h.dayChange !== null) ? true : undefined;
  }, 60_000, 'both holdings synced, MSFT with a day change');
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await engine?.stop();
});

describe('the value history and day change on the dashboard', () => {
  it('marks the holding without a day change, counts it, and draws the intraday points', async () => {
    const { page, problems } = await openDashboard(browser, engine.url, await engine.token(USER));
    await page.locator('[data-testid="connection"]', { hasText: 'live' }).waitFor();

    const shop = page.locator('tr.holding[data-symbol="SHOP"]');
    await shop.waitFor();
    expect(await shop.textContent()).toContain('no prev. close');
    expect(await page.locator('tr.holding[data-symbol="MSFT"]').textContent()).not.toContain('no prev. close');
    expect(await page.getByTestId('meta').textContent()).toContain('day change covers 1 of 2 holdings');

    // The page is watched, so a point is taken each second: wait until one is stored, then 1D
    // draws it and the live point (two or more points).
    await eventually(async () => {
      const { body } = await engine.api<{ points: unknown[] }>(USER, 'GET', '/api/portfolio/history?range=1D');
      return body.points.length > 0 ? true : undefined;
    }, 30_000, 'a stored intraday point');
    await awayFromTheMinute();
    await page.click('[data-testid="history"] button[data-range="1D"]');
    await page.locator('[data-testid="history-caption"]', { hasText: /1D · [2-9]\d* points/ }).waitFor({ timeout: 30_000 });
    // The chart library drew them on its canvas: its series holds two points or more.
    const chart = page.getByTestId('history-chart');
    expect(await chart.locator('canvas').count()).toBeGreaterThan(0);
    expect(Number(await chart.getAttribute('data-points'))).toBeGreaterThanOrEqual(2);
    await page.screenshot({ path: '/tmp/history-dashboard.png', fullPage: true });
    expect(problems).toEqual([]);
  });
});
