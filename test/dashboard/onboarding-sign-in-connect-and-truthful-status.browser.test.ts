import { mkdirSync } from 'node:fs';
import { SignJWT } from 'jose';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestEngine, type TestEngine } from '../support/engine.ts';
import { launchChromium, newContext } from '../support/browser.ts';

/**
 * A new person's way in, in headless Chromium against the whole engine and the sandbox: sign in
 * from the sandbox's users (development sign-in), connect a brokerage through the sandbox's portal
 * and watch the holdings arrive without a reload, a failed portal login shown with the brokerage's
 * reason, a broken connection reconnected, a disconnect, a refresh with its stats, and an expired
 * token. Each test saves a screenshot and prints its path.
 */
const SHOTS = '/tmp/foliostream-screenshots';
const LISTED_USER = 'onboard-listed';
const NEW_USER = 'onboard-new';

let engine: TestEngine;
let browser: Browser;
let context: BrowserContext;
let page: Page;
const problems: string[] = [];

async function shot(name: string, target: Page = page): Promise<void> {
  const path = `${SHOTS}/${name}.png`;
  await target.screenshot({ path, fullPage: true });
  console.log(`screenshot: ${path}`);
}

/** Clicks `trigger` in `page`, which opens the portal window; answers the portal's form there. */
async function throughPortal(trigger: string, outcome: 'success' | 'INVALID_CREDENTIALS'): Promise<Page> {
  const [portal] = await Promise.all([context.waitForEvent('page'), page.click(trigger)]);
  await portal.waitForURL(/redeemToken/);
  await portal.locator('form#connect').waitFor();
  await portal.check(`input[name="outcome"][value="${outcome}"]`);
  await portal.click('#connect-button');
  return portal;
}

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  // A refresh answers once applied (up to REFRESH_WAIT_MS): long enough for a loaded machine.
  engine = await startTestEngine({ env: { AUTH_DEV_SIGN_IN: 'true', REFRESH_COOLDOWN_MS: '0', REFRESH_WAIT_MS: '60000' } });
  await engine.db.knex('users').insert({ id: LISTED_USER });
  browser = await launchChromium();
  context = await newContext(browser);
  page = await context.newPage();
  page.on('pageerror', (err) => problems.push(err.message));
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await engine?.stop();
});

describe('signing in, connecting a brokerage and a status that tells the truth, in a browser', () => {
  it('signs in from the list of users, signs out, signs in as a new user id, and follows a signed-in URL in the same tab', async () => {
    await page.goto(`${engine.url}/`);
    await page.waitForURL(/\/signin$/);
    const listed = page.locator(`[data-testid="sign-in-users"] button[data-user-id="${LISTED_USER}"]`);
    await listed.waitFor();
    await shot('sign-in');
    await listed.click();
    await page.waitForURL(`${engine.url}/`);
    await expect.poll(() => page.getByTestId('user-id').textContent()).toBe(LISTED_USER);
    await page.getByTestId('empty-state').waitFor();
    expect(await page.getByTestId('empty-state').textContent()).toContain('No brokerage connected yet');
    // Nothing to refresh yet: the button is not shown.
    expect(await page.getByTestId('refresh').isVisible()).toBe(false);
    expect(await page.getByTestId('meta').textContent()).not.toMatch(/seq/);
    await shot('signed-in-empty');

    await page.getByTestId('sign-out').click();
    await page.waitForURL(/\/signin\?reason=signed-out$/);
    expect(await page.getByTestId('sign-in-notice').textContent()).toBe('You are signed out.');
    await page.fill('input[name="userId"]', NEW_USER);
    await page.getByTestId('sign-in-new').click();
    await expect.poll(() => page.getByTestId('user-id').textContent().catch(() => null)).toBe(NEW_USER);

    // A signed-in URL of another user opened in this tab: the page follows it, and the token leaves the address bar.
    await page.goto(`${engine.url}/#token=${await engine.token(LISTED_USER)}`);
    await expect.poll(() => page.getByTestId('user-id').textContent().catch(() => null)).toBe(LISTED_USER);
    expect(page.url()).toBe(`${engine.url}/`);
    await page.getByTestId('sign-out').click();
    await page.waitForURL(/\/signin/);
    await page.fill('input[name="userId"]', NEW_USER);
    await page.getByTestId('sign-in-new').click();
    await expect.poll(() => page.getByTestId('user-id').textContent().catch(() => null)).toBe(NEW_USER);
  }, 60_000);

  it('connects a brokerage through the portal and shows its accounts and holdings arrive, without a reload', async () => {
    await page.getByTestId('empty-state').waitFor();
    const portal = await throughPortal('[data-testid="empty-state"] ~ * [data-testid="connect"], [data-testid="connect"]', 'success');
    await portal.waitForEvent('close');
    const progress = page.getByTestId('brokerage-progress');
    await expect.poll(() => progress.textContent()).toBe('Connected. Your accounts and holdings are up to date.');
    const connection = page.locator('li.connection[data-status="active"]');
    expect(await connection.count()).toBe(1);
    const name = await connection.locator('.connection-head b').textContent();
    expect(name).not.toMatch(/^[0-9a-f-]{36}$/); // a brokerage's name, not an id
    expect(await page.getByTestId('empty-state').isHidden()).toBe(true);
    await expect.poll(() => page.locator('tr.holding').count()).toBeGreaterThan(0);
    const accountRows = page.getByTestId('accounts').locator('tbody tr[data-account-id]');
    expect(await accountRows.count()).toBeGreaterThan(0);
    expect(await accountRows.first().locator('[data-field="synced"]').textContent()).not.toMatch(/not yet|syncing/);
    expect(await page.getByTestId('sync-state').textContent()).toMatch(/^Accounts listed /);
    await shot('connected');

    // At 390 px wide nothing scrolls sideways.
    await page.setViewportSize({ width: 390, height: 844 });
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await shot('connected-390px');
    await page.setViewportSize({ width: 1280, height: 900 });
  }, 60_000);

  it("shows a failed portal login with the brokerage's reason", async () => {
    const portal = await throughPortal('[data-testid="connect"]', 'INVALID_CREDENTIALS');
    await portal.locator('main#result[data-status="FAILED"]').waitFor();
    await portal.close();
    await expect
      .poll(() => page.getByTestId('brokerage-progress').textContent())
      .toBe('Connecting failed: the brokerage refused the username or password (INVALID_CREDENTIALS). Try again.');
    expect(await page.locator('li.connection').count()).toBe(1);
    await shot('connect-failed');
  }, 60_000);

  it('marks a broken connection, reconnects it through the portal, then disconnects it after a confirmation', async () => {
    const authorization = await engine.db.knex('brokerage_connections').where({ user_id: NEW_USER, provider: 'snaptrade' }).first('external_id');
    await engine.sandbox.control.breakConnection(authorization.external_id);
    const connection = page.locator('li.connection');
    await connection.locator('[data-testid="connection-status"]', { hasText: 'Needs reconnecting' }).waitFor();
    expect(await connection.getByTestId('connection-reason').textContent()).toMatch(/re-authenticated/);
    expect(await page.getByTestId('accounts').locator('tbody tr').first().textContent()).toContain('needs reconnecting');
    await shot('connection-broken');

    const portal = await throughPortal('[data-testid="reconnect"]', 'success');
    await portal.waitForEvent('close');
    await page.locator('li.connection[data-status="active"]').waitFor();
    expect(await page.locator('li.connection').count()).toBe(1);
    expect(await page.getByTestId('accounts').locator('tbody tr').first().textContent()).toContain('active');

    await page.getByTestId('disconnect').click();
    expect(await page.locator('.confirm').textContent()).toMatch(/accounts? leaves? foliostream/);
    await page.getByTestId('confirm-disconnect').click();
    await page.getByTestId('empty-state').waitFor();
    await expect.poll(() => page.locator('tr.holding').count()).toBe(0);
    expect(await page.getByTestId('accounts').locator('tbody').textContent()).toBe('No accounts yet');
    await shot('disconnected');
  }, 90_000);

  it('refreshes every connection and shows the stats the API returned', async () => {
    const portal = await throughPortal('[data-testid="connect"]', 'success');
    await portal.waitForEvent('close');
    await expect.poll(() => page.getByTestId('brokerage-progress').textContent()).toBe('Connected. Your accounts and holdings are up to date.');
    const refresh = page.getByTestId('refresh');
    await refresh.click();
    const result = page.getByTestId('refresh-result');
    await expect.poll(() => refresh.isEnabled(), { timeout: 75_000 }).toBe(true);
    expect(await result.getAttribute('class')).toBe('progress ok');
    expect(await result.textContent()).toMatch(/^\d+ accounts? refreshed\. \d+ accounts?, \d+ positions?, \d+ symbols? in \d+\.\d s\.$/);
    await shot('refreshed');
  }, 90_000);

  it('an expired token shows that it expired, in words, with a way back to sign-in', async () => {
    const now = Math.floor(Date.now() / 1000);
    const expired = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(NEW_USER)
      .setIssuedAt(now - 120)
      .setExpirationTime(now - 60)
      .sign(new TextEncoder().encode(engine.config.AUTH_SECRET));
    await page.goto(`${engine.url}/#token=${expired}`);
    await page.getByTestId('session-problem').waitFor();
    expect(await page.getByTestId('session-problem').getAttribute('data-problem')).toBe('expired');
    expect(await page.locator('h1').textContent()).toBe('Your sign-in has expired');
    expect(page.url()).toBe(`${engine.url}/`);
    await shot('token-expired');
    await page.getByTestId('sign-in-again').click();
    await page.waitForURL(/\/signin\?reason=expired$/);
    expect(await page.getByTestId('sign-in-notice').textContent()).toBe('Your sign-in has expired. Sign in again to continue.');
    expect(problems).toEqual([]);
  }, 30_000);
});
