import pino from 'pino';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createUserTokenVerifier } from '../../src/auth/user-tokens.ts';
import { loadConfig } from '../../src/config/config.ts';
import { startHttpServer, type HttpServer } from '../../src/http/server.ts';
import { dashboardRouter } from '../../src/realtime/dashboard/dashboard-router.ts';
import { attachRealtimeGateway, type RealtimeGateway } from '../../src/realtime/gateway.ts';
import { createContext, type AppContext } from '../../src/runtime/context.ts';
import { launchChromium, openDashboard } from '../support/browser.ts';
import { createRealtimeHarness, holding, SECRET, totalsOf, uniqueUser, type RealtimeHarness } from './realtime-harness.ts';
import { singleRedis } from '../../src/runtime/redis-client.ts';

let h: RealtimeHarness;
let ctx: AppContext;
let http: HttpServer;
let gateway: RealtimeGateway;
let browser: Browser;

beforeAll(async () => {
  h = await createRealtimeHarness();
  const log = pino({ level: 'silent' });
  ctx = createContext({
    config: loadConfig({ NODE_ENV: 'test', AUTH_SECRET: SECRET }),
    redisTarget: singleRedis(h.redis.url),
    databaseUrl: inject('databaseUrl'), // knex connects lazily; the dashboard never queries
    namespace: h.namespace,
    log,
  });
  // The real web-role server (helmet's CSP included), with the dashboard at `/`.
  http = await startHttpServer(ctx, [{ path: '/', router: dashboardRouter({ log }) }], { port: 0, host: '127.0.0.1' });
  gateway = await attachRealtimeGateway(http.server, {
    verifier: createUserTokenVerifier({ secret: SECRET }),
    redisTarget: singleRedis(h.redis.url),
    snapshot: h.book.snapshot,
    log,
    metrics: ctx.metrics,
    namespace: h.namespace,
  });
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await gateway?.close();
  await http?.close();
  await ctx?.close();
  await h?.close();
});

describe('the live dashboard in a browser', () => {
  it('renders the snapshot, then a pushed delta changes the price on the page', async () => {
    const user = uniqueUser('viewer');
    const holdings = [holding(user, 'AAPL', '190.00'), holding(user, 'MSFT', '410.50'), holding(user, 'NVDA', '905.1234')];
    h.book.set(user, holdings);
    const { page, problems } = await openDashboard(browser, http.url, await h.token(user), { height: 820, consoleErrors: {} });
    const row = (symbol: string) => page.locator(`tr.holding[data-holding-id="${user}/${symbol}"]`);
    await row('NVDA').waitFor();
    expect(await page.locator('tr.holding').count()).toBe(3);
    expect(await row('AAPL').locator('[data-field="price"]').textContent()).toBe('$190.00');
    expect(await row('MSFT').locator('[data-field="value"]').textContent()).toBe('$4,105.00');
    expect(await page.locator('[data-total="totalValue"]').textContent()).toBe(`$${(1900 + 4105 + 9051.23 + 500).toLocaleString('en-US', { minimumFractionDigits: 2 })}`);
    expect(await page.getByTestId('connection').textContent()).toBe('live');
    // The token left the address bar.
    expect(new URL(page.url()).hash).toBe('');

    // A worker pushes a price change (and statuses) to the user's room.
    const updated = holding(user, 'AAPL', '195.25');
    const now = new Date().toISOString();
    await h.worker.emitter.delta(user, {
      seq: await h.worker.sequence.next(user),
      asOf: now,
      totals: totalsOf([updated, ...holdings.slice(1)]),
      upserted: [updated],
      repriced: [],
      removed: [],
    });
    await h.worker.emitter.syncStatus(user, { state: 'syncing', accountId: `${user}-acct-1`, at: now });
    await h.worker.emitter.connectionStatus(user, {
      connectionId: `${user}-conn-1`,
      brokerage: 'Questrade',
      status: 'broken',
      message: 'reconnect required',
      at: now,
    });
    const price = row('AAPL').locator('[data-field="price"]');
    await expect.poll(() => price.textContent()).toBe('$195.25');
    expect(await price.getAttribute('class')).toContain('flash-up');
    expect(await row('AAPL').locator('[data-field="value"]').textContent()).toBe('$1,952.50');
    expect(await row('MSFT').locator('[data-field="price"]').getAttribute('class')).not.toContain('flash');
    const questrade = page.locator(`li.connection[data-connection-id="${user}-conn-1"]`);
    await expect.poll(() => questrade.getAttribute('data-status')).toBe('broken');
    expect(await questrade.getByTestId('connection-reason').textContent()).toBe('Reconnect required');
    expect(await questrade.locator(`li[data-account-id="${user}-acct-1"]`).textContent()).toBe('Marginsyncing…');
    expect(await page.getByTestId('meta').textContent()).not.toContain('seq');

    // Expanding a holding shows its per-account breakdown.
    await row('AAPL').click();
    const detail = page.locator(`tr.holding[data-holding-id="${user}/AAPL"] + tr.detail`);
    await detail.waitFor();
    expect(await detail.locator('tbody tr').count()).toBe(2);
    expect(await detail.textContent()).toContain('Questrade');

    await page.screenshot({ path: '/tmp/dashboard.png', fullPage: true });
    expect(problems).toEqual([]);
    await page.close();
  });

  it("shows a connection that needs re-linking in its accounts' rows, and a deleted account's page says so", async () => {
    const user = uniqueUser('relink');
    h.book.set(user, [holding(user, 'AAPL', '190.00')]);
    const { page } = await openDashboard(browser, http.url, await h.token(user));
    await page.locator('tr.holding').first().waitFor();
    const questradeRow = page.getByTestId('accounts').locator(`tbody tr[data-account-id="${user}-acct-1"]`);
    const alpacaRow = page.getByTestId('accounts').locator(`tbody tr[data-account-id="${user}-acct-2"]`);
    expect(await questradeRow.textContent()).toContain('active');

    const message = 'SnapTrade no longer accepts your registration: connect your brokerages again.';
    await h.worker.emitter.connectionStatus(user, {
      connectionId: `${user}-conn-1`,
      brokerage: 'Questrade',
      status: 'needs_relink',
      message,
      at: new Date().toISOString(),
    });
    await expect.poll(() => questradeRow.textContent()).toContain('needs re-link');
    expect(await alpacaRow.textContent()).toContain('active');
    const relink = page.locator(`li.connection[data-connection-id="${user}-conn-1"]`);
    expect(await relink.getByTestId('connection-status').textContent()).toBe('Connect again');
    expect(await relink.getByTestId('connection-reason').textContent()).toBe(message);

    await h.worker.emitter.endSessions(user, { reason: 'account_deleted', message: 'This account was deleted.', at: new Date().toISOString() });
    await expect.poll(() => page.getByTestId('session-ended').textContent()).toContain('This account was deleted.');
    expect(await page.locator('tr.holding').count()).toBe(0);
    // The server closed the socket; the page stays as it says, not "reconnecting".
    await expect.poll(() => page.getByTestId('connection').textContent()).toBe('signed out');
    await page.close();
  });

  it('a forged token is refused on the page, in words, with a way back to sign-in', async () => {
    const page = await browser.newPage();
    await page.goto(`${http.url}/#token=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl`);
    await expect.poll(() => page.getByTestId('session-problem').getAttribute('data-problem')).toBe('invalid');
    expect(await page.locator('h1').textContent()).toBe('This sign-in is not valid');
    expect(await page.getByTestId('sign-in-again').getAttribute('href')).toBe('/signin?reason=invalid');
    expect(await page.locator('tr.holding').count()).toBe(0);
    await page.close();
  });
});
