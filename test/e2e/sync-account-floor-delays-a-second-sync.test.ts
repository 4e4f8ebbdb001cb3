import type { Job } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Envelope } from '../../streams/envelope.ts';
import { eventually, startTestEngine, type TestEngine } from '../support/engine.ts';
import { positionsSynced, snaptradeUnits, userSettled, webhookType } from '../support/user-stream.ts';

/**
 * `SYNC_ACCOUNT_FLOOR_MS`: after a sync of an account, the syncs asked for within the floor make
 * no fetch within it; the first of them is delayed to the end of the floor (its job waits,
 * delayed), the next ones join it, and it fetches once then, bringing every change they were
 * about: two asks, one delayed fetch, nothing lost. Every other e2e test runs with the floor at 0.
 */
const USER = 'e2e-sync-floor-user';
const POSITIONS = 'AccountInformation_getAllAccountPositions';
const FLOOR_MS = 6_000;
let engine: TestEngine;

beforeAll(async () => {
  engine = await startTestEngine({ env: { SYNC_ACCOUNT_FLOOR_MS: String(FLOOR_MS), SYNC_DEBOUNCE_MS: '100' } });
});
afterAll(async () => {
  await engine?.stop();
});

async function aapl(): Promise<string | undefined> {
  const { body } = await engine.api<{ holdings: { symbol: string; quantity: string }[] }>(USER, 'GET', '/api/portfolio');
  return body.holdings.find((h) => h.symbol === 'AAPL')?.quantity;
}

function webhookIs(e: Envelope, webhookId: string): boolean {
  return webhookType(e) === 'ACCOUNT_HOLDINGS_UPDATED' && (e.payload as { webhookId?: string }).webhookId === webhookId;
}

async function accountJobs(states: ('delayed' | 'completed')[], accountId: string): Promise<Job[]> {
  const jobs = await engine.app.roles.scheduler.queue.getJobs(states);
  return jobs.filter((j) => j?.data.kind === 'account' && j.data.accountId === accountId);
}

describe('the per-account sync floor', () => {
  it('makes two syncs asked for within the floor one fetch, delayed to its end, that brings both changes', async () => {
    const control = engine.sandbox.control;
    expect((await engine.api(USER, 'POST', '/api/snaptrade/connection-url', {})).status).toBe(200);
    // No webhooks at connection: the engine learns of the account from one user sync.
    const auth = await control.connect(USER, {
      brokerage: 'QUESTRADE',
      webhooks: false,
      accounts: [{ name: 'Margin', currency: 'USD', positions: [{ symbol: 'AAPL', units: 10 }] }],
    });
    const accountId = auth.accounts[0]!.id;
    await control.fireWebhook({ eventType: 'NEW_ACCOUNT_AVAILABLE', userId: USER, accountId, authorizationId: auth.id });
    await engine.applied(USER, (e) => positionsSynced(e)?.accountId === accountId);
    await userSettled(engine, USER);
    expect(await aapl()).toBe('10');
    const log = await control.requestLog({ operationId: POSITIONS, accountId });
    const start = log.length;

    // First sync of the account: fetched at once (after the debounce); the floor starts.
    await control.setPositions(accountId, { positions: [{ symbol: 'AAPL', units: 11 }], notify: false });
    await control.fireWebhook({ eventType: 'ACCOUNT_HOLDINGS_UPDATED', userId: USER, accountId, authorizationId: auth.id });
    await engine.applied(USER, (e) => {
      const synced = positionsSynced(e);
      return synced?.accountId === accountId && snaptradeUnits(synced).AAPL === 11;
    });
    expect(await aapl()).toBe('11');

    // A second sync asked for within the floor: its job is taken, then put back, delayed.
    await control.setPositions(accountId, { positions: [{ symbol: 'AAPL', units: 12 }], notify: false });
    const second = await control.fireWebhook({ eventType: 'ACCOUNT_HOLDINGS_UPDATED', userId: USER, accountId, authorizationId: auth.id });
    await engine.applied(USER, (e) => webhookIs(e, second.webhookId));
    const deferred: Job = await eventually(
      async () => (await accountJobs(['delayed'], accountId)).find((j) => j.attemptsStarted >= 1),
      FLOOR_MS,
      'the second sync job to be taken and put back, delayed',
    );

    // A third, while the second waits: it joins the second (its job ends without fetching).
    await control.setPositions(accountId, { positions: [{ symbol: 'AAPL', units: 13 }], notify: false });
    const third = await control.fireWebhook({ eventType: 'ACCOUNT_HOLDINGS_UPDATED', userId: USER, accountId, authorizationId: auth.id });
    await engine.applied(USER, (e) => webhookIs(e, third.webhookId));
    const joined = await eventually(
      async () => (await accountJobs(['completed'], accountId)).find((j) => j.id !== deferred.id && j.timestamp > deferred.timestamp),
      FLOOR_MS,
      'the third sync job to end',
    );
    expect(joined.returnvalue).toBeNull();

    // While the floor lasts: its one fetch, and the holdings of the first sync.
    const during = (await control.requestLog({ operationId: POSITIONS, accountId })).slice(start);
    expect(during.map((r) => r.status)).toEqual([200]);
    expect(await aapl()).toBe('11');
    expect(await deferred.getState()).toBe('delayed');

    // Not lost: the delayed job fetches after the floor, after both asks: it brings the last change.
    await engine.applied(
      USER,
      (e) => {
        const synced = positionsSynced(e);
        return synced?.accountId === accountId && snaptradeUnits(synced).AAPL === 13;
      },
      FLOOR_MS + 10_000,
    );
    expect(await aapl()).toBe('13');
    expect(await deferred.getState()).toBe('completed');
    await userSettled(engine, USER);
    const after = (await control.requestLog({ operationId: POSITIONS, accountId })).slice(start);
    expect(after.map((r) => r.status)).toEqual([200, 200]);
    // The sandbox's own clock: the second fetch came no sooner than the floor after the first.
    expect(after[1]!.at - after[0]!.at).toBeGreaterThanOrEqual(FLOOR_MS);
  });
});
