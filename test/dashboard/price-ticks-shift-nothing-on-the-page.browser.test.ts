import { mkdirSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startTestEngine, type TestEngine } from '../support/engine.ts';
import { connectSamplePortfolio } from '../support/sample-portfolio.ts';
import { dashboardSettled, launchChromium, openDashboard } from '../support/browser.ts';

/**
 * Price ticks move numbers, not the page: in headless Chromium against the whole engine, the
 * browser's own Layout Instability API (`layout-shift` entries, what Core Web Vitals' CLS sums)
 * records no shift at all while several ticks move MSFT's value across $10,000 (a digit more, then
 * less) on the Holdings tab, and then on the Accounts tab. The window is tall enough to hold the
 * whole page, since only shifts inside the viewport are reported. Shifts right after an input (the
 * click on the Accounts tab) are the person's own doing and not counted, as CLS does.
 */
const USER = 'browser-no-layout-shift';
const SHOTS = '/tmp/foliostream-screenshots';
const usd = new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD', minimumFractionDigits: 2, maximumFractionDigits: 2 });
/** MSFT's prices: 8 shares worth $9,992.00, $10,004.00, $10,010.00, $9,990.00, $10,016.00. */
const TICKS = [1249, 1250.5, 1251.25, 1248.75, 1252];

let engine: TestEngine;
let browser: Browser;

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  engine = await startTestEngine();
  await connectSamplePortfolio(engine, USER);
  browser = await launchChromium();
}, 90_000);

afterAll(async () => {
  await browser?.close();
  await engine?.stop();
});

interface Shift {
  value: number;
  hadRecentInput: boolean;
  /** The elements that moved, as `tag.class[data-field]`. */
  moved: string[];
}

/** Starts recording the page's layout shifts from now on (`window.shifts`). */
function recordShifts(page: Page): Promise<void> {
  return page.evaluate(() => {
    const w = window as unknown as { shifts: Shift[]; shiftObserver: PerformanceObserver };
    const name = (node: Node | null | undefined) => {
      if (!(node instanceof Element)) return node?.nodeName ?? 'gone';
      const field = node.getAttribute('data-field') ?? node.getAttribute('data-testid');
      return `${node.tagName.toLowerCase()}${node.className && typeof node.className === 'string' ? `.${node.className.trim().replace(/\s+/g, '.')}` : ''}${field ? `[${field}]` : ''}`;
    };
    const keep = (entries: PerformanceEntryList) => {
      for (const entry of entries as unknown as { value: number; hadRecentInput: boolean; sources?: { node?: Node | null }[] }[]) {
        w.shifts.push({ value: entry.value, hadRecentInput: entry.hadRecentInput, moved: (entry.sources ?? []).map((s) => name(s.node)) });
      }
    };
    w.shifts = [];
    w.shiftObserver = new PerformanceObserver((list) => keep(list.getEntries()));
    w.shiftObserver.observe({ type: 'layout-shift' });
    (w as unknown as { keepShifts: typeof keep }).keepShifts = keep;
  });
}

/** The shifts recorded so far, once two frames have been drawn since the last change (so a shift of it is reported). */
function recordedShifts(page: Page): Promise<Shift[]> {
  return page.evaluate(async () => {
    await new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)));
    const w = window as unknown as { shifts: Shift[]; shiftObserver: PerformanceObserver; keepShifts: (entries: PerformanceEntryList) => void };
    w.keepShifts(w.shiftObserver.takeRecords());
    return w.shifts;
  });
}

describe('price ticks shift nothing on the page', () => {
  it('records no layout shift while ticks move a value across $10,000, on the Holdings tab and on the Accounts tab', async () => {
    const { page, problems } = await openDashboard(browser, engine.url, await engine.token(USER), { width: 1366, height: 3000, consoleErrors: {} });
    await dashboardSettled(page, 'MSFT');
    const value = page.locator('tr.holding[data-symbol="MSFT"] [data-field="value"]');
    const book = engine.sandbox.priceBook;
    const tick = async (price: number) => {
      book.setPrice('MSFT', price);
      await expect.poll(() => value.textContent()).toBe(usd.format(price * 8));
    };

    await recordShifts(page);
    // The first tick also turns MSFT's price live (the market feed may still be subscribing: ask again until it is).
    await eventually(async () => {
      book.setPrice('MSFT', TICKS[0]!);
      return (await page.locator('tr.holding[data-symbol="MSFT"] [data-field="fresh"]').getAttribute('data-freshness')) === 'live' ? true : undefined;
    }, 30_000, 'the first MSFT tick on the page');
    for (const price of TICKS) await tick(price);
    const onHoldings = await recordedShifts(page);
    await page.screenshot({ path: `${SHOTS}/no-shift-holdings-1366.png`, fullPage: true });

    await page.getByTestId('tab-accounts').click();
    await page.locator('tr.account').first().waitFor();
    for (const price of [...TICKS].reverse()) await tick(price);
    const onAccounts = (await recordedShifts(page)).slice(onHoldings.length);
    await page.screenshot({ path: `${SHOTS}/no-shift-accounts-1366.png`, fullPage: true });
    console.log(`screenshot: ${SHOTS}/no-shift-holdings-1366.png`);
    console.log(`screenshot: ${SHOTS}/no-shift-accounts-1366.png`);

    // Not one shift, however small: a tick changes text in boxes whose size does not depend on it.
    expect(onHoldings).toEqual([]);
    expect(onAccounts.filter((s) => !s.hadRecentInput)).toEqual([]);
    expect(problems).toEqual([]);
    await page.close();
  }, 180_000);

  it('keeps the line of the value chart\'s caption while its answer is late, so the returns under it do not move', async () => {
    // The history answers are held until the shifts are being recorded.
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const { page, problems } = await openDashboard(browser, engine.url, await engine.token(USER), {
      width: 1366,
      height: 3000,
      consoleErrors: {},
      beforeGoto: (p) => p.route('**/api/portfolio/history?*', async (route) => {
        await held;
        await route.continue();
      }),
    });
    await page.locator('[data-testid="returns-caption"]', { hasNotText: 'Loading' }).waitFor();
    await page.locator('[data-testid="activities-status"]', { hasNotText: 'Loading' }).waitFor();
    expect(await page.getByTestId('history-caption').textContent()).toBe('Loading the value history…');
    await recordShifts(page);
    release();
    await page.locator('[data-testid="history-caption"]', { hasNotText: 'Loading' }).waitFor();
    const shifts = await recordedShifts(page);
    expect(shifts.flatMap((s) => s.moved).filter((moved) => moved.includes('[returns]'))).toEqual([]);
    expect(problems).toEqual([]);
    await page.close();
  }, 120_000);
});
