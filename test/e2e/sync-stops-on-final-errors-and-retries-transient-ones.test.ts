import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Job } from 'bullmq';
import { eventually, startTestEngine, type TestEngine } from '../support/engine.ts';
import { positionsSynced, snaptradeUnits, userSettled, userStream } from '../support/user-stream.ts';

/**
 * An account sync that SnapTrade answers 401, 403, 404 or 410 stops at once: one request at the
 * brokerage, its job failed for good, `sync.failed` in the user's stream. One answered 429 or 5xx
 * is retried (jittered backoff) until the brokerage answers, and the sync lands; nothing failed.
 * Errors come from the sandbox's fault injection, on the positions request of one account.
 */
const USER = 'e2e-sync-stop-rule-user';
const POSITIONS = 'AccountInformation_getAllAccountPositions';
const FINAL = [401, 403, 404, 410];
const TRANSIENT = [429, 500, 503];
let engine: TestEngine;
let authorizationId: string;
/** A brokerage account of its own per status, so counts never mix. */
const accountFor = new Map<number, string>();

beforeAll(async () => {
  // The user's share of the SnapTrade budget off: seven accounts' syncs would use it up.
  engine = await startTestEngine({ env: { SYNC_BACKOFF_BASE_MS: '50', SNAPTRADE_USER_SHARE: '1' } });
  const control = engine.sandbox.control;
  expect((await engine.api(USER, 'POST', '/api/snaptrade/connection-url', {})).status).toBe(200);
  const statuses = [...FINAL, ...TRANSIENT];
  const auth = await control.connect(USER, {
    brokerage: 'QUESTRADE',
    accounts: statuses.map((status) => ({ name: `For ${status}`, currency: 'USD', positions: [{ symbol: 'AAPL', units: 1 }] })),
  });
  authorizationId = auth.id;
  statuses.forEach((status, i) => accountFor.set(status, auth.accounts[i]!.id));
  await control.waitForWebhooks((d) => d.filter((x) => x.state === 'delivered').length >= 2 + statuses.length, { userId: USER });
  await userSettled(engine, USER, 30_000);
});
afterAll(async () => {
  await engine?.stop();
});

async function accountJobs(state: 'failed' | 'completed', accountId: string): Promise<Job[]> {
  const jobs = await engine.app.roles.scheduler.queue.getJobs([state]);
  return jobs.filter((j) => j?.data.kind === 'account' && j.data.accountId === accountId);
}

describe('an account sync the brokerage refuses', () => {
  it.each(FINAL)('with %i is not retried: one request, the job failed, sync.failed in the stream', async (status) => {
    const control = engine.sandbox.control;
    const accountId = accountFor.get(status)!;
    const fault = await control.addFault({ kind: 'error', status, match: { operationId: POSITIONS, accountId } });
    try {
      const before = await control.requestLog({ operationId: POSITIONS, accountId });
      await control.fireWebhook({ eventType: 'ACCOUNT_HOLDINGS_UPDATED', userId: USER, accountId, authorizationId });

      await engine.applied(USER, (e) => e.type === 'sync.failed' && (e.payload as { accountId?: string }).accountId === accountId, 10_000);
      const [failed] = await eventually(async () => {
        const jobs = await accountJobs('failed', accountId);
        return jobs.length ? jobs : undefined;
      }, 10_000, 'the account job to fail for good');
      await userSettled(engine, USER);

      const requests = (await control.requestLog({ operationId: POSITIONS, accountId })).slice(before.length);
      expect(requests.map((r) => [r.status, r.outcome])).toEqual([[status, 'injected']]);
      expect(failed!.attemptsMade).toBe(1);
      expect(failed!.failedReason).toContain(String(status));
      const failures = (await userStream(engine, USER)).filter(
        (x) => x.envelope.type === 'sync.failed' && (x.envelope.payload as { accountId?: string }).accountId === accountId,
      );
      expect(failures.map((x) => x.envelope.payload)).toEqual([
        expect.objectContaining({ provider: 'snaptrade', accountId, status, retryable: false }),
      ]);
    } finally {
      await control.removeFault(fault.id).catch(() => undefined);
    }
  });

  it.each(TRANSIENT)('with %i is retried until it lands, and reports no failure', async (status) => {
    const control = engine.sandbox.control;
    const accountId = accountFor.get(status)!;
    await control.setPositions(accountId, { positions: [{ symbol: 'AAPL', units: status }], notify: false });
    await control.addFault({ kind: 'error', status, times: 2, match: { operationId: POSITIONS, accountId } });
    const before = await control.requestLog({ operationId: POSITIONS, accountId });
    await control.fireWebhook({ eventType: 'ACCOUNT_HOLDINGS_UPDATED', userId: USER, accountId, authorizationId });

    await engine.applied(USER, (e) => {
      const synced = positionsSynced(e);
      return synced?.accountId === accountId && snaptradeUnits(synced).AAPL === status;
    }, 15_000);
    await userSettled(engine, USER);

    const requests = (await control.requestLog({ operationId: POSITIONS, accountId })).slice(before.length);
    expect(requests.map((r) => [r.status, r.outcome])).toEqual([
      [status, 'injected'],
      [status, 'injected'],
      [200, 'ok'],
    ]);
    const [completed] = (await accountJobs('completed', accountId)).sort((a, b) => (b.finishedOn ?? 0) - (a.finishedOn ?? 0));
    expect(completed!.attemptsMade).toBe(3);
    expect(await accountJobs('failed', accountId)).toEqual([]);
    const failures = (await userStream(engine, USER)).filter(
      (x) => x.envelope.type === 'sync.failed' && (x.envelope.payload as { accountId?: string }).accountId === accountId,
    );
    expect(failures).toEqual([]);
    const { body } = await engine.api<{ holdings: { symbol: string; accounts: { quantity: string }[] }[] }>(USER, 'GET', '/api/portfolio');
    expect(body.holdings.find((h) => h.symbol === 'AAPL')!.accounts.map((a) => a.quantity)).toContain(String(status));
  });
});
