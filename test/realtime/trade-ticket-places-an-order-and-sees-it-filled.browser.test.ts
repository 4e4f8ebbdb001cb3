import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestEngine, type TestEngine } from '../support/engine.ts';
import { launchChromium, openDashboard } from '../support/browser.ts';
import { accountsOf } from '../support/orders.ts';

/**
 * The dashboard's trade ticket in headless Chromium, against the whole engine and the sandbox:
 * an order the ticket cannot place says why in words; a preview says where routing sends the
 * order and why; a limit order placed from the ticket appears in the orders panel as accepted,
 * and when the price crosses its limit at Alpaca its status on the page turns to filled, pushed
 * (`order:update`), with no reload.
 */
const USER = 'browser-trade-ticket';
let engine: TestEngine;
let browser: Browser;

beforeAll(async () => {
  engine = await startTestEngine({ env: { ALPACA_LINK_REFRESH_MS: '300' } });
  const account = await engine.sandbox.control.alpacaCreateAccount({ cash: 100_000 });
  expect((await engine.api(USER, 'POST', '/api/alpaca/accounts', { keyId: account.keyId, secretKey: account.secretKey })).status).toBe(201);
  await accountsOf(engine, USER, 1);
  await engine.sandbox.control.setPrices({ symbol: 'MSFT', price: 100 });
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await engine?.stop();
});

describe('the trade ticket in a browser', () => {
  it('picks a symbol from the search, previews, places a limit order, and shows it filled when the price crosses the limit', async () => {
    const { page, problems } = await openDashboard(browser, engine.url, await engine.token(USER));
    await page.locator('[data-testid="ticket"][data-ready="1"]').waitFor();
    await page.locator('[data-testid="connection"]', { hasText: 'live' }).waitFor();

    // The symbol comes from the search: typing suggests what the account's brokerage trades.
    await page.fill('input[name="symbol"]', 'msf');
    await page.click('[data-testid="symbol-suggestions"] button[data-symbol="MSFT"]');
    expect(await page.inputValue('input[name="symbol"]')).toBe('MSFT');
    expect(await page.locator('[data-testid="symbol-suggestions"] li').count()).toBe(0);
    const refused = await engine.api<{ error: { code: string; message: string } }>(USER, 'GET', '/api/securities/search?query=');
    expect(refused.status).toBe(400);
    expect(refused.body.error.message).toMatch(/query/);

    // Refused in words: no quantity.
    await page.click('[data-testid="place"]');
    await page.locator('[data-testid="ticket-result"].error', { hasText: 'quantity' }).waitFor();

    await page.fill('input[name="quantity"]', '2');
    await page.selectOption('select[name="type"]', 'limit');
    await page.fill('input[name="limitPrice"]', '90');
    await page.selectOption('select[name="timeInForce"]', 'gtc');
    await page.click('[data-testid="preview"]');
    await page.locator('[data-testid="ticket-result"].ok', { hasText: 'internal-default' }).waitFor();
    expect(await page.locator('[data-testid="ticket-result"]').textContent()).toMatch(/Estimated cost 180\.00 USD/);

    await page.click('[data-testid="place"]');
    const row = page.locator('[data-testid="orders"] tr[data-order-id]');
    await row.locator('td[data-status="accepted"]').waitFor();
    expect(await row.count()).toBe(1);
    expect(await row.locator('td').first().textContent()).toBe('MSFT');

    // The market moves through the limit: Alpaca fills it, the page hears it.
    await engine.sandbox.control.setPrices({ symbol: 'MSFT', price: 85 });
    await row.locator('td[data-status="filled"]').waitFor();
    expect(await row.locator('td').nth(4).textContent()).toBe('2');
    expect(problems).toEqual([]);
    await page.close();
  });
});
