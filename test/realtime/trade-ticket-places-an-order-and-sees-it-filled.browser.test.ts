import { mkdirSync } from 'node:fs';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestEngine, type TestEngine } from '../support/engine.ts';
import { launchChromium, openDashboard } from '../support/browser.ts';
import { accountsOf } from '../support/orders.ts';

/**
 * The dashboard's trade ticket in headless Chromium, against the whole engine and the sandbox:
 * an order the ticket cannot place says why in words; a preview says where routing sends the
 * order and why; a limit order placed from the ticket appears in the orders panel as open, and
 * when the price crosses its limit at Alpaca its status on the page turns to filled, pushed
 * (`order:update`), with no reload. The orders panel as a person reads it: a sentence while there
 * are none, each order in words with its prices as money, Cancel only on an open order, a refused
 * cancel said in words, and the panel fitting a 360 px phone. Screenshots go to
 * /tmp/foliostream-screenshots.
 */
const USER = 'browser-trade-ticket';
const SHOTS = '/tmp/foliostream-screenshots';
let engine: TestEngine;
let browser: Browser;

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
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
    // No orders yet: a sentence says what will appear, instead of an empty table.
    await page.locator('[data-testid="orders-panel"][data-ready="1"]').waitFor();
    expect(await page.getByTestId('orders-status').textContent()).toMatch(/^No orders yet\. Orders you place with the ticket above appear here/);
    expect(await page.getByTestId('orders').isVisible()).toBe(false);

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
    expect(await page.locator('[data-testid="ticket-result"]').textContent()).toMatch(/Estimated cost \$180\.00, commissions \$0\.00/);

    await page.click('[data-testid="place"]');
    const row = page.locator('[data-testid="orders"] tr[data-order-id]');
    await row.locator('td[data-status="accepted"]').waitFor();
    expect(await row.count()).toBe(1);
    expect(await page.getByTestId('orders-status').isVisible()).toBe(false);
    // The order in words, its price as money, its status a word, Cancel while it is open.
    expect(await row.locator('[data-field="order"] .main').textContent()).toBe('Buy 2 MSFT');
    expect(await row.locator('[data-field="order"] .sub').textContent()).toBe('Limit $90.00 · good till canceled');
    expect(await row.locator('[data-field="status"]').textContent()).toBe('OpenNone filled');
    expect(await row.locator('[data-field="placed"] .sub').textContent()).toBe('at Alpaca');
    expect(await row.getByRole('button', { name: 'Cancel order: Buy 2 MSFT' }).isVisible()).toBe(true);

    // The market moves through the limit: Alpaca fills it, the page hears it; a filled order has no Cancel.
    await engine.sandbox.control.setPrices({ symbol: 'MSFT', price: 85 });
    await row.locator('td[data-status="filled"]').waitFor();
    expect(await row.locator('[data-field="status"] .main').textContent()).toBe('Filled');
    expect(await row.locator('[data-field="status"] .sub').textContent()).toMatch(/^2 of 2 filled at \$\d+\.\d{2}$/);
    expect(await row.getByTestId('cancel-order').count()).toBe(0);
    expect(problems).toEqual([]);
    await page.close();
  });

  it('says a refused cancel in words, cancels an open order, and fits a 360 px phone', async () => {
    const { page, problems } = await openDashboard(browser, engine.url, await engine.token(USER), { width: 360, height: 740 });
    await page.locator('[data-testid="ticket"][data-ready="1"]').waitFor();
    await page.locator('[data-testid="orders-panel"][data-ready="1"]').waitFor();
    // An order far below the market, so it stays open.
    await page.fill('input[name="symbol"]', 'MSFT');
    await page.fill('input[name="quantity"]', '1');
    await page.selectOption('select[name="type"]', 'limit');
    await page.fill('input[name="limitPrice"]', '1');
    await page.selectOption('select[name="timeInForce"]', 'gtc');
    await page.click('[data-testid="place"]');
    await page.locator('[data-testid="ticket-result"].ok', { hasText: 'Order placed: Buy 1 MSFT.' }).waitFor();
    const open = page.locator('[data-testid="orders"] tr[data-order-id]', { has: page.locator('td[data-status="accepted"]') });
    await open.waitFor();
    expect(await open.locator('[data-field="order"]').textContent()).toBe('Buy 1 MSFTLimit $1.00 · good till canceled');

    // Alpaca refuses the cancel: the panel says so in words, naming the order; it stays open with its Cancel.
    const row = page.locator(`[data-testid="orders"] tr[data-order-id="${await open.getAttribute('data-order-id')}"]`);
    const cancel = row.getByRole('button', { name: 'Cancel order: Buy 1 MSFT' });
    try {
      await engine.sandbox.control.alpacaSetFaults({ probability: 1, statuses: [422], pathPrefixes: ['/v2/orders/'] });
      await cancel.click();
      await page.locator('[data-testid="orders-problem"]', { hasText: 'Buy 1 MSFT was not canceled: Alpaca cannot cancel it' }).waitFor();
    } finally {
      await engine.sandbox.control.alpacaClearFaults();
    }
    expect(await row.locator('td[data-status="accepted"]').count()).toBe(1);
    await expect.poll(() => cancel.isEnabled()).toBe(true);
    // With a Cancel in its last column the table still fits the phone's width (nothing to scroll inside).
    const ordersFit = () => page.getByTestId('orders-panel').evaluate((panel) => panel.scrollWidth <= panel.clientWidth);
    expect(await ordersFit()).toBe(true);
    await page.screenshot({ path: `${SHOTS}/orders-cancel-refused-360.png`, fullPage: true });

    // Asked again, Alpaca cancels it: Canceled, and no Cancel any more.
    await cancel.click();
    await row.locator('td[data-status="canceled"]').waitFor();
    expect(await row.locator('[data-field="status"] .main').textContent()).toBe('Canceled');
    expect(await row.getByTestId('cancel-order').count()).toBe(0);

    // At 360 px the page does not scroll sideways, and the orders table fits its panel (nothing to scroll inside).
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(360);
    expect(await ordersFit()).toBe(true);
    await page.getByTestId('orders-panel').screenshot({ path: `${SHOTS}/orders-panel-360.png` });
    await page.screenshot({ path: `${SHOTS}/orders-360.png`, fullPage: true });
    for (const name of ['orders-cancel-refused-360', 'orders-panel-360', 'orders-360']) console.log(`screenshot: ${SHOTS}/${name}.png`);
    expect(problems).toEqual([]);
    await page.close();
  });
});
