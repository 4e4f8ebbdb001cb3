import { mkdirSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestEngine, type TestEngine } from '../support/engine.ts';
import { accountsOf } from '../support/orders.ts';
import { connectSamplePortfolio } from '../support/sample-portfolio.ts';
import { dashboardSettled, launchChromium, openDashboard, openPage } from '../support/browser.ts';
import { axeViolations } from '../support/axe.ts';

/**
 * Accessibility in headless Chromium against the whole engine: axe-core (WCAG 2.1 A and AA, and
 * the page's landmarks and heading order) finds nothing on the sign-in page, the dashboard's
 * Holdings and Accounts tabs, the trade ticket showing a refusal, the base-currency menu in use
 * and the disconnect question, at 1366 and at 360 px wide, where the page never scrolls sideways.
 * And by keyboard alone: Tab reaches the tabs (every stop on the way shows its focus), the arrow
 * keys switch them, the trade ticket is filled and previewed with Enter, and Escape closes the
 * symbol suggestions and the disconnect question. Screenshots go to /tmp/foliostream-screenshots.
 */
const USER = 'browser-a11y';
const SHOTS = '/tmp/foliostream-screenshots';
const WIDTHS = [1366, 360] as const;

let engine: TestEngine;
let browser: Browser;

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  engine = await startTestEngine({ env: { AUTH_DEV_SIGN_IN: 'true' } });
  // Holdings at a SnapTrade brokerage (the holdings test's setup), and an Alpaca account to trade in.
  await connectSamplePortfolio(engine, USER);
  const alpaca = await engine.sandbox.control.alpacaCreateAccount({ cash: 100_000 });
  expect((await engine.api(USER, 'POST', '/api/alpaca/accounts', { keyId: alpaca.keyId, secretKey: alpaca.secretKey })).status).toBe(201);
  await engine.sandbox.control.setPrices({ symbol: 'MSFT', price: 100 });
  await accountsOf(engine, USER, 3);
  browser = await launchChromium();
}, 90_000);

afterAll(async () => {
  await browser?.close();
  await engine?.stop();
});

/** The dashboard with everything it fetches in place (so axe sees the page a person settles on). */
async function openSettledDashboard(width: number): Promise<{ page: Page; problems: string[] }> {
  const opened = await openDashboard(browser, engine.url, await engine.token(USER), {
    width,
    height: 900,
    // The browser logs the refused order's answer (400), which the ticket then says in words.
    consoleErrors: { ignore: /status of 400/ },
  });
  const { page } = opened;
  // Flashes fade a cell's background over a second: axe would measure contrast mid-fade.
  await page.emulateMedia({ reducedMotion: 'reduce' });
  await dashboardSettled(page, 'SHOP');
  return opened;
}

/** axe finds nothing, and the page is no wider than the window; a full-page screenshot as `name`. */
async function checkView(page: Page, name: string, width: number): Promise<void> {
  expect(await axeViolations(page), `${name} at ${width} px`).toEqual([]);
  expect(await page.evaluate(() => document.documentElement.scrollWidth), `${name} at ${width} px is no wider than the window`).toBeLessThanOrEqual(width);
  // Nor does any panel scroll sideways inside: only the tables meant to (in their named, focusable boxes).
  const scrolling = await page.evaluate(() =>
    Array.from(document.querySelectorAll<HTMLElement>('main section'))
      .filter((section) => section.scrollWidth > section.clientWidth)
      .map((section) => section.dataset.testid ?? section.getAttribute('aria-labelledby') ?? section.querySelector('h2')?.textContent ?? section.id),
  );
  expect(scrolling, `${name} at ${width} px: panels scrolling sideways`).toEqual([]);
  const path = `${SHOTS}/a11y-${name}-${width}.png`;
  await page.screenshot({ path, fullPage: true });
  console.log(`screenshot: ${path}`);
}

describe('every view passes axe and works by keyboard', () => {
  it('has no axe violations on the sign-in page, both tabs, a refused ticket, the currency menu and the disconnect question, at 1366 and 360 px', async () => {
    for (const width of WIDTHS) {
      const signIn = await openPage(browser, `${engine.url}/signin`, { width, height: 900, consoleErrors: {} });
      await signIn.page.locator('[data-testid="sign-in-users"] li').first().waitFor();
      await checkView(signIn.page, 'sign-in', width);
      expect(signIn.problems).toEqual([]);
      await signIn.page.close();

      const { page, problems } = await openSettledDashboard(width);
      await checkView(page, 'holdings', width);
      await page.getByTestId('tab-accounts').click();
      await page.locator('tr.account').first().waitFor();
      await checkView(page, 'accounts', width);
      await page.getByTestId('tab-holdings').click();

      // The ticket refusing an order without a quantity, in words.
      await page.fill('input[name="symbol"]', 'MSFT');
      await page.locator('[data-testid="symbol-suggestions"] button[data-symbol="MSFT"]').waitFor();
      await page.click('[data-testid="place"]');
      await page.locator('[data-testid="ticket-result"].error', { hasText: 'quantity' }).waitFor();
      await checkView(page, 'ticket-refused', width);

      // The base-currency menu in use (focused, as a person choosing), and the disconnect question open.
      await page.getByTestId('base-currency').focus();
      await checkView(page, 'settings', width);
      await page.getByTestId('disconnect').first().click();
      await page.locator('[role="alertdialog"]').waitFor();
      await checkView(page, 'disconnect-question', width);
      expect(problems).toEqual([]);
      await page.close();
    }
  }, 300_000);

  it('reaches the tabs by Tab with focus always visible, switches them with the arrows, previews an order with Enter, and closes what Escape should close', async () => {
    const { page, problems } = await openSettledDashboard(1366);
    const focusless: string[] = [];
    /** Presses Tab until the focus is on `selector`, noting every stop on the way whose focus does not show. */
    const tabTo = async (selector: string) => {
      for (let presses = 0; presses < 150; presses++) {
        await page.keyboard.press('Tab');
        const stop = await page.evaluate((wanted) => {
          const at = document.activeElement as HTMLElement | null;
          if (!at || at === document.body) return { here: false, what: 'body', shows: true };
          const style = getComputedStyle(at);
          const what = `${at.tagName.toLowerCase()}${at.dataset.testid ? `[data-testid=${at.dataset.testid}]` : ''} "${(at.getAttribute('aria-label') ?? at.textContent ?? '').trim().slice(0, 30)}"`;
          return { here: at.matches(wanted), what, shows: style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0 };
        }, selector);
        if (!stop.shows) focusless.push(stop.what);
        if (stop.here) return;
      }
      throw new Error(`Tab never reached ${selector}`);
    };
    const focused = () => page.evaluate(() => (document.activeElement as HTMLElement | null)?.dataset.testid ?? document.activeElement?.getAttribute('name') ?? null);

    // The tabs: Tab reaches the selected one, the arrows move the selection and the focus.
    await tabTo('[role="tab"][aria-selected="true"]');
    expect(await focused()).toBe('tab-holdings');
    await page.keyboard.press('ArrowRight');
    expect(await focused()).toBe('tab-accounts');
    expect(await page.getByTestId('tab-accounts').getAttribute('aria-selected')).toBe('true');
    expect(await page.locator('#panel-accounts').isVisible()).toBe(true);
    await page.keyboard.press('ArrowLeft');
    expect(await focused()).toBe('tab-holdings');
    expect(await page.locator('#panel-holdings').isVisible()).toBe(true);

    // The ticket: typed into, suggestions closed with Escape, previewed with Enter.
    await tabTo('input[name="symbol"]');
    await page.keyboard.type('MSF');
    await page.locator('[data-testid="symbol-suggestions"] button[data-symbol="MSFT"]').waitFor();
    await page.keyboard.press('Escape');
    expect(await page.locator('[data-testid="symbol-suggestions"] li').count()).toBe(0);
    expect(await focused()).toBe('symbol');
    await page.keyboard.type('T');
    await tabTo('input[name="quantity"]');
    await page.keyboard.type('2');
    await page.keyboard.press('Enter');
    await page.locator('[data-testid="ticket-result"].ok', { hasText: 'Routed to' }).waitFor();
    expect(await page.locator('[data-testid="ticket-result"]').textContent()).toMatch(/Estimated cost/);
    // Enter previewed: nothing was placed.
    expect(await page.locator('[data-testid="orders"] tr[data-order-id]').count()).toBe(0);

    // The disconnect question: opened with Enter, closed with Escape, the focus back on its button.
    await page.getByTestId('disconnect').first().focus();
    await page.keyboard.press('Enter');
    await page.locator('[role="alertdialog"]').waitFor();
    expect(await focused()).toBe('confirm-disconnect');
    await page.keyboard.press('Escape');
    expect(await page.locator('[role="alertdialog"]').count()).toBe(0);
    expect(await focused()).toBe('disconnect');

    expect(focusless).toEqual([]);
    await page.screenshot({ path: `${SHOTS}/a11y-keyboard-preview-1366.png`, fullPage: true });
    console.log(`screenshot: ${SHOTS}/a11y-keyboard-preview-1366.png`);
    expect(problems).toEqual([]);
    await page.close();
  }, 180_000);
});
