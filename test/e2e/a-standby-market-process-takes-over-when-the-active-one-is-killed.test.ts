import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { priceShardOf } from '../../src/market/price-shards.ts';
import { decodeTickFields, type PriceTick } from '../../src/market/price-tick.ts';
import { createSymbolCollector } from '../../src/market/symbol-collector.ts';
import { streamKeys } from '../../streams/keys.ts';
import { eventually } from '../support/engine.ts';
import { lastPrice, leaseHeld, readyz, tookOver, waitForPrice } from '../support/market-process.ts';
import { startRoleDeployment, type RoleDeployment } from '../support/role-deployment.ts';

/**
 * Two `market` processes (`src/main.ts` with `ROLES=market` each, as the Procfile runs them) on one
 * Redis and one sandbox: the first holds the market lease and publishes prices, the second stands
 * by without a connection (`/readyz` says which is which). The first is killed with SIGKILL; the
 * second takes over within the lease time, backfills over REST the price the market made while
 * nobody was connected, and prices stream again. The sandbox, which refuses a second connection
 * per key as Alpaca does (406), never has more than one market-data connection.
 */
const LEASE_MS = 1500;
const SHARDS = 4;
let deployment: RoleDeployment;
const keys = streamKeys('fs');

async function ticks(symbol: string): Promise<PriceTick[]> {
  const entries = await deployment.client.xrange(keys.priceStream(priceShardOf(symbol, SHARDS)), '-', '+');
  return entries.map(([, fields]) => decodeTickFields(fields)).filter((t): t is PriceTick => t?.symbol === symbol);
}

beforeAll(async () => {
  deployment = await startRoleDeployment({ redis: 'server', env: { PRICE_SHARDS: String(SHARDS), MARKET_LEASE_MS: String(LEASE_MS) } });
  // What the workers' actors do for held positions: the market role subscribes to these.
  await createSymbolCollector(deployment.client, keys).setUserSymbols('u1', ['AAPL', 'KO']);
}, 120_000);

afterAll(async () => {
  await deployment?.close();
});

describe('two market processes', () => {
  it('the standby takes over within the lease time when the active one is killed, backfills, and prices resume', async () => {
    const { client, sandbox, processes } = deployment;
    const book = sandbox.priceBook;
    const first = await processes.start('market-a');
    await eventually(async () => ((await readyz(first)).market === 'active' ? true : undefined), 15_000, 'the first to hold the lease');
    const second = await processes.start('market-b');
    expect(await readyz(second)).toEqual({ status: 'ok', redis: 'ok', postgres: 'ok', market: 'standby' });
    expect(await readyz(first)).toEqual({ status: 'ok', redis: 'ok', postgres: 'ok', market: 'active' });
    expect([await leaseHeld(first), await leaseHeld(second)]).toEqual([1, 0]);

    book.setPrice('AAPL', 190);
    await waitForPrice(client, 'AAPL', 190, 15_000, 'a tick published by the first');
    // Renewals keep the first the holder; the standby never connects meanwhile.
    await new Promise((resolve) => setTimeout(resolve, LEASE_MS * 1.5));
    expect((await readyz(second)).market).toBe('standby');
    expect(sandbox.alpaca.connectionCounts().marketData).toBe(1);

    process.kill(first.pid, 'SIGKILL');
    const killedAt = Date.now();
    expect(await first.exited).toEqual({ code: null, signal: 'SIGKILL' });
    // The market moves while nobody is connected: the stream will never deliver this trade.
    book.setPrice('KO', 62.5);
    const acquired = await tookOver(second, 15_000);
    // The lease expires at most LEASE_MS after the kill, and the standby tries again right then
    // (the slack is for a loaded machine: the suite shares 2 cores).
    const tookOverMs = acquired.time - killedAt;
    expect(tookOverMs).toBeLessThan(LEASE_MS + 1_500);
    expect(await leaseHeld(second)).toBe(1);

    await waitForPrice(client, 'KO', 62.5, 15_000, 'the missed KO price, backfilled');
    expect((await ticks('KO')).at(-1)).toMatchObject({ price: 62.5, source: 'rest' });
    book.setPrice('AAPL', 191);
    await waitForPrice(client, 'AAPL', 191, 15_000, 'ticks streaming through the second');
    expect(await lastPrice(client, 'AAPL')).toMatchObject({ source: 'stream' });
    // One connection at a time all along: the sandbox counts every socket it ever accepted.
    expect(sandbox.alpaca.peakMarketDataConnections()).toBe(1);
    expect(second.output()).not.toContain('connection limit exceeded');
    console.log(`standby took over ${tookOverMs} ms after the kill (lease ${LEASE_MS} ms)`);
  });
});
