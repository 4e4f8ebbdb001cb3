import pino from 'pino';
import { inject } from 'vitest';
import { loadConfig } from '../../src/config/config.ts';
import { startMarketIngester, type MarketIngester, type MarketIngesterOptions } from '../../src/market/market-data-ingester.ts';
import { readLastPrices } from '../../src/market/price-reader.ts';
import { priceShardOf } from '../../src/market/price-shards.ts';
import { decodeTickFields, type LastPrice, type PriceTick } from '../../src/market/price-tick.ts';
import { createSymbolCollector, type SymbolCollector } from '../../src/market/symbol-collector.ts';
import { createContext, type AppContext } from '../../src/runtime/context.ts';
import { startSandbox, type Sandbox } from '../../sandbox/sandbox.ts';
import { createTestRedis, type TestRedis } from '../support/redis.ts';
import { WAIT_FLOOR_MS } from '../support/wait-floor.ts';
import { singleRedis } from '../../src/runtime/redis-client.ts';

/**
 * Real Redis under a fresh key prefix, the brokerage sandbox on free ports, an AppContext whose
 * Alpaca URLs point at the sandbox, and the product's symbol collector: what the market role runs
 * on, with fast reconnect settings.
 */
export interface MarketHarness {
  redis: TestRedis;
  sandbox: Sandbox;
  ctx: AppContext;
  collector: SymbolCollector;
  startIngester(options?: MarketIngesterOptions): Promise<MarketIngester>;
  lastPrice(symbol: string): Promise<LastPrice | undefined>;
  /** Every tick of `symbol` in its price stream, oldest first. */
  ticks(symbol: string): Promise<PriceTick[]>;
  metric(name: string): Promise<number>;
  close(): Promise<void>;
}

export const FAST: MarketIngesterOptions = {
  reconnect: { initialMs: 50, maxMs: 400, jitter: 0 },
  restRetry: { initialMs: 50, maxMs: 400 },
  changesBlockMs: 1000,
};

export async function startMarketHarness(): Promise<MarketHarness> {
  const redis = await createTestRedis();
  const silent = pino({ level: 'silent' });
  const sandbox = await startSandbox({ snaptradePort: 0, alpacaPort: 0, logger: silent });
  const config = loadConfig({
    NODE_ENV: 'test',
    ALPACA_TRADING_URL: sandbox.alpacaUrl,
    ALPACA_DATA_URL: sandbox.alpacaUrl,
    ALPACA_STREAM_URL: sandbox.alpacaWsUrl,
    PRICE_SHARDS: '4',
  });
  // Knex connects lazily and the market role never touches Postgres.
  const ctx = createContext({ config, redisTarget: singleRedis(redis.url), databaseUrl: inject('databaseUrl'), namespace: redis.prefix, log: silent });
  const collector = createSymbolCollector(ctx.redis, ctx.keys);
  const ingesters: MarketIngester[] = [];
  return {
    redis,
    sandbox,
    ctx,
    collector,
    async startIngester(options = {}) {
      const ingester = await startMarketIngester(ctx, { ...FAST, ...options });
      ingesters.push(ingester);
      return ingester;
    },
    async lastPrice(symbol) {
      return (await readLastPrices(ctx.redis, ctx.keys, [symbol])).get(symbol);
    },
    async ticks(symbol) {
      const entries = await ctx.redis.xrange(ctx.keys.priceStream(priceShardOf(symbol, config.PRICE_SHARDS)), '-', '+');
      return entries.map(([, fields]) => decodeTickFields(fields)).filter((t): t is PriceTick => t?.symbol === symbol);
    },
    async metric(name) {
      const metric = await ctx.metrics.getSingleMetric(name)?.get();
      return metric?.values.reduce((sum, v) => sum + v.value, 0) ?? Number.NaN;
    },
    async close() {
      for (const ingester of ingesters.splice(0)) await ingester.stop();
      await sandbox.close();
      await ctx.close();
      await redis.cleanup();
    },
  };
}

/** Resolve when `predicate` holds (sync or async), polling every 10 ms; reject after `timeoutMs`. */
export async function waitFor(predicate: () => boolean | Promise<boolean>, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + Math.max(timeoutMs, WAIT_FLOOR_MS);
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
