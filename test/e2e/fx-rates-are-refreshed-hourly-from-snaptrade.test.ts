import type { Job } from 'bullmq';
import { io as connectClient } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SyncJob } from '../../src/sync/sync-jobs.ts';
import { createPortfolioStore, type PortfolioSocket } from '../../src/realtime/client/portfolio-store.ts';
import { eventually, startTestEngine, type TestEngine } from '../support/engine.ts';

/**
 * Exchange rates come from SnapTrade through a BullMQ job scheduler: every hour, and once at
 * start-up. The job stores every pair SnapTrade lists in `fx_rates`; run again after the
 * brokerage's rates moved, it replaces them.
 */
const RATES_OPERATION = 'ReferenceData_listAllCurrenciesRates';
let engine: TestEngine;

beforeAll(async () => {
  // Workers look for new rates every 200 ms here (30 s by default).
  engine = await startTestEngine({ env: { FX_RELOAD_MS: '200' } });
});
afterAll(async () => {
  await engine?.stop();
});

/** base-quote -> rate, as SnapTrade (the sandbox) lists them now. */
function sandboxRates(): Record<string, number> {
  return Object.fromEntries(engine.sandbox.snaptrade.engine.rates.pairs().map((p) => [`${p.src}-${p.dst}`, p.rate]));
}

/** base-quote -> rate, as stored. */
async function storedRates(): Promise<Record<string, number>> {
  const rows = await engine.db.knex('fx_rates').select('base', 'quote', 'rate', 'source');
  for (const row of rows) expect(row.source).toBe('snaptrade');
  return Object.fromEntries(rows.map((r) => [`${r.base}-${r.quote}`, Number(r.rate)]));
}

async function finished(job: Job<SyncJob>): Promise<void> {
  await eventually(async () => ((await job.getState()) === 'completed' ? true : undefined), 10_000, `FX job ${job.id} to complete`);
}

/** The hourly job, run now. */
async function runFxJob(): Promise<Job<SyncJob>> {
  const queue = engine.app.roles.scheduler.queue;
  const template = (await queue.getJobScheduler('fx-rates'))!.template!;
  const job = (await queue.add('fx', template.data as SyncJob)) as Job<SyncJob>;
  await finished(job);
  return job;
}

describe('the FX refresh job', () => {
  it('is scheduled hourly, runs once at start-up, and stores the brokerage rates', async () => {
    const queue = engine.app.roles.scheduler.queue;
    const scheduler = await queue.getJobScheduler('fx-rates');
    expect(scheduler).toMatchObject({ every: 3_600_000, name: 'fx', template: { data: { kind: 'fx' } } });

    // The first run, at once: a job of that scheduler completed.
    const first = await eventually(
      async () => (await queue.getJobs(['completed'])).find((j) => j?.data.kind === 'fx'),
      15_000,
      'the first FX job',
    );
    expect(first.repeatJobKey).toBe('fx-rates');
    const expected = sandboxRates();
    expect(Object.keys(expected)).toHaveLength(12);
    expect(await storedRates()).toEqual(expected);
  });

  it('replaces every stored rate with the brokerage current ones when it runs again', async () => {
    const before = sandboxRates();
    await engine.sandbox.control.setExchangeRate('USD-CAD', 1.4321);
    await engine.sandbox.control.setExchangeRate('EUR-USD', 1.1);
    const expected = sandboxRates();
    expect(expected['USD-CAD']).toBe(1.4321);
    expect(expected['CAD-EUR']).not.toBe(before['CAD-EUR']);
    await engine.sandbox.control.resetRequests();

    const job = await runFxJob();

    expect(await engine.sandbox.control.requestCount({ operationId: RATES_OPERATION })).toBe(1);
    expect(await storedRates()).toEqual(expected);
    const rows = await engine.db.knex('fx_rates').select('as_of');
    const asOf = new Set(rows.map((r) => (r.as_of as Date).toISOString()));
    expect(asOf.size).toBe(1);
    expect(Date.parse([...asOf][0]!)).toBeGreaterThanOrEqual(job.timestamp);
  });

  it('revalues the portfolios in memory with the new rates: an open page shows what the API answers, without a restart', async () => {
    const user = 'e2e-fx-live-user';
    expect((await engine.api(user, 'POST', '/api/snaptrade/connection-url', {})).status).toBe(200);
    await engine.sandbox.control.connect(user, {
      brokerage: 'QUESTRADE',
      accounts: [{ name: 'TFSA', currency: 'CAD', cash: { CAD: 10_000 }, positions: [{ symbol: 'AAPL', units: 2 }] }],
    });
    const apiTotal = async () => (await engine.api<{ totals: { totalValue: string | null } }>(user, 'GET', '/api/portfolio')).body.totals.totalValue;
    const synced = await eventually(async () => {
      const total = await apiTotal();
      return total !== null && Number(total) > 0 ? total : undefined;
    }, 30_000, 'the CAD account synced');

    const socket: PortfolioSocket = connectClient(engine.url, { auth: { token: await engine.token(user) }, transports: ['websocket'], reconnection: false });
    try {
      const store = createPortfolioStore(socket);
      await eventually(async () => (store.state?.totals.totalValue === synced ? true : undefined), 10_000, 'the connect snapshot');

      // The brokerage's CAD rate moves; the hourly job stores it. The API reads the new rates at
      // once; the page must follow without a reload, from the actor in memory.
      await engine.sandbox.control.setExchangeRate('CAD-USD', 0.5);
      await runFxJob();
      const moved = await apiTotal();
      expect(moved).not.toBe(synced);
      await eventually(async () => (store.state?.totals.totalValue === moved ? true : undefined), 10_000, `the page's total to become ${moved}`);
    } finally {
      socket.disconnect();
    }
  });
});
