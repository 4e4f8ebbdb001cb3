import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { WAIT_FLOOR_MS } from './wait-floor.ts';

/** Debian's Chromium, headless, with nothing in the background that could reach the network. */
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-quic', '--no-first-run'];

/**
 * How long a page action or a locator's wait may take before the test fails: Playwright's 30 s
 * default is a speed limit on a loaded machine (a step took 33 s with two suites at once).
 */
export const UI_WAIT_MS = 2 * WAIT_FLOOR_MS;

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
}

/** A browser context with the tests' locale and viewport, whose pages wait up to UI_WAIT_MS. */
export async function newContext(browser: Browser, options: { width?: number; height?: number } = {}): Promise<BrowserContext> {
  const context = await browser.newContext({ locale: 'en-US', viewport: { width: options.width ?? 1280, height: options.height ?? 900 } });
  context.setDefaultTimeout(UI_WAIT_MS);
  return context;
}

export interface OpenedPage {
  page: Page;
  /** Uncaught errors on the page (and console errors when asked): a test ends expecting none. */
  problems: string[];
}

export interface OpenPageOptions {
  width?: number;
  height?: number;
  /** Also count console errors, except those matching `ignore` (e.g. an expected 401). */
  consoleErrors?: { ignore?: RegExp };
  /** Runs on the new page before it navigates (routes that hold or change answers, say). */
  beforeGoto?: (page: Page) => Promise<unknown>;
}

/** A page with the tests' locale and viewport that records what went wrong on it, at `url`. */
export async function openPage(browser: Browser, url: string, options: OpenPageOptions = {}): Promise<OpenedPage> {
  const context = await newContext(browser, options);
  const page = await context.newPage();
  // The page owns its context: closing the page closes both. When the browser is closing too (a
  // test's last page.close() right before afterAll's browser.close()), the context is already
  // going: its close then rejects with "Target page, context or browser has been closed", which
  // unhandled failed the test run after its tests had passed.
  page.once('close', () => {
    context.close().catch((err: Error) => {
      if (!/has been closed/.test(err.message)) throw err;
    });
  });
  const problems: string[] = [];
  page.on('pageerror', (err) => problems.push(err.message));
  const consoleErrors = options.consoleErrors;
  if (consoleErrors) {
    page.on('console', (msg) => {
      if (msg.type() === 'error' && !consoleErrors.ignore?.test(msg.text())) problems.push(msg.text());
    });
  }
  await options.beforeGoto?.(page);
  await page.goto(url);
  return { page, problems };
}

/** The dashboard signed in with `token` (handed over in the fragment, as the sign-in callback does). */
export function openDashboard(browser: Browser, baseUrl: string, token: string, options: OpenPageOptions = {}): Promise<OpenedPage> {
  return openPage(browser, `${baseUrl}/#token=${token}`, options);
}

/**
 * Resolves once the clock is away from a minute's edge. Stored intraday points sit on the minute
 * (src/history/intraday-recorder.ts) and the history's live point is now: asked in a minute's
 * first second the two share a second, and the chart (one point a second) rightly draws one.
 */
export async function awayFromTheMinute(): Promise<void> {
  for (;;) {
    const second = new Date().getUTCSeconds();
    if (second >= 2 && second <= 57) return;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/**
 * Resolves once the dashboard has everything it fetches in place: live, the holdings drawn, the
 * ticket's accounts and the orders listed, the chart's box, the activities and the base-currency
 * choices loaded. What a test then measures is the page a person settles on, not its loading.
 */
export async function dashboardSettled(page: Page, holdingSymbol: string): Promise<void> {
  await page.locator('[data-testid="connection"]', { hasText: 'live' }).waitFor();
  await page.locator(`tr.holding[data-symbol="${holdingSymbol}"]`).waitFor();
  await page.locator('[data-testid="ticket"][data-ready="1"]').waitFor();
  await page.locator('[data-testid="orders-panel"][data-ready="1"]').waitFor();
  await page.locator('[data-testid="history-chart"]').waitFor();
  // The chart's and the returns' first answers (their captions say "Loading…" until then).
  await page.locator('[data-testid="history-caption"]', { hasNotText: 'Loading' }).waitFor();
  await page.locator('[data-testid="returns-caption"]', { hasNotText: 'Loading' }).waitFor();
  await page.locator('[data-testid="activities-status"]', { hasNotText: 'Loading' }).waitFor();
  await page.locator('[data-testid="base-currency"]:enabled').waitFor();
}
