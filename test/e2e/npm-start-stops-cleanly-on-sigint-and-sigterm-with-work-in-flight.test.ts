import { execFileSync, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueUserToken, userTokenSettings } from '../../src/auth/user-tokens.ts';
import { loadConfig } from '../../src/config/config.ts';
import { startLocalRedis, type LocalRedis } from '../../src/services/local-redis.ts';
import { startSandbox, type Sandbox } from '../../sandbox/sandbox.ts';
import { sandboxEnv } from '../support/role-process.ts';
import { signWebhook } from '../../src/snaptrade/signature.ts';
import { compareStreamIds } from '../../streams/stream-id.ts';
import { SYNC_QUEUE } from '../../src/sync/sync-jobs.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { eventually } from '../support/engine.ts';

/**
 * `npm start` (`node --max-semi-space-size=64 --import tsx src/main.ts`, every role in one process) stopped by SIGINT, then
 * by SIGTERM, each time while holdings webhooks are being posted to it and account syncs are
 * running (the brokerage answers positions slowly): it exits 0, leaves no process behind (its
 * process group is empty), and nothing is lost: after a restart every webhook it acknowledged
 * (200 `accepted`) is applied (its actor's checkpoint passed it, the webhook is in the inbox),
 * and the holdings equal the brokerage's, so the syncs in flight or queued at the stop happened.
 * Its Redis is a redis-server of this file's own, its Postgres a database of its own.
 */
const USER = 'e2e-shutdown-user';
const POSITIONS = 'AccountInformation_getAllAccountPositions';
const log = pino({ level: 'warn' });
let root: string;
let redis: LocalRedis;
let database: TestDatabase;
let sandbox: Sandbox;
let env: Record<string, string>;
const accountIds: string[] = [];
let authorizationId: string;

interface EngineProcess {
  pid: number;
  url: string;
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

async function startEngineProcess(): Promise<EngineProcess> {
  // Its own process group (detached): the test signals it alone, and checks the group is gone.
  // As `npm start` runs it (package.json), without npm in between.
  const child = spawn(process.execPath, ['--max-semi-space-size=64', '--import', 'tsx', 'src/main.ts'], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setInterval(() => {
      for (const line of out.split('\n')) {
        if (!line.startsWith('{')) continue;
        const entry = JSON.parse(line) as { msg?: string; url?: string };
        if (entry.msg === 'web role listening' && entry.url) {
          clearInterval(timer);
          resolve(entry.url);
          return;
        }
      }
    }, 50);
    void exited.then(({ code }) => {
      clearInterval(timer);
      reject(new Error(`npm start exited (${code}) before it listened:\n${out.slice(-3000)}`));
    });
  });
  return { pid: child.pid!, url, output: () => out, exited };
}

/**
 * The live processes of the group `pid` leads (tsx's esbuild service among them while it runs).
 * A zombie has exited: it only waits to be reaped by whatever runs as PID 1 here.
 */
function groupMembers(pid: number): string[] {
  return execFileSync('ps', ['-eo', 'pid=,pgid=,stat=,args='], { encoding: 'utf8' })
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .filter(([, pgid, stat]) => pgid === String(pid) && !stat?.startsWith('Z'))
    .map((fields) => fields.join(' '));
}

/** Resolves once no process of the group is left (the esbuild service exits after its parent). */
async function groupGone(pid: number): Promise<void> {
  await eventually(async () => (groupMembers(pid).length === 0 ? true : undefined), 10_000, `the processes of group ${pid} to exit: ${groupMembers(pid).join('; ')}`);
}

interface Ack {
  webhookId: string;
  streamId: string;
}

/**
 * Posts signed ACCOUNT_HOLDINGS_UPDATED webhooks for the user's accounts, four at a time, until
 * `stop()`; collects the ones the engine acknowledged. Refusals and dropped connections (the
 * engine stopping) are what SnapTrade would retry: not acknowledged, not counted.
 */
function postWebhooks(url: string): { acks: Ack[]; stop(): Promise<void> } {
  const acks: Ack[] = [];
  let stopped = false;
  const worker = async (lane: number) => {
    for (let i = lane; !stopped; i += 4) {
      const accountId = accountIds[i % accountIds.length]!;
      const body = {
        webhookId: randomUUID(),
        clientId: sandbox.clientId,
        eventTimestamp: new Date().toISOString(),
        userId: USER,
        eventType: 'ACCOUNT_HOLDINGS_UPDATED',
        accountId,
        brokerageId: 'questrade',
        brokerageAuthorizationId: authorizationId,
        details: { positions: { success: true, error: null }, balances: { success: true, error: null } },
      };
      try {
        const response = await fetch(`${url}/api/snaptrade/webhook`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', signature: signWebhook(sandbox.consumerKey, body) },
          body: JSON.stringify(body),
        });
        const answer = (await response.json()) as { status?: string; streamId?: string };
        if (response.status === 200 && answer.status === 'accepted') acks.push({ webhookId: body.webhookId, streamId: answer.streamId! });
      } catch {
        // Refused or dropped while stopping: not acknowledged.
      }
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  };
  const lanes = [0, 1, 2, 3].map((lane) => worker(lane));
  return {
    acks,
    async stop() {
      stopped = true;
      await Promise.all(lanes);
    },
  };
}

/** The brokerage's truth: symbol -> units summed over the user's accounts. */
async function brokerage(): Promise<Record<string, string>> {
  const out = new Map<string, number>();
  for (const id of accountIds) for (const p of (await sandbox.control.account(id)).positions) out.set(p.symbol, (out.get(p.symbol) ?? 0) + p.units);
  return Object.fromEntries([...out].sort().map(([s, u]) => [s, String(u)]));
}

async function engineHoldings(url: string): Promise<Record<string, string>> {
  const token = await issueUserToken(userTokenSettings(loadConfig(env)), USER, 600);
  const response = await fetch(`${url}/api/portfolio`, { headers: { authorization: `Bearer ${token}` } });
  const body = (await response.json()) as { holdings: { symbol: string; quantity: string }[] };
  return Object.fromEntries(body.holdings.map((h) => [h.symbol, h.quantity]).sort());
}

/** After a restart: every acknowledged webhook applied, and the holdings the brokerage's. */
async function expectNothingLost(url: string, acks: readonly Ack[]): Promise<void> {
  const last = [...acks].sort((a, b) => compareStreamIds(a.streamId, b.streamId)).at(-1)!;
  await eventually(
    async () => {
      const row = await database.knex('actor_checkpoints').where({ user_id: USER }).first('last_stream_id');
      return row && compareStreamIds(row.last_stream_id as string, last.streamId) >= 0 ? true : undefined;
    },
    30_000,
    `the checkpoint to pass the last acknowledged webhook ${last.streamId}`,
  );
  const inbox = new Set(
    (await database.knex('webhook_inbox').whereIn('webhook_id', acks.map((a) => a.webhookId)).select('webhook_id')).map((r) => r.webhook_id as string),
  );
  expect(acks.filter((a) => !inbox.has(a.webhookId))).toEqual([]);
  const truth = await brokerage();
  await eventually(async () => (JSON.stringify(await engineHoldings(url)) === JSON.stringify(truth) ? true : undefined), 30_000, `holdings ${JSON.stringify(truth)}`);
}

/**
 * Load, then the signal with work in flight: the brokerage changes, webhooks pour in, and the
 * signal goes once some were acknowledged and a sync job is running (BullMQ says so).
 */
async function stopUnderLoad(engine: EngineProcess, signal: NodeJS.Signals, units: number): Promise<Ack[]> {
  for (const [i, id] of accountIds.entries()) {
    await sandbox.control.setPositions(id, { positions: [{ symbol: 'AAPL', units: units + i }, { symbol: 'MSFT', units }], notify: false });
  }
  const load = postWebhooks(engine.url);
  const queue = new Queue(SYNC_QUEUE, { connection: { url: redis.url }, prefix: '{fs-bull}' });
  try {
    await eventually(
      async () => (load.acks.length >= 20 && (await queue.getActiveCount()) > 0 ? true : undefined),
      20_000,
      'acknowledged webhooks and a sync running',
    );
    process.kill(engine.pid, signal);
    const { code, signal: killedBy } = await engine.exited;
    expect({ code, killedBy }, engine.output().slice(-3000)).toEqual({ code: 0, killedBy: null });
  } finally {
    await load.stop();
    await queue.close();
  }
  // Nothing of it is left running.
  await groupGone(engine.pid);
  expect(engine.output()).toMatch(new RegExp(`"signal":"${signal}".*"msg":"shutting down"`));
  expect(engine.output()).toMatch(/"msg":"stopped"/);
  return load.acks;
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'foliostream-shutdown-'));
  redis = await startLocalRedis({ dir: join(root, 'redis'), persistent: false, log });
  database = await createTestDatabase({ migrate: false });
  // A budget far above the load: syncs wait for the brokerage's latency, never for the budget.
  sandbox = await startSandbox({
    snaptradePort: 0,
    alpacaPort: 0,
    webhookUrl: null,
    webhookRetryScheduleMs: [200, 500, 1_000],
    rateLimit: { limit: 100_000, windowMs: 60_000 },
  });
  env = {
    NODE_ENV: 'test',
    LOG_LEVEL: 'info',
    HOST: '127.0.0.1',
    PORT: '0',
    REDIS_URL: redis.url,
    DATABASE_URL: database.url,
    ...sandboxEnv(sandbox),
    PARTITION_COUNT: '4',
    LEASE_TTL_MS: '3000',
    // Every applied webhook makes an account sync job: syncs run while webhooks keep coming.
    SYNC_DEBOUNCE_MS: '0',
    SYNC_ACCOUNT_FLOOR_MS: '0',
    SYNC_BACKOFF_BASE_MS: '100',
    SNAPTRADE_REQUESTS_PER_MINUTE: '100000',
    SNAPTRADE_USER_SHARE: '1',
  };
});

afterAll(async () => {
  await sandbox?.close();
  await database?.drop();
  await redis?.stop();
  if (root) rmSync(root, { recursive: true, force: true });
});

describe('npm start, stopped with work in flight', () => {
  it('exits 0 on SIGINT and on SIGTERM, leaves no process behind, and loses no acknowledged webhook or sync', async () => {
    let engine = await startEngineProcess();
    try {
      await sandbox.control.configureWebhooks({ url: `${engine.url}/api/snaptrade/webhook` });
      const token = await issueUserToken(userTokenSettings(loadConfig(env)), USER, 600);
      const registered = await fetch(`${engine.url}/api/snaptrade/connection-url`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: '{}',
      });
      expect(registered.status).toBe(200);
      const auth = await sandbox.control.connect(USER, {
        brokerage: 'QUESTRADE',
        accounts: [1, 2, 3, 4].map((n) => ({ name: `Account ${n}`, currency: 'USD', positions: [{ symbol: 'AAPL', units: n }] })),
      });
      authorizationId = auth.id;
      accountIds.push(...auth.accounts.map((a) => a.id));
      const initial = await brokerage();
      await eventually(async () => (JSON.stringify(await engineHoldings(engine.url)) === JSON.stringify(initial) ? true : undefined), 30_000, 'the first sync');
      // The brokerage answers positions slowly from now on: syncs are in flight at each stop.
      await sandbox.control.addFault({ kind: 'latency', latencyMs: 600, match: { operationId: POSITIONS } });

      const first = await stopUnderLoad(engine, 'SIGINT', 10);
      engine = await startEngineProcess();
      await sandbox.control.configureWebhooks({ url: `${engine.url}/api/snaptrade/webhook` });
      await expectNothingLost(engine.url, first);

      const second = await stopUnderLoad(engine, 'SIGTERM', 20);
      engine = await startEngineProcess();
      await expectNothingLost(engine.url, second);
      // Idle, it stops cleanly too.
      process.kill(engine.pid, 'SIGTERM');
      expect(await engine.exited).toEqual({ code: 0, signal: null });
      await groupGone(engine.pid);
    } finally {
      if (groupMembers(engine.pid).length) {
        process.kill(-engine.pid, 'SIGKILL');
        await engine.exited;
      }
    }
  });
});
