import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { UserSyncJob } from '../../src/sync/sync-jobs.ts';
import { eventually, startTestEngine, type TestEngine } from '../support/engine.ts';

/**
 * The nightly full sync enqueues one user sync per user, delayed so that the whole night's
 * requests stay inside the SnapTrade budget (a user sync costs about 2 + 3 x accounts requests: positions, balances and a page of
 * activities per account).
 */
let engine: TestEngine;
const BUDGET = 60;

beforeAll(async () => {
  engine = await startTestEngine({ env: { SNAPTRADE_REQUESTS_PER_MINUTE: String(BUDGET) } });
});
afterAll(async () => {
  await engine?.stop();
});

describe('nightly sync', () => {
  it('plans a user sync for every user, spread to stay inside the budget', async () => {
    const users = ['night-a', 'night-b', 'night-c', 'night-d'];
    const db = engine.app.ctx.db;
    await db('users').insert(users.map((id) => ({ id })));
    // Each user has two open accounts: 8 requests per user sync.
    for (const id of users) {
      const [{ id: connectionId }] = await db('brokerage_connections')
        .insert({ user_id: id, provider: 'snaptrade', external_id: `auth-${id}` })
        .returning('id');
      await db('accounts').insert(
        [1, 2].map((n) => ({
          user_id: id,
          connection_id: connectionId,
          provider: 'snaptrade',
          external_id: `acc-${id}-${n}`,
          institution_name: 'Questrade',
          currency: 'USD',
        })),
      );
    }
    const queue = engine.app.roles.scheduler.queue;
    const planned = Date.now();
    await queue.add('nightly', { kind: 'nightly' });

    const jobs = await eventually(async () => {
      const delayed = (await queue.getDelayed()).filter((j) => (j.data as UserSyncJob).reason === 'nightly');
      const waiting = (await queue.getJobs(['waiting', 'active', 'completed', 'failed'])).filter(
        (j) => (j.data as UserSyncJob).reason === 'nightly',
      );
      return delayed.length + waiting.length >= users.length ? [...delayed, ...waiting] : undefined;
    }, 20_000, 'the nightly plan');

    const byUser = new Map(jobs.map((j) => [(j.data as UserSyncJob).userId, j.timestamp + (j.opts.delay ?? 0)]));
    expect([...byUser.keys()].sort()).toEqual(users);
    const due = [...byUser.values()].sort((a, b) => a - b);
    // 80 % of the budget is planned for: 48 requests a minute, 8 per user -> one user every 10 s.
    const spacing = (8 / Math.floor(BUDGET * 0.8)) * 60_000;
    for (let i = 1; i < due.length; i++) expect(due[i]! - due[i - 1]!).toBeGreaterThanOrEqual(spacing - 50);
    expect(due[0]! - planned).toBeLessThan(5_000);
  });
});
