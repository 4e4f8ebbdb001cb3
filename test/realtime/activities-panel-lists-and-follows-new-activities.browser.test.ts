import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestEngine, type TestEngine } from '../support/engine.ts';
import { launchChromium, openDashboard } from '../support/browser.ts';
import { KO_DIVIDEND } from '../support/activities.ts';

/**
 * The Activities panel in headless Chromium against the whole engine and the sandbox: a user
 * without a brokerage reads in words that there are no activities yet and what will appear; once
 * a brokerage is connected its history (the buy, the deposit, the fee) arrives without a reload,
 * and a dividend the brokerage then pays appears on top, with its amount in its currency.
 */
const USER = 'browser-activities-panel';
let engine: TestEngine;
let browser: Browser;

beforeAll(async () => {
  engine = await startTestEngine({ env: { SYNC_DEBOUNCE_MS: '100' } });
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await engine?.stop();
});

describe('the activities panel', () => {
  it('says there are none yet, then follows the connected account and a new dividend live', async () => {
    const { page, problems } = await openDashboard(browser, engine.url, await engine.token(USER));
    await page.locator('[data-testid="activities-status"]', { hasText: 'No activities yet' }).waitFor();
    expect(await page.getByTestId('activities-status').textContent()).toContain('appear here once a brokerage reports them');
    expect(await page.getByTestId('activities').isHidden()).toBe(true);

    expect((await engine.api(USER, 'POST', '/api/snaptrade/connection-url', {})).status).toBe(200);
    const auth = await engine.sandbox.control.connect(USER, {
      brokerage: 'QUESTRADE',
      accounts: [{ name: 'Margin', currency: 'USD', cash: { USD: 1000 }, positions: [{ symbol: 'KO', units: 40, averageCost: 60 }] }],
    });
    // No reload: the history arrives as activities:update.
    await page.locator('tr.activity[data-type="buy"]').waitFor();
    await page.locator('tr.activity[data-type="fee"]').waitFor();
    expect(await page.locator('tr.activity[data-type="buy"] td').allTextContents()).toEqual([
      expect.any(String),
      'Buy',
      'KO',
      '40',
      '-$2,400.00',
    ]);

    await engine.sandbox.control.recordActivity(auth.accounts[0]!.id, KO_DIVIDEND);
    const first = page.locator('tr.activity').first();
    await page.locator('tr.activity[data-type="dividend"]', { hasText: '$20.40' }).first().waitFor();
    expect(await first.getAttribute('data-type')).toBe('dividend');
    expect(await first.getAttribute('title')).toBe('KO CASH DIV ON 40 SHS (DIVIDEND)');
    expect(await page.getByTestId('activities-status').textContent()).toMatch(/latest activities across your accounts/);
    expect(problems).toEqual([]);
    await page.close();
  });
});
