import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseLeaseValue } from '../../actors/partition-lease.ts';
import { streamKeys } from '../../streams/keys.ts';
import { partitionOf } from '../../streams/partition.ts';
import { lastPrice, readyz, tookOver, waitForPrice } from '../support/market-process.ts';
import type { RoleDeployment } from '../support/role-deployment.ts';
import {
  connectLoadUser,
  deliverWebhooks,
  expectEveryWebhookOnceAndApplied,
  expectHoldingsOfTheBrokerage,
  moreDeliveries,
  startWebhookLoadDeployment,
} from '../support/webhook-load.ts';

/**
 * Chaos on a Redis Cluster (3 masters, 3 replicas) under webhook load: a `web`, two `worker` and
 * two `market` processes (`src/main.ts` each, as the Procfile runs them, `REDIS_CLUSTER=true`).
 * The worker owning the user's partition is killed with SIGKILL and started again, then the
 * active market process is, while SnapTrade-like deliveries keep coming (every fifth posted again
 * after its 200, as SnapTrade re-delivers one whose 200 got lost). Every webhook answered 200 is
 * in the partition streams exactly once and applied (inbox, checkpoint), every re-delivery was
 * answered `duplicate`, the holdings are the brokerage's and what a replay of the stream folds
 * (nothing applied twice); the standby market process takes over within the lease time,
 * backfills the price the market made while nobody was connected, and prices stream again, over
 * one market-data connection at a time. (The kill of a master is
 * a-killed-master-loses-no-acknowledged-webhook.test.ts.)
 */
const USER = 'cluster-chaos-user';
const PARTITIONS = 4;
const MARKET_LEASE_MS = 1500;
let deployment: RoleDeployment;

beforeAll(async () => {
  deployment = await startWebhookLoadDeployment('cluster', {
    PARTITION_COUNT: String(PARTITIONS),
    LEASE_TTL_MS: '2000',
    MARKET_LEASE_MS: String(MARKET_LEASE_MS),
  });
}, 120_000);

afterAll(async () => {
  await deployment?.close();
});

describe('a worker and the active market process killed on a Redis Cluster under webhook load', () => {
  it('lose and apply twice no webhook answered 200, and prices resume within the lease time', async () => {
    const { client, database, sandbox, env, processes } = deployment;
    await Promise.all(['web-a', 'worker-1', 'worker-2', 'market-a', 'market-b'].map(processes.start));
    const web = processes.running.get('web-a')!.url!;
    const target = await connectLoadUser(
      sandbox,
      env,
      { url: web, webUrls: () => [web] },
      USER,
      [1, 2].map((n) => ({ name: `Account ${n}`, currency: 'USD', positions: [{ symbol: 'AAPL', units: n }, { symbol: 'MSFT', units: n }] })),
    );
    // The sandbox sends no webhooks here: the connection's first sync comes from a delivery of the load.
    const load = deliverWebhooks(target, { lanes: 2, pauseMs: 400, redeliverEvery: 5 });
    await expectHoldingsOfTheBrokerage(target, 'the first sync');
    const book = sandbox.priceBook;
    book.setPrice('AAPL', 190);
    await waitForPrice(client, 'AAPL', 190, 30_000, 'a price through the active market process');

    // The brokerage moves, so syncs are landing when the worker dies.
    const move = async (units: number) => {
      for (const id of target.accountIds) await sandbox.control.setPositions(id, { positions: [{ symbol: 'AAPL', units }, { symbol: 'MSFT', units: units + 1 }], notify: false });
    };
    await move(10);
    await moreDeliveries(load, 10, 'before the worker is killed');
    // The worker that owns the user's partition: its actor dies with syncs and webhooks in flight.
    const lease = await client.get(streamKeys('fs').partitionLease(partitionOf(USER, PARTITIONS)));
    const owner = parseLeaseValue(lease!).workerId;
    expect(await processes.stop(owner, 'SIGKILL')).toEqual({ code: null, signal: 'SIGKILL' });
    // Deliveries go on while its partitions wait for their lease to expire and while it starts again.
    await processes.start(owner);

    const markets = ['market-a', 'market-b'].map((name) => processes.running.get(name)!);
    const states = await Promise.all(markets.map(async (p) => (await readyz(p)).market));
    expect([...states].sort()).toEqual(['active', 'standby']);
    const active = markets[states.indexOf('active')]!;
    const standby = markets[states.indexOf('standby')]!;
    await move(20);
    await moreDeliveries(load, 10, 'before the active market process is killed');
    const killedAt = Date.now();
    expect(await processes.stop(active.name, 'SIGKILL')).toEqual({ code: null, signal: 'SIGKILL' });
    // The market moves while nobody is connected: the stream will never deliver this trade.
    book.setPrice('MSFT', 415.5);
    const acquired = await tookOver(standby, 30_000);
    // The lease expires at most MARKET_LEASE_MS after the kill and the standby tries again right
    // then (the slack is for a loaded machine).
    const tookOverMs = acquired.time - killedAt;
    expect(tookOverMs).toBeLessThan(MARKET_LEASE_MS + 1_500);
    await waitForPrice(client, 'MSFT', 415.5, 30_000, 'the missed MSFT price, backfilled');
    const resumedMs = Date.now() - killedAt;
    book.setPrice('AAPL', 191);
    await waitForPrice(client, 'AAPL', 191, 30_000, 'prices streaming through the standby');
    expect(await lastPrice(client, 'AAPL')).toMatchObject({ source: 'stream' });
    // Deliveries go on while it starts again (as a standby: the other holds the lease).
    const restarted = processes.start(active.name);
    await move(30);
    await moreDeliveries(load, 10, 'after the kills');
    expect((await readyz(await restarted)).market).toBe('standby');
    await load.stop();
    expect(load.redeliveries.length).toBeGreaterThan(5);
    expect(sandbox.alpaca.peakMarketDataConnections()).toBe(1);
    await expectEveryWebhookOnceAndApplied(target, load, { redis: client, database, partitions: PARTITIONS });
    console.log(
      `${load.ids.length} webhooks (${load.redeliveries.length} re-delivered) in ${load.attempts()} posts; the standby took over ${tookOverMs} ms after the kill and had the missed price ${resumedMs} ms after it (lease ${MARKET_LEASE_MS} ms)`,
    );
  });
});
