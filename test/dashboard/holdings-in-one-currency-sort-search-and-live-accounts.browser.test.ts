import { mkdirSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ControlAuthorization } from '../../sandbox/control-api-types.ts';
import type { AccountSummary, HoldingView } from '../../src/realtime/events.ts';
import { addScaled, formatScaled, parseScaled } from '../../src/portfolio/scaled-decimal.ts';
import { eventually, startTestEngine, type TestEngine } from '../support/engine.ts';
import { launchChromium, openDashboard } from '../support/browser.ts';
import { connectSamplePortfolio } from '../support/sample-portfolio.ts';

/**
 * The holdings table and the Accounts view in headless Chromium against the whole engine: a CAD
 * listing (SHOP on the TSX) in a USD portfolio shows value, P/L and day change in USD with its CAD
 * price beside them and its price marked stale with its time; a tick moves MSFT's row in place
 * (the table's columns and rows do not move); the headers sort (by click and by keyboard, with
 * aria-sort) and the search box filters by symbol or name; the Accounts tab shows each account's
 * value, cash and holdings, and a cash change at the brokerage reaches it after the sync without a
 * reload. Screenshots at 1366 and 390 px wide go to /tmp/foliostream-screenshots.
 */
const USER = 'browser-holdings-accounts';
const SHOTS = '/tmp/foliostream-screenshots';
const usd = new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD', minimumFractionDigits: 2, maximumFractionDigits: 2 });
const dollars = (value: string | null) => (value === null ? '—' : usd.format(Number(value)));

let engine: TestEngine;
let browser: Browser;
let questrade: ControlAuthorization;

interface Portfolio {
  holdings: HoldingView[];
  accounts: AccountSummary[];
}
const portfolio = async () => (await engine.api<Portfolio>(USER, 'GET', '/api/portfolio')).body;

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  engine = await startTestEngine();
  questrade = await connectSamplePortfolio(engine, USER);
  browser = await launchChromium();
}, 90_000);

afterAll(async () => {
  await browser?.close();
  await engine?.stop();
});

const row = (page: Page, symbol: string) => page.locator(`tr.holding[data-symbol="${symbol}"]`);
const cell = (page: Page, symbol: string, field: string) => row(page, symbol).locator(`[data-field="${field}"]`);
const visibleSymbols = (page: Page) => page.locator('tr.holding:not([hidden])').evaluateAll((rows) => rows.map((r) => (r as HTMLElement).dataset.symbol));

/** Every header cell's and every row's box: what must not move when a price ticks. */
const tableGeometry = (page: Page) =>
  page.locator('[data-testid="holdings"] th, [data-testid="holdings"] tr.holding').evaluateAll((nodes) =>
    nodes.map((n) => {
      const r = n.getBoundingClientRect();
      return [r.x, r.y, r.width, r.height].map((v) => Math.round(v * 10) / 10).join(',');
    }),
  );

describe('holdings in one currency, sorted and searched, and accounts that follow a sync', () => {
  it('shows a CAD holding in USD with its CAD price, moves a ticked row in place, sorts, searches, and updates the accounts live', async () => {
    const { page, problems } = await openDashboard(browser, engine.url, await engine.token(USER), { width: 1366, height: 900, consoleErrors: {} });
    await page.locator('[data-testid="connection"]', { hasText: 'live' }).waitFor();
    await row(page, 'SHOP').waitFor();
    const before = await portfolio();
    const shop = before.holdings.find((h) => h.symbol === 'SHOP')!;
    expect(shop.currency).toBe('CAD');

    // Value and P/L in USD (the server's base-currency figures), the CAD price beside the USD one.
    expect(await cell(page, 'SHOP', 'value').textContent()).toBe(dollars(shop.marketValueBase));
    expect(await cell(page, 'SHOP', 'pl').locator('.main').textContent()).toBe(dollars(shop.unrealizedPlBase));
    expect(shop.unrealizedPlBase).not.toBe(shop.unrealizedPl);
    expect(await cell(page, 'SHOP', 'price').locator('.listing').textContent()).toBe(`CAD ${Number(shop.price).toFixed(2)}`);
    expect(await cell(page, 'SHOP', 'price').locator('.main').textContent()).toBe(usd.format(Number(shop.marketValueBase) / Number(shop.quantity)));
    // A Toronto listing has no live feed: the brokerage's price, called stale, with its time.
    expect(await cell(page, 'SHOP', 'fresh').getAttribute('data-freshness')).toBe('stale');
    expect(await cell(page, 'SHOP', 'fresh').textContent()).toMatch(/^stale · \d{1,2}:\d{2}/);
    // Nothing on the row is in CAD but the listing price.
    expect((await row(page, 'SHOP').textContent())!.replace(/CAD \d+\.\d+/, '')).not.toMatch(/CAD|CA\$/);

    // A tick moves MSFT (to a price with one more digit): its row changes in place, nothing in the table moves.
    const geometry = await tableGeometry(page);
    const book = engine.sandbox.priceBook;
    await eventually(async () => {
      book.setPrice('MSFT', 1415.2);
      return (await cell(page, 'MSFT', 'fresh').getAttribute('data-freshness')) === 'live' ? true : undefined;
    }, 30_000, 'the MSFT tick on the page');
    await expect.poll(() => cell(page, 'MSFT', 'value').textContent()).toBe(dollars('11321.6'));
    expect(await cell(page, 'MSFT', 'fresh').textContent()).toBe('live');
    expect(await tableGeometry(page)).toEqual(geometry);

    // Sorting: by value (largest first) to start; a click on Holding sorts A to Z; Enter on Value twice flips it.
    const byValue = (await portfolio()).holdings
      .slice()
      .sort((a, b) => Number(b.marketValueBase) - Number(a.marketValueBase))
      .map((h) => h.symbol);
    expect(await visibleSymbols(page)).toEqual(byValue);
    const valueHeader = page.locator('[data-testid="holdings"] th[data-field="value"]');
    expect(await valueHeader.getAttribute('aria-sort')).toBe('descending');
    await page.locator('th[data-field="symbol"] button.sort').click();
    expect(await visibleSymbols(page)).toEqual(['AAPL', 'MSFT', 'SHOP']);
    expect(await page.locator('th[data-field="symbol"]').getAttribute('aria-sort')).toBe('ascending');
    expect(await valueHeader.getAttribute('aria-sort')).toBe('none');
    await valueHeader.locator('button.sort').focus();
    await page.keyboard.press('Enter');
    expect(await valueHeader.getAttribute('aria-sort')).toBe('descending');
    await page.keyboard.press('Enter');
    expect(await valueHeader.getAttribute('aria-sort')).toBe('ascending');
    expect(await visibleSymbols(page)).toEqual(byValue.slice().reverse());

    // Search by symbol or by name.
    const search = page.getByTestId('holdings-search');
    await search.fill('shop');
    expect(await visibleSymbols(page)).toEqual(['SHOP']);
    expect(await page.getByTestId('holdings-count').textContent()).toBe('1 of 3');
    await search.fill('micro');
    expect(await visibleSymbols(page)).toEqual(['MSFT']);
    await search.fill('zzz');
    expect(await visibleSymbols(page)).toEqual([]);
    expect(await page.locator('[data-testid="holdings"] td.empty').textContent()).toBe('No holdings match “zzz”');
    await search.fill('');
    expect(await visibleSymbols(page)).toHaveLength(3);
    await row(page, 'SHOP').click();
    await page.locator('tr.holding[data-symbol="SHOP"] + tr.detail:not([hidden])').waitFor();
    await page.screenshot({ path: `${SHOTS}/holdings-1366.png`, fullPage: true });

    // The Accounts view (reached from the Holdings tab with the arrow key, as tabs are): each
    // account's value (holdings in USD + cash), cash and holdings.
    await page.getByTestId('tab-holdings').focus();
    await page.keyboard.press('ArrowRight');
    expect(await page.getByTestId('tab-accounts').getAttribute('aria-selected')).toBe('true');
    expect(await page.locator('#panel-holdings').isHidden()).toBe(true);
    const tfsa = before.accounts.find((a) => a.name === 'TFSA')!;
    const tfsaRow = page.locator(`tr.account[data-account-id="${tfsa.id}"]`);
    await tfsaRow.waitFor();
    const shopInTfsa = shop.accounts.find((a) => a.accountId === tfsa.id)!.marketValueBase!;
    expect(await tfsaRow.locator('[data-field="cash"]').textContent()).toBe(dollars(tfsa.cashBase));
    expect(await tfsaRow.locator('[data-field="value"]').textContent()).toBe(dollars(formatScaled(addScaled(parseScaled(shopInTfsa), parseScaled(tfsa.cashBase!)))));
    expect(await page.locator(`tr[data-holdings-of="${tfsa.id}"] li`).evaluateAll((items) => items.map((i) => i.querySelector('b')?.textContent))).toEqual(['SHOP']);
    // The Margin account's MSFT took the tick too (8 x 1,415.20).
    const margin = before.accounts.find((a) => a.name === 'Margin')!;
    expect(await page.locator(`tr[data-holdings-of="${margin.id}"] li[data-holding-id="${before.holdings.find((h) => h.symbol === 'MSFT')!.id}"] [data-field="holding-value"]`).textContent()).toBe(dollars('11321.6'));

    // The brokerage reports more cash in the TFSA: the webhook's sync reaches the open page, no reload.
    await page.evaluate(() => ((window as unknown as { notReloaded: boolean }).notReloaded = true));
    const tfsaAtBroker = questrade.accounts.find((a) => a.name === 'TFSA')!;
    await engine.sandbox.control.setCash(tfsaAtBroker.id, { currency: 'CAD', amount: 2500, notify: true });
    const after = await eventually(async () => {
      const a = (await portfolio()).accounts.find((x) => x.id === tfsa.id);
      return a && a.cashBase !== tfsa.cashBase ? a : undefined;
    }, 60_000, 'the new TFSA cash synced');
    await expect.poll(() => tfsaRow.locator('[data-field="cash"]').textContent()).toBe(dollars(after.cashBase));
    expect(await page.evaluate(() => (window as unknown as { notReloaded?: boolean }).notReloaded)).toBe(true);
    await page.screenshot({ path: `${SHOTS}/accounts-1366.png`, fullPage: true });

    // 390 px wide: no horizontal scroll of the page (the tables scroll inside their own box).
    await page.setViewportSize({ width: 390, height: 844 });
    const pageWidth = () => page.evaluate(() => document.documentElement.scrollWidth);
    expect(await pageWidth()).toBeLessThanOrEqual(390);
    await page.screenshot({ path: `${SHOTS}/accounts-390.png`, fullPage: true });
    await page.getByTestId('tab-holdings').click();
    expect(await pageWidth()).toBeLessThanOrEqual(390);
    await page.screenshot({ path: `${SHOTS}/holdings-390.png`, fullPage: true });
    // The tables themselves at 390, to be read in the screenshots.
    await page.locator('.portfolio-views').screenshot({ path: `${SHOTS}/holdings-390-table.png` });
    await page.getByTestId('tab-accounts').click();
    await page.locator('.portfolio-views').screenshot({ path: `${SHOTS}/accounts-390-table.png` });
    // 360 px, the narrowest phone: still no page scroll, and no amount cut short in either table.
    await page.setViewportSize({ width: 360, height: 740 });
    const cutShort = (selector: string) =>
      page.locator(selector).evaluateAll((cells) => cells.filter((c) => c.scrollWidth > c.clientWidth).map((c) => c.textContent));
    expect(await pageWidth()).toBeLessThanOrEqual(360);
    expect(await cutShort('tr.account td[data-field="value"], tr.account td[data-field="cash"], tr.account td[data-field="name"]')).toEqual([]);
    await page.getByTestId('tab-holdings').click();
    expect(await pageWidth()).toBeLessThanOrEqual(360);
    expect(await cutShort('tr.holding td:not([data-field="symbol"]):not([data-field="quantity"]):not([data-field="accounts"])')).toEqual([]);
    for (const name of ['holdings-1366', 'accounts-1366', 'accounts-390', 'holdings-390', 'holdings-390-table', 'accounts-390-table']) console.log(`screenshot: ${SHOTS}/${name}.png`);
    expect(problems).toEqual([]);
    await page.close();
  }, 180_000);
});
