import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { priceShardOf } from '../../src/market/price-shards.ts';
import { decodeTickFields, type PriceTick } from '../../src/market/price-tick.ts';
import { createSymbolCollector } from '../../src/market/symbol-collector.ts';
import { startLocalRedis, type LocalRedis } from '../../src/services/local-redis.ts';
import { startSandbox, type Sandbox } from '../../sandbox/sandbox.ts';
import { streamKeys } from '../../streams/keys.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { eventually } from '../support/engine.ts';
import { LEASE_ACQUIRED, lastPrice as lastPriceOf, leaseHeld, logged, readyz } from '../support/market-process.ts';
import { killRoleProcesses, roleProcessEnv, startRoleProcess, type RoleProcess } from '../support/role-process.ts';

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
const log = pino({ level: 'warn' });
let root: string;
let redis: LocalRedis;
let client: Redis;
let database: TestDatabase;
let sandbox: Sandbox;
let env: Record<string, string>;
const processes: RoleProcess[] = [];
const keys = streamKeys('fs');

const lastPrice = (symbol: string) => lastPriceOf(client, symbol);

async function ticks(symbol: string): Promise<PriceTick[]> {
  const entries = await client.xrange(keys.priceStream(priceShardOf(symbol, SHARDS)), '-', '+');
  return entries.map(([, fields]) => decodeTickFields(fields)).filter((t): t is PriceTick => t?.symbol === symbol);
}

async function start(name: string): Promise<RoleProcess> {
  const started = await startRoleProcess(name, { ...env, WORKER_ID: name });
  processes.push(started);
  return started;
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'foliostream-market-standby-'));
  redis = await startLocalRedis({ dir: join(root, 'redis'), persistent: false, log });
  client = new Redis(redis.url);
  database = await createTestDatabase({ migrate: true });
  sandbox = await startSandbox({ snaptradePort: 0, alpacaPort: 0, webhookUrl: null, logger: pino({ level: 'silent' }) });
  env = roleProcessEnv(
    { redisUrl: redis.url, databaseUrl: database.url, sandbox },
    { ROLES: 'market', METRICS_PORT: '0', PRICE_SHARDS: String(SHARDS), MARKET_LEASE_MS: String(LEASE_MS) },
  );
  // What the workers' actors do for held positions: the market role subscribes to these.
  await createSymbolCollector(client, keys).setUserSymbols('u1', ['AAPL', 'KO']);
}, 120_000);

afterAll(async () => {
  await killRoleProcesses(processes);
  client?.disconnect();
  await sandbox?.close();
  await database?.drop();
  await redis?.stop();
  if (root) rmSync(root, { recursive: true, force: true });
});

describe('two market processes', () => {
  it('the standby takes over within the lease time when the active one is killed, backfills, and prices resume', async () => {
    const book = sandbox.priceBook;
    const first = await start('market-a');
    await eventually(async () => ((await readyz(first)).market === 'active' ? true : undefined), 15_000, 'the first to hold the lease');
    const second = await start('market-b');
    expect(await readyz(second)).toEqual({ status: 'ok', redis: 'ok', postgres: 'ok', market: 'standby' });
    expect(await readyz(first)).toEqual({ status: 'ok', redis: 'ok', postgres: 'ok', market: 'active' });
    expect([await leaseHeld(first), await leaseHeld(second)]).toEqual([1, 0]);

    book.setPrice('AAPL', 190);
    await eventually(async () => ((await lastPrice('AAPL'))?.price === 190 ? true : undefined), 15_000, 'a tick published by the first');
    // Renewals keep the first the holder; the standby never connects meanwhile.
    await new Promise((resolve) => setTimeout(resolve, LEASE_MS * 1.5));
    expect((await readyz(second)).market).toBe('standby');
    expect(sandbox.alpaca.connectionCounts().marketData).toBe(1);

    process.kill(first.pid, 'SIGKILL');
    const killedAt = Date.now();
    expect(await first.exited).toEqual({ code: null, signal: 'SIGKILL' });
    // The market moves while nobody is connected: the stream will never deliver this trade.
    book.setPrice('KO', 62.5);
    // Its log line can reach the pipe after /readyz says so: both are waited for.
    const acquired = await eventually(
      async () => ((await readyz(second)).market === 'active' ? logged(second, LEASE_ACQUIRED)[0] : undefined),
      15_000,
      'the standby to take over',
    );
    // The lease expires at most LEASE_MS after the kill, and the standby tries again right then
    // (the slack is for a loaded machine: the suite shares 2 cores).
    const tookOverMs = acquired.time - killedAt;
    expect(tookOverMs).toBeLessThan(LEASE_MS + 1_500);
    expect(await leaseHeld(second)).toBe(1);

    await eventually(async () => ((await lastPrice('KO'))?.price === 62.5 ? true : undefined), 15_000, 'the missed KO price, backfilled');
    expect((await ticks('KO')).at(-1)).toMatchObject({ price: 62.5, source: 'rest' });
    book.setPrice('AAPL', 191);
    await eventually(async () => ((await lastPrice('AAPL'))?.price === 191 ? true : undefined), 15_000, 'ticks streaming through the second');
    expect(await lastPrice('AAPL')).toMatchObject({ source: 'stream' });
    // One connection at a time all along: the sandbox counts every socket it ever accepted.
    expect(sandbox.alpaca.peakMarketDataConnections()).toBe(1);
    expect(second.output()).not.toContain('connection limit exceeded');
    console.log(`standby took over ${tookOverMs} ms after the kill (lease ${LEASE_MS} ms)`);
  });
});
