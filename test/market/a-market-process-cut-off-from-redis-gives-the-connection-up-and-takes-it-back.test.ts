import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.ts';
import { startMarketIngester } from '../../src/market/market-data-ingester.ts';
import { startMarketLease, type MarketLease } from '../../src/market/market-lease.ts';
import { marketMetrics } from '../../src/market/market-metrics.ts';
import { readLastPrices } from '../../src/market/price-reader.ts';
import { createSymbolCollector } from '../../src/market/symbol-collector.ts';
import { createContext, type AppContext } from '../../src/runtime/context.ts';
import { singleRedis } from '../../src/runtime/redis-client.ts';
import { startLocalRedis, type LocalRedis } from '../../src/services/local-redis.ts';
import { startSandbox, type Sandbox } from '../../sandbox/sandbox.ts';
import { FAST, waitFor } from './market-harness.ts';

/**
 * The active market process loses Redis (a redis-server of this file's own, stopped and started
 * again on its port): renewals cannot get through, so at its own deadline (one lease time after
 * the last renewal) it closes the Alpaca connection, as another process may hold the lease by
 * then; once Redis is back it takes the lease again and prices flow. Stopping the ingester must not
 * wait for Redis: a command queued on a connection closed while it reconnects never settles.
 */
const LEASE_MS = 3000;
const silent = pino({ level: 'silent' });
let root: string | undefined;
let redis: LocalRedis | undefined;
let sandbox: Sandbox | undefined;
let ctx: AppContext | undefined;
let lease: MarketLease | undefined;

afterAll(async () => {
  await lease?.stop();
  await ctx?.close();
  await sandbox?.close();
  await redis?.stop();
  if (root) rmSync(root, { recursive: true, force: true });
});

describe('a market process cut off from Redis', () => {
  it('gives the connection up within the lease time and takes the lease back when Redis returns', async () => {
    root = mkdtempSync(join(tmpdir(), 'foliostream-market-redis-'));
    redis = await startLocalRedis({ dir: join(root, 'redis'), persistent: true, log: silent });
    const port = Number(new URL(redis.url).port);
    sandbox = await startSandbox({ snaptradePort: 0, alpacaPort: 0, logger: silent });
    const alpaca = sandbox.alpaca;
    const config = loadConfig({
      NODE_ENV: 'test',
      ALPACA_TRADING_URL: sandbox.alpacaUrl,
      ALPACA_DATA_URL: sandbox.alpacaUrl,
      ALPACA_STREAM_URL: sandbox.alpacaWsUrl,
    });
    // Knex connects lazily and the market role never touches Postgres here.
    const context = createContext({ config, redisTarget: singleRedis(redis.url), databaseUrl: 'postgres://unused@127.0.0.1:1/unused', namespace: 'fs', log: silent });
    ctx = context;
    await createSymbolCollector(context.redis, context.keys).setUserSymbols('u1', ['AMD']);
    const held = lease = startMarketLease({
      redis: context.redis,
      keys: context.keys,
      workerId: 'market-1',
      leaseMs: LEASE_MS,
      metrics: marketMetrics(context.metrics),
      log: silent,
      activate: async (tenure) => {
        const ingester = await startMarketIngester(context, { ...FAST, token: tenure.token, onFenced: () => tenure.lost('fenced') });
        return { stop: (reason) => ingester.stop(reason) };
      },
    });
    await waitFor(() => held.status().state === 'active' && alpaca.connectionCounts().marketData === 1, 'the first tenure, connected');

    await redis.stop();
    redis = undefined;
    const cutAt = Date.now();
    await waitFor(() => held.status().state === 'standby' && alpaca.connectionCounts().marketData === 0, 'the connection given up', LEASE_MS * 5);
    // Its own deadline: a whole lease after the last renewal that got through, not before.
    expect(Date.now() - cutAt).toBeGreaterThanOrEqual(LEASE_MS / 2);
    expect(Date.now() - cutAt).toBeLessThan(LEASE_MS * 3);

    redis = await startLocalRedis({ dir: join(root, 'redis'), persistent: true, log: silent, port });
    await waitFor(() => held.status().state === 'active' && held.status().acquisitions === 2 && alpaca.connectionCounts().marketData === 1, 'the lease taken back', 15_000);
    sandbox.priceBook.setPrice('AMD', 143.5);
    await waitFor(async () => (await readLastPrices(context.redis, context.keys, ['AMD'])).get('AMD')?.price === 143.5, 'prices flowing again');
    expect(alpaca.peakMarketDataConnections()).toBe(1);
    await held.stop();
  });

  it('stops its ingester at once while Redis is still down', async () => {
    const context = ctx!;
    const port = Number(new URL(redis!.url).port);
    // A token above the previous test's tenures: the price streams' fences know those.
    const ingester = await startMarketIngester(context, { ...FAST, token: 1_000_000 });
    await waitFor(() => ingester.status().authenticated, 'the ingester connected');
    await redis!.stop();
    redis = undefined;
    // Long enough for the symbol-changes loop to fail, wait and queue its reload on a connection
    // that is reconnecting.
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    const stopping = Date.now();
    const stopped = await Promise.race([ingester.stop('lost').then(() => true), new Promise<false>((resolve) => setTimeout(() => resolve(false), 5_000))]);
    expect(stopped).toBe(true);
    expect(Date.now() - stopping).toBeLessThan(2_000);
    redis = await startLocalRedis({ dir: join(root!, 'redis'), persistent: true, log: silent, port });
  });
});
