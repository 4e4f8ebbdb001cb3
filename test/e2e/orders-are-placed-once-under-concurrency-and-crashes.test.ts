import { spawn } from 'node:child_process';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFoliostream, type Foliostream } from '../../src/app/foliostream.ts';
import { createAlpacaClient } from '../../src/providers/alpaca/client.ts';
import { startTestEngine, type TestEngine } from '../support/engine.ts';
import { accountsOf, placeOrder } from '../support/orders.ts';

/**
 * Exactly once where it is hard:
 * - ten requests with one Idempotency-Key at once, half on each of two web nodes, place one order
 *   (at Alpaca and at SnapTrade) and all answer it;
 * - a web node killed (SIGKILL, from inside, right after the brokerage accepted the order and
 *   before anything was written: `ORDER_CRASH_POINT`) leaves exactly one order: the next request
 *   with the key, on another node, waits out the dead node's lease, finds the order at the
 *   brokerage (Alpaca by client order id, SnapTrade among the recent orders) and answers it.
 */
const USER = 'e2e-orders-once';
let engine: TestEngine;
let second: Foliostream;
let questrade: { id: string; externalId: string };
let alpaca: { id: string; keyId: string; secretKey: string };

beforeAll(async () => {
  engine = await startTestEngine({ env: { ORDER_LEASE_MS: '1000', ALPACA_LINK_REFRESH_MS: '300' } });
  second = await startFoliostream({ ...engine.config, ROLES: ['web'] }, pino({ level: 'error' }), { namespace: engine.namespace });
  expect((await engine.api(USER, 'POST', '/api/snaptrade/connection-url', {})).status).toBe(200);
  await engine.sandbox.control.connect(USER, {
    brokerage: 'QUESTRADE',
    type: 'trade',
    accounts: [{ name: 'Margin', currency: 'USD', cash: { USD: 100_000 }, positions: [{ symbol: 'AAPL', units: 10, averageCost: 150 }] }],
  });
  const created = await engine.sandbox.control.alpacaCreateAccount({ cash: 100_000 });
  expect((await engine.api(USER, 'POST', '/api/alpaca/accounts', { keyId: created.keyId, secretKey: created.secretKey })).status).toBe(201);
  const accounts = await accountsOf(engine, USER, 2);
  questrade = accounts.find((a) => a.provider === 'snaptrade')!;
  alpaca = { id: accounts.find((a) => a.provider === 'alpaca')!.id, keyId: created.keyId, secretKey: created.secretKey };
});

afterAll(async () => {
  await second?.stop();
  await engine?.stop();
});

const snaptradeOrders = () => engine.sandbox.snaptrade.engine.store.ordersOf(questrade.externalId);
async function alpacaOrdersWith(clientOrderId: string) {
  const client = createAlpacaClient({ keyId: alpaca.keyId, secretKey: alpaca.secretKey, tradingUrl: engine.sandbox.alpacaUrl });
  return (await client.sdk.trading.orders.getAllOrders({ status: 'all', limit: 500 })).filter((o) => o.clientOrderId === clientOrderId);
}

/** A web-only engine process that kills itself right after a brokerage accepts an order. */
async function crashingWebNode(): Promise<{ url: string; exited: Promise<NodeJS.Signals | null> }> {
  const c = engine.config;
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      NODE_ENV: 'test',
      ROLES: 'web',
      HOST: '127.0.0.1',
      PORT: '0',
      LOG_LEVEL: 'info',
      REDIS_URL: engine.redis.url,
      DATABASE_URL: engine.db.url,
      SNAPTRADE_BASE_URL: c.SNAPTRADE_BASE_URL!,
      SNAPTRADE_CLIENT_ID: c.SNAPTRADE_CLIENT_ID!,
      SNAPTRADE_CONSUMER_KEY: c.SNAPTRADE_CONSUMER_KEY!,
      ALPACA_TRADING_URL: c.ALPACA_TRADING_URL!,
      ALPACA_DATA_URL: c.ALPACA_DATA_URL!,
      ALPACA_STREAM_URL: c.ALPACA_STREAM_URL!,
      PARTITION_COUNT: String(c.PARTITION_COUNT),
      ORDER_LEASE_MS: '1000',
      ORDER_CRASH_POINT: 'after-brokerage-answer',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_code, signal) => resolve(signal)));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setInterval(() => {
      const line = out.split('\n').find((l) => l.includes('"web role listening"'));
      if (line) {
        clearInterval(timer);
        resolve((JSON.parse(line) as { url: string }).url);
      }
    }, 50);
    void exited.then(() => {
      clearInterval(timer);
      reject(new Error(`the web node exited before it listened:\n${out.slice(-3000)}`));
    });
  });
  return { url, exited };
}

describe('one order per Idempotency-Key', () => {
  it('ten concurrent requests with one key on two web nodes place one order, at Alpaca and at SnapTrade', async () => {
    for (const [key, body, placedAt] of [
      ['e2e-concurrent-alpaca', { accountId: alpaca.id, symbol: 'MSFT', side: 'buy', quantity: '1', type: 'market' }, 'alpaca'],
      ['e2e-concurrent-snaptrade', { accountId: questrade.id, symbol: 'AAPL', side: 'buy', quantity: '1', type: 'market' }, 'snaptrade'],
    ] as const) {
      const before = snaptradeOrders().length;
      const answers = await Promise.all(
        Array.from({ length: 10 }, (_, i) => placeOrder(engine, USER, key, body, i % 2 === 0 ? engine.url : second.url!)),
      );
      expect(answers.map((a) => a.status)).toEqual(Array(10).fill(201));
      expect(new Set(answers.map((a) => a.body.id)).size).toBe(1);
      expect(answers.filter((a) => a.replayed === 'false')).toHaveLength(1);
      if (placedAt === 'alpaca') expect(await alpacaOrdersWith(key)).toHaveLength(1);
      else expect(snaptradeOrders().length - before).toBe(1);
    }
  });

  it('a web node killed between the brokerage answer and our write leaves one order, recovered by the next request', async () => {
    for (const [key, body, placedAt] of [
      ['e2e-crash-alpaca', { accountId: alpaca.id, symbol: 'KO', side: 'buy', quantity: '2', type: 'market' }, 'alpaca'],
      ['e2e-crash-snaptrade', { accountId: questrade.id, symbol: 'AAPL', side: 'buy', quantity: '2', type: 'market' }, 'snaptrade'],
    ] as const) {
      const before = snaptradeOrders().length;
      const beforeIds = new Set(snaptradeOrders().map((o) => o.brokerageOrderId));
      const node = await crashingWebNode();
      await expect(placeOrder(engine, USER, key, body, node.url)).rejects.toThrow();
      expect(await node.exited).toBe('SIGKILL');
      // The brokerage took it; we wrote nothing but the claim.
      if (placedAt === 'alpaca') expect(await alpacaOrdersWith(key)).toHaveLength(1);
      else expect(snaptradeOrders().length - before).toBe(1);
      const claim = await engine.db.knex('order_requests').where({ user_id: USER, idempotency_key: key }).first();
      expect(claim).toMatchObject({ state: 'placing' });
      // Nothing of ours: at most the order as Alpaca's trade update reported it (no routing).
      const row = await engine.db.knex('orders').where({ user_id: USER, client_order_id: key }).first();
      expect(row?.routing ?? null).toBeNull();

      const recovered = await placeOrder(engine, USER, key, body, second.url);
      expect(recovered.status, JSON.stringify(recovered.body)).toBe(201);
      expect(recovered.body).toMatchObject({ provider: placedAt, clientOrderId: key, status: 'filled', quantity: '2' });
      expect(recovered.body.routing?.accountId).toBe(body.accountId);
      const again = await placeOrder(engine, USER, key, body);
      expect(again.replayed).toBe('true');
      expect(again.body.id).toBe(recovered.body.id);
      if (placedAt === 'alpaca') {
        const atAlpaca = await alpacaOrdersWith(key);
        expect(atAlpaca).toHaveLength(1);
        expect(recovered.body.brokerageOrderId).toBe(atAlpaca[0]!.id);
      } else {
        expect(snaptradeOrders().length - before).toBe(1);
        const placed = snaptradeOrders().filter((o) => !beforeIds.has(o.brokerageOrderId));
        expect(recovered.body.brokerageOrderId).toBe(placed[0]!.brokerageOrderId);
      }
    }
  });
});
