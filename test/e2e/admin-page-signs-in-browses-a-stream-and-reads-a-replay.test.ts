import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendDeadLetter, readDeadLetters } from '../../streams/dead-letter.ts';
import { ENVELOPE_SCHEMA_VERSION, encodeEnvelope } from '../../streams/envelope.ts';
import { streamKeys } from '../../streams/keys.ts';
import { partitionOf } from '../../streams/partition.ts';
import { eventually, startTestEngine, type TestEngine } from '../support/engine.ts';
import { launchChromium, openPage } from '../support/browser.ts';

/**
 * The operator's side of the engine, from outside: every admin path answers 401 without the admin
 * token (never a 404 that reveals what exists), the queue board takes only its session cookie
 * (HttpOnly, SameSite=Strict, scoped to its path), and the admin page in Chromium signs in,
 * browses a user's stream, runs dry-run replays (a clean one: "no differences"; one after a
 * holdings row was corrupted by hand: the row named, field by field), retries and discards dead
 * letters, and opens bull-board under helmet's CSP. Screenshots: /tmp/adminui-*.png.
 */
const ADMIN_TOKEN = 'admin-page-token-0123456789abcdef';
const USER = 'e2e-admin-page-user';

let engine: TestEngine;
let browser: Browser;

beforeAll(async () => {
  engine = await startTestEngine({ env: { ADMIN_TOKEN } });
  browser = await launchChromium();
  expect((await engine.api(USER, 'POST', '/api/snaptrade/connection-url', {})).status).toBe(200);
  await engine.sandbox.control.connect(USER, {
    brokerage: 'QUESTRADE',
    accounts: [{ name: 'Margin', currency: 'USD', cash: { USD: 1000 }, positions: [{ symbol: 'AAPL', units: 10, averageCost: 150 }, { symbol: 'MSFT', units: 4, averageCost: 300 }] }],
  });
  await eventually(
    async () => ((await engine.api<{ holdings: unknown[] }>(USER, 'GET', '/api/portfolio')).body.holdings.length === 2 ? true : undefined),
    30_000,
    "the user's holdings",
  );
});

afterAll(async () => {
  await browser?.close();
  await engine?.stop();
});

async function call(method: string, path: string, headers: Record<string, string> = {}, body?: unknown) {
  const response = await fetch(`${engine.url}${path}`, {
    method,
    headers: { ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  let json: { error?: { code: string; message: string } } | null = null;
  try {
    json = text ? (JSON.parse(text) as typeof json) : null;
  } catch {
    // HTML (bull-board's page)
  }
  return { status: response.status, headers: response.headers, text, json };
}

const ADMIN_PATHS: [string, string, unknown?][] = [
  ['GET', `/api/admin/users/${USER}/stream`],
  ['GET', '/api/admin/dead-letters'],
  ['POST', '/api/admin/dead-letters/0/1-1/retry'],
  ['POST', '/api/admin/dead-letters/0/1-1/discard', { reason: 'nothing' }],
  ['POST', '/api/admin/session'],
  ['DELETE', '/api/admin/session'],
  ['POST', '/api/admin/replays', { all: true, dryRun: true }],
  ['GET', '/api/admin/replays/00000000-0000-4000-8000-000000000000'],
  ['DELETE', `/api/admin/users/${USER}`],
  ['GET', '/api/admin/no-such-route'],
  ['PUT', '/api/admin/replays'],
  ['GET', '/admin/queues/'],
  ['GET', '/admin/queues/api/queues'],
  ['PUT', '/admin/queues/api/queues/sync/pause'],
  ['GET', '/admin/queues/no-such-page'],
];

describe('admin routes', () => {
  it('answer 401 without the admin token or with a wrong one, on every admin path (unknown ones too)', async () => {
    for (const headers of [{} as Record<string, string>, { authorization: 'Bearer not-the-admin-token' }, { authorization: `Bearer ${ADMIN_TOKEN}-` }, { authorization: ADMIN_TOKEN }]) {
      for (const [method, path, body] of ADMIN_PATHS) {
        const answer = await call(method, path, headers, body);
        expect(answer.status, `${method} ${path} with ${JSON.stringify(headers)}`).toBe(401);
        expect((answer.json as { error?: { code: string } } | null)?.error?.code).toBe('FS_UNAUTHENTICATED');
      }
    }
    // The admin token opens them (so the 401s above are about the token).
    const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
    expect((await call('GET', `/api/admin/users/${USER}/stream`, admin)).status).toBe(200);
    expect((await call('GET', '/admin/queues/api/queues', admin)).status).toBe(200);
  });

  it('open the queue board with a session cookie that is HttpOnly, SameSite=Strict and scoped to it; a forged or expired one is refused', async () => {
    const session = await call('POST', '/api/admin/session', { authorization: `Bearer ${ADMIN_TOKEN}` });
    expect(session.status).toBe(200);
    const setCookie = session.headers.get('set-cookie')!;
    expect(setCookie).toMatch(/^fs_admin_session=v1\.\d+\.[\w-]{43}; /);
    expect(setCookie).toContain('Path=/admin/queues');
    expect(setCookie).toContain('HttpOnly');
    expect(setCookie).toContain('SameSite=Strict');
    expect(setCookie).toMatch(/Max-Age=900\b/);
    const cookie = setCookie.split(';')[0]!;
    const page = await call('GET', '/admin/queues/', { cookie });
    expect(page.status).toBe(200);
    expect(page.text).toContain('<div id="root">');
    const queues = await call('GET', '/admin/queues/api/queues', { cookie });
    expect(queues.status).toBe(200);
    expect((JSON.parse(queues.text) as { queues: { name: string }[] }).queues.map((q) => q.name)).toContain('sync');

    const [, expiry, signature] = cookie.split('=')[1]!.split('.');
    for (const forged of [
      `fs_admin_session=v1.${Number(expiry) + 60_000}.${signature}`, // a later expiry under the same signature
      `fs_admin_session=v1.${Date.now() - 1_000}.${signature}`,
      'fs_admin_session=v1.99999999999999.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
      `other=${cookie.split('=')[1]}`,
    ]) {
      const refused = await call('GET', '/admin/queues/api/queues', { cookie: forged });
      expect(refused.status, forged).toBe(401);
    }
    // Signing out clears it.
    const out = await call('DELETE', '/api/admin/session', { authorization: `Bearer ${ADMIN_TOKEN}` });
    expect(out.status).toBe(204);
    expect(out.headers.get('set-cookie')).toMatch(/^fs_admin_session=; Path=\/admin\/queues; Max-Age=0/);
  });
});

describe('the admin page in a browser', () => {
  // The sign-in form's own 401 (a wrong token is tried) is an expected console error.
  const openAdminPage = (width: number) => openPage(browser, `${engine.url}/admin`, { width, consoleErrors: { ignore: /status of 401/ } });

  async function signIn(page: Page): Promise<void> {
    await page.getByLabel('admin token').fill(ADMIN_TOKEN);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Replay' }).waitFor();
  }

  it('signs in, browses the stream, runs dry-run replays and reads their reports, settles dead letters, opens the queue board', async () => {
    const { page, problems } = await openAdminPage(1366);
    // A wrong token is said in words, and nothing is kept.
    await page.getByLabel('admin token').fill('not-the-token');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('Wrong admin token');
    expect(await page.evaluate(() => sessionStorage.length)).toBe(0);
    await page.screenshot({ path: '/tmp/adminui-sign-in.png' });
    await signIn(page);
    expect(page.url()).toBe(`${engine.url}/admin`);
    expect(await page.evaluate(() => sessionStorage.getItem('foliostream.adminToken'))).toBe(ADMIN_TOKEN);

    // The user's stream, newest first, decoded.
    const events = (await call('GET', `/api/admin/users/${USER}/stream?limit=200`, { authorization: `Bearer ${ADMIN_TOKEN}` })).json as unknown as {
      entries: { streamId: string; envelope: { type: string } }[];
    };
    await page.getByLabel('user id', { exact: true }).fill(USER);
    await page.getByRole('button', { name: 'Show' }).click();
    const rows = page.locator('[data-testid="stream-entries"] tbody tr');
    await rows.first().waitFor();
    expect(await rows.count()).toBe(events.entries.length);
    expect(await rows.first().getAttribute('data-stream-id')).toBe(events.entries[0]!.streamId);
    expect(await page.getByTestId('stream-entries').textContent()).toContain('positions.synced');
    // Paging: two per page, then the next page starts after them.
    await page.getByLabel('entries per page').fill('2');
    await page.getByRole('button', { name: 'Show' }).click();
    await expect.poll(() => rows.count()).toBe(2);
    await page.getByRole('button', { name: 'Next page →' }).click();
    await expect.poll(() => rows.first().getAttribute('data-stream-id')).toBe(events.entries[2]!.streamId);

    // A dry-run replay of the user: it matches.
    await page.getByLabel('user ids').fill(USER);
    await page.getByRole('button', { name: 'Start replay' }).click();
    await expect.poll(() => page.getByTestId('replay-state').textContent()).toBe('done');
    expect(await page.getByTestId('replay-progress').textContent()).toBe('1 of 1 users');
    expect(await page.getByTestId('replay-output').textContent()).toContain('No differences');
    expect(await page.getByTestId('replay-summary').textContent()).toBe('1 matched · 0 differed · 0 repaired');

    // A holdings row corrupted by hand: the next dry run names it, field by field.
    const row = await engine.db.knex('holdings').where({ user_id: USER }).first('security_id', 'quantity');
    await engine.db.knex('holdings').where({ user_id: USER, security_id: row.security_id }).update({ quantity: '999' });
    await page.getByRole('button', { name: 'Start replay' }).click();
    await expect.poll(() => page.getByTestId('replay-summary').textContent()).toBe('0 matched · 1 differed · 0 repaired');
    const report = page.locator(`.user-report[data-user="${USER}"]`);
    const quantity = report.locator('table[data-diff="holdings"] tr[data-change="changed"]', { hasText: 'quantity' });
    await quantity.waitFor();
    const cells = await quantity.locator('td').allTextContents();
    expect(cells[0]).toBe('changed');
    expect(cells[2]).toBe('quantity');
    expect(Number(cells[3])).toBe(999);
    expect(Number(cells[4])).toBe(Number(row.quantity));
    expect(await report.textContent()).toContain('not repaired (dry run)');
    await expect.poll(() => page.getByTestId('replay-state').textContent()).toBe('done');
    await page.screenshot({ path: '/tmp/adminui-1366.png', fullPage: true });

    // Dead letters: one to retry (a legacy no-op event of the user), one to discard.
    const keys = streamKeys(engine.namespace);
    const partition = partitionOf(USER, engine.config.PARTITION_COUNT);
    const noop = { id: 'admin-page-noop', type: 'presence.watch', user: USER, partition, time: new Date().toISOString(), schema: ENVELOPE_SCHEMA_VERSION, payload: {} };
    const retryable = await appendDeadLetter(engine.redis.client, keys, partition, { entryId: '1-1', envelope: encodeEnvelope(noop), reason: 'parked for the admin page test', deliveries: 3, parkedBy: 'w1' });
    const broken = await appendDeadLetter(engine.redis.client, keys, partition, { entryId: '1-2', envelope: '{"not an envelope', reason: 'malformed envelope: not JSON', deliveries: 0 });
    await page.getByRole('button', { name: 'Refresh' }).click();
    const retryRow = page.locator(`tr[data-dead-letter="${partition}/${retryable}"]`);
    await retryRow.waitFor();
    expect(await retryRow.textContent()).toContain('parked for the admin page test');
    await page.getByTestId('dead-letters').screenshot({ path: '/tmp/adminui-dead-letters.png' });
    await retryRow.getByRole('button', { name: 'Retry' }).click();
    await expect.poll(() => page.getByTestId('dead-letters').locator('..').textContent()).toContain('appended again as');
    await engine.applied(USER, (e) => e.meta?.retryOf === '1-1');
    const brokenRow = page.locator(`tr[data-dead-letter="${partition}/${broken}"]`);
    expect(await brokenRow.getByRole('button', { name: 'Retry' }).isDisabled()).toBe(true);
    await brokenRow.getByRole('button', { name: 'Discard…' }).click();
    await brokenRow.getByLabel('reason for discarding').fill('garbage written by a test');
    await brokenRow.getByRole('button', { name: 'Discard', exact: true }).click();
    await expect.poll(() => page.getByTestId('dead-letters').textContent()).toContain('No dead letters');
    expect(await readDeadLetters(engine.redis.client, keys, partition)).toEqual([]);

    // The queue board, in a tab of its own, under helmet's CSP.
    const [board] = await Promise.all([page.waitForEvent('popup'), page.getByTestId('queues-link').click()]);
    const boardProblems: string[] = [];
    board.on('console', (msg) => {
      if (msg.type() === 'error' && /Content Security Policy|Refused to/i.test(msg.text())) boardProblems.push(msg.text());
    });
    await board.getByText('sync', { exact: true }).first().click();
    await board.getByText(/completed/i).first().waitFor();
    await board.screenshot({ path: '/tmp/adminui-queues.png' });
    expect(boardProblems).toEqual([]);
    await board.close();

    expect(problems).toEqual([]);
    await page.close();
  });

  it('fits a 390 px phone: nothing wider than the screen', async () => {
    const { page, problems } = await openAdminPage(390);
    await signIn(page);
    await page.getByLabel('user id', { exact: true }).fill(USER);
    await page.getByRole('button', { name: 'Show' }).click();
    await page.locator('[data-testid="stream-entries"] tbody tr').first().waitFor();
    await page.getByLabel('user ids').fill(USER);
    await page.getByRole('button', { name: 'Start replay' }).click();
    await expect.poll(() => page.getByTestId('replay-state').textContent()).toBe('done');
    await page.locator(`.user-report[data-user="${USER}"] table[data-diff="holdings"]`).waitFor();
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await page.screenshot({ path: '/tmp/adminui-390.png', fullPage: true });
    expect(problems).toEqual([]);
    await page.close();
  });
});
