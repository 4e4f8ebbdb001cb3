import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HistoryJobs, marketDay } from '../../src/history/daily-close-jobs.ts';
import type { HoldingView } from '../../src/realtime/events.ts';
import { eventually, startTestEngine, type TestEngine } from '../support/engine.ts';
import { launchChromium, openDashboard } from '../support/browser.ts';
import { singleRedis } from '../../src/runtime/redis-client.ts';

/**
 * The returns panel in headless Chromium against the whole engine: on the chart's default range
 * (1M, no daily close yet) it says in words why there is no return; when the chart switches to 1D,
 * where the open page has had intraday points taken, the panel follows and shows the returns of
 * that range (prices have not moved: 0 %); after yesterday's close, back on 1M, a price move makes
 * the panel ask again when the next point is pushed.
 */
const USER = 'browser-returns-panel';
let engine: TestEngine;
let browser: Browser;

beforeAll(async () => {
  engine = await startTestEngine({ env: { HISTORY_INTRADAY_EVERY_MS: '1000' } });
  expect((await engine.api(USER, 'POST', '/api/snaptrade/connection-url', {})).status).toBe(200);
  await engine.sandbox.control.connect(USER, {
    brokerage: 'QUESTRADE',
    accounts: [{ name: 'Margin', currency: 'USD', cash: { USD: 500 }, positions: [{ symbol: 'MSFT', units: 8, averageCost: 300 }] }],
  });
  await eventually(async () => {
    const { body } = await engine.api<{ holdings: HoldingView[] }>(USER, 'GET', '/api/portfolio');
    return body.holdings?.some((h) => h.symbol === 'MSFT' && h.price !== null) ? true : undefined;
  }, 60_000, 'MSFT synced and priced');
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await engine?.stop();
});

describe('the returns panel', () => {
  it("says why a range has no return, and follows the chart's range", async () => {
    const { page, problems } = await openDashboard(browser, engine.url, await engine.token(USER));
    await page.locator('[data-testid="connection"]', { hasText: 'live' }).waitFor();

    const marks = page.getByTestId('returns-marks');
    await page.locator('[data-testid="returns-marks"] li[data-mark="fewer-than-two-points"]').waitFor();
    expect(await marks.textContent()).toContain('Fewer than two values are recorded in this range');
    expect(await page.getByTestId('returns-twr').textContent()).toBe('—');
    expect(await page.getByTestId('returns-caption').textContent()).toMatch(/^1M: /);

    await eventually(async () => {
      const { body } = await engine.api<{ points: unknown[] }>(USER, 'GET', '/api/portfolio/history?range=1D');
      return body.points.length > 0 ? true : undefined;
    }, 30_000, 'a stored intraday point');
    await page.click('[data-testid="history"] button[data-range="1D"]');
    await page.locator('[data-testid="returns-caption"]', { hasText: /^1D: .* on .* to .* now$/ }).waitFor();
    expect(await page.getByTestId('returns-twr').textContent()).toBe('0.00%');
    expect(await page.getByTestId('returns-simple').textContent()).toBe('0.00%');
    expect(await page.locator('[data-testid="returns-marks"] li[data-mark="fewer-than-two-points"]').count()).toBe(0);

    // Yesterday's close (a fixed start: the current minute's intraday point moves with the value),
    // then 1M again, then MSFT up 10 %: the next pushed intraday point makes the panel ask again.
    // 1M runs from the close, 8 × 415.20 + 500 = 3,821.60, to 8 × 456.72 + 500 = 4,153.76 now.
    const jobs = new HistoryJobs({ redisTarget: singleRedis(engine.redis.url), prefix: `{${engine.namespace}-bull}`, db: engine.app.ctx.db, redis: engine.redis.client, keys: engine.app.ctx.keys, log: engine.app.ctx.log });
    const day = marketDay(new Date(Date.now() - 86_400_000));
    try {
      await jobs.runDailyClose(day);
      await eventually(async () => ((await engine.app.ctx.db('portfolio_daily_closes').where({ user_id: USER, day }).first('day')) ? true : undefined), 30_000, `the close of ${day}`);
    } finally {
      await jobs.close();
    }
    await page.click('[data-testid="history"] button[data-range="1M"]');
    await page.locator('[data-testid="returns-caption"]', { hasText: /^1M: .* on .* to .* now$/ }).waitFor();
    expect(await page.getByTestId('returns-twr').textContent()).toBe('0.00%');
    engine.sandbox.priceBook.setPrice('MSFT', 456.72);
    await page.locator('[data-testid="returns-twr"]', { hasText: '+8.69%' }).waitFor();
    expect(await page.getByTestId('returns-simple').textContent()).toBe('+8.69%');
    await page.screenshot({ path: '/tmp/returns-panel.png', fullPage: true });
    expect(problems).toEqual([]);
  });
});
