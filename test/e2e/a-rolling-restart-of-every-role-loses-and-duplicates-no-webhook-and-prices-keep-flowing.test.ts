import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../support/engine.ts';
import { LEASE_ACQUIRED, logged, readyz, tookOver, waitForPrice } from '../support/market-process.ts';
import type { RoleDeployment } from '../support/role-deployment.ts';
import type { RoleProcess } from '../support/role-process.ts';
import {
  connectLoadUser,
  deliverWebhooks,
  expectEveryWebhookOnceAndApplied,
  expectHoldingsOfTheBrokerage,
  moreDeliveries,
  startWebhookLoadDeployment,
  type WebhookLoadTarget,
} from '../support/webhook-load.ts';

/**
 * A deploy of a Procfile-style cluster: two `web`, three `worker` and two `market` processes (the
 * active one and a standby), each a `src/main.ts` of its own on one Redis and one Postgres,
 * restarted as a deploy rolls them: the processes of a role one after the other (SIGTERM, wait for
 * the exit, start it again), the three roles side by side, while SnapTrade-like deliveries keep
 * coming: every webhook is posted to one web process and, until it is answered 200, again to the
 * other (as a load balancer and SnapTrade's retries do); every fifth is posted once more after its
 * 200, to the other web process, as SnapTrade re-delivers a webhook whose 200 got lost.
 * Afterwards every webhook is in the partition streams exactly once, every re-delivery was
 * answered 200 `duplicate`, every one was applied (the inbox has it, the user's checkpoint passed
 * it), the holdings equal the brokerage's and a replay's, and every stop exited 0. Each time the
 * active market process stops, the standby takes over within the lease time and a new price
 * reaches Redis; the sandbox never has two market-data connections at once.
 */
const USER = 'e2e-rolling-user';
const PARTITIONS = 4;
const MARKET_LEASE_MS = 3000;
let deployment: RoleDeployment;
let target: WebhookLoadTarget;

/** The running market process that says it is the active one (exactly one). */
async function activeMarket(): Promise<RoleProcess> {
  return eventually(
    async () => {
      const markets = [...deployment.processes.running.values()].filter((p) => p.name.startsWith('market'));
      const active = [];
      for (const p of markets) if ((await readyz(p)).market === 'active') active.push(p);
      return active.length === 1 ? active[0] : undefined;
    },
    30_000,
    'one active market process',
  );
}

/** A new AAPL price at the sandbox reaches the price hash through the active market process. */
async function expectPricesFlow(price: number, what: string): Promise<void> {
  deployment.sandbox.priceBook.setPrice('AAPL', price);
  await waitForPrice(deployment.client, 'AAPL', price, 30_000, `AAPL at ${price} ${what}`);
}

beforeAll(async () => {
  deployment = await startWebhookLoadDeployment('server', {
    PARTITION_COUNT: String(PARTITIONS),
    LEASE_TTL_MS: '3000',
    MARKET_LEASE_MS: String(MARKET_LEASE_MS),
  });
}, 120_000);

afterAll(async () => {
  await deployment?.close();
});

describe('a rolling restart of 2 web, 3 worker and 2 market processes under webhook load', () => {
  it('keeps every webhook exactly once, applies them all, keeps prices flowing, and every stop exits 0', async () => {
    const { sandbox, env, processes } = deployment;
    await Promise.all(['web-a', 'web-b', 'worker-1', 'worker-2', 'worker-3', 'market-a', 'market-b'].map(processes.start));
    const [web] = processes.webUrls();
    await sandbox.control.configureWebhooks({ url: `${web}/api/snaptrade/webhook` });
    target = await connectLoadUser(
      sandbox,
      env,
      { url: web!, webUrls: processes.webUrls },
      USER,
      [1, 2, 3].map((n) => ({ name: `Account ${n}`, currency: 'USD', positions: [{ symbol: 'AAPL', units: n }] })),
    );
    await expectHoldingsOfTheBrokerage(target, 'the first sync');
    // The held AAPL is what the active market process subscribes to.
    let price = 190;
    await expectPricesFlow(price, 'before the restarts');

    const load = deliverWebhooks(target, { pauseMs: 50, redeliverEvery: 5 });
    const exits: Record<string, { code: number | null; signal: NodeJS.Signals | null }> = {};
    const takeoversMs: number[] = [];
    let units = 10;
    const first = (await activeMarket()).name;
    const second = first === 'market-a' ? 'market-b' : 'market-a';

    /** SIGTERM, wait for the exit, start again; a market process's standby must take over meanwhile. */
    const restart = async (name: string) => {
      await moreDeliveries(load, 20, `before ${name} stops`);
      const old = processes.running.get(name)!;
      const standby = name.startsWith('market') ? [...processes.running.values()].find((p) => p.name.startsWith('market') && p !== old) : undefined;
      if (standby) expect((await readyz(old)).market).toBe('active');
      const acquiredBefore = standby ? logged(standby, LEASE_ACQUIRED).length : 0;
      // Deliveries keep going to it until it is gone, as a load balancer's health check lags.
      const stoppedAt = Date.now();
      exits[name] = await processes.stop(name, 'SIGTERM');
      if (standby) {
        // The stop released the lease: the standby takes it at its next attempt, within the lease time.
        const acquired = await tookOver(standby, 30_000, acquiredBefore);
        takeoversMs.push(acquired.time - stoppedAt);
        await expectPricesFlow(++price, `through ${standby.name}`);
      }
      await processes.start(name);
    };
    // As a deploy rolls each role's processes (a Deployment or process type of its own), one process
    // of a role at a time and the roles side by side.
    const roll = async (names: string[], before?: () => Promise<void>) => {
      for (const name of names) {
        await before?.();
        await restart(name);
      }
    };
    await Promise.all([
      roll(['web-a', 'web-b']),
      roll(['worker-1', 'worker-2', 'worker-3'], async () => {
        // The brokerage moves, so the syncs in flight during each stop have something to land.
        for (const [i, id] of target.accountIds.entries()) await sandbox.control.setPositions(id, { positions: [{ symbol: 'AAPL', units: units + i }, { symbol: 'MSFT', units }], notify: false });
        units += 10;
      }),
      roll([first, second]),
    ]);
    await load.stop();

    expect(exits).toEqual(Object.fromEntries(['web-a', 'web-b', 'worker-1', 'worker-2', 'worker-3', first, second].map((n) => [n, { code: 0, signal: null }])));
    // Within the lease time, and sooner than an expiry: a stop releases the lease, where a lease left
    // to expire would hold the standby off for at least two thirds of it (renewed every third).
    expect(takeoversMs.filter((ms) => ms >= MARKET_LEASE_MS / 2)).toEqual([]);
    expect(((await activeMarket()).name)).toBe(first);
    await expectPricesFlow(++price, 'after the restarts');
    // One connection at a time all along: the sandbox counts every socket it ever accepted.
    expect(sandbox.alpaca.peakMarketDataConnections()).toBe(1);
    expect(load.ids.length).toBeGreaterThan(100);
    expect(load.redeliveries.length).toBeGreaterThan(20);
    await expectEveryWebhookOnceAndApplied(target, load, { redis: deployment.client, database: deployment.database, partitions: PARTITIONS });
    console.log(
      `${load.ids.length} webhooks (${load.redeliveries.length} re-delivered) in ${load.attempts()} posts across the restarts; standby took over ${takeoversMs.join(', ')} ms after SIGTERM (lease ${MARKET_LEASE_MS} ms)`,
    );
  });

  it('keeps every webhook exactly once when a web and a worker process are killed with SIGKILL mid-load', async () => {
    const { processes } = deployment;
    const load = deliverWebhooks(target, { pauseMs: 50 });
    for (const name of ['web-b', 'worker-2']) {
      await moreDeliveries(load, 50, `before ${name} is killed`);
      expect(await processes.stop(name, 'SIGKILL')).toEqual({ code: null, signal: 'SIGKILL' });
      await processes.start(name);
    }
    await moreDeliveries(load, 50, 'after the restarts');
    await load.stop();
    await expectEveryWebhookOnceAndApplied(target, load, { redis: deployment.client, database: deployment.database, partitions: PARTITIONS });
    console.log(`${load.ids.length} webhooks in ${load.attempts()} posts across the kills`);
  });
});
