import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRandom } from '../../sandbox/market/seeded-random.ts';
import type { ReplayStarted, ReplayStatusBody } from '../../src/api/schemas.ts';
import { eventually, startTestEngine, type TestEngine } from '../support/engine.ts';
import { replayCli } from '../support/replay-cli.ts';

/**
 * After a random history on the sandbox (connections added, broken, fixed and removed, holdings
 * changing everywhere), a replay of every user through the admin API (a BullMQ job; each user's
 * actor folds their stream with the same pure projection it applies events with) finds no
 * differences, from the snapshots and from the start. A holdings row changed by hand in
 * Postgres is then named in a replay's report (identity key, field, live and rebuilt values) and
 * repaired, and a replay after it matches again.
 */
const ADMIN_TOKEN = 'replay-admin-token-0123456789';
const USERS = ['replay-ann', 'replay-bob', 'replay-cyd'];
const TRADER = 'replay-dee';
const EVERYONE = USERS.length + 1;
const SYMBOLS = ['AAPL', 'MSFT', 'GOOGL', 'AMZN', 'NVDA', 'SPY'];
let engine: TestEngine;

beforeAll(async () => {
  engine = await startTestEngine({ env: { ADMIN_TOKEN, SYNC_DEBOUNCE_MS: '50' } });
});
afterAll(async () => {
  await engine?.stop();
});

async function admin<T>(method: string, path: string, body?: unknown, token: string | null = ADMIN_TOKEN): Promise<{ status: number; body: T }> {
  const response = await fetch(`${engine.url}${path}`, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, body: (text ? JSON.parse(text) : null) as T };
}

async function replay(request: Record<string, unknown>): Promise<ReplayStatusBody> {
  const started = await admin<ReplayStarted>('POST', '/api/admin/replays', request);
  expect(started.status, JSON.stringify(started.body)).toBe(202);
  return eventually(
    async () => {
      const { body } = await admin<ReplayStatusBody>('GET', `/api/admin/replays/${started.body.id}`);
      if (body.state === 'failed') throw new Error(`replay failed: ${body.error}`);
      return body.state === 'done' ? body : undefined;
    },
    60_000,
    'the replay to finish',
  );
}

/** `npm run replay -- ...args` against the engine's Redis and Postgres: exit code and output. */
const cli = (...args: string[]) =>
  replayCli({ redisUrl: engine.redis.url, databaseUrl: engine.db.url, namespace: engine.namespace, partitionCount: engine.config.PARTITION_COUNT }, ...args);

interface PortfolioBody {
  holdings: { symbol: string; quantity: string; accounts: { accountId: string; quantity: string }[] }[];
}

/** symbol -> units across the user's live sandbox accounts. */
async function truth(accounts: readonly string[]): Promise<string> {
  const out = new Map<string, number>();
  for (const id of accounts) {
    for (const p of (await engine.sandbox.control.account(id)).positions) if (p.units !== 0) out.set(p.symbol, (out.get(p.symbol) ?? 0) + p.units);
  }
  return JSON.stringify([...out.entries()].sort());
}

async function engineView(user: string): Promise<string> {
  const { body } = await engine.api<PortfolioBody>(user, 'GET', '/api/portfolio');
  return JSON.stringify(body.holdings.map((h) => [h.symbol, Number(h.quantity)] as const).sort());
}

describe('admin replay after a random history', () => {
  it('finds no differences, names and repairs a corrupted holding, and wants the admin token', async () => {
    const control = engine.sandbox.control;
    const random = createRandom(14_14_14);
    const live = new Map<string, string[]>();
    const authorizations = new Map<string, string[]>();
    const accountsOf = new Map<string, string[]>();
    for (const user of USERS) {
      expect((await engine.api(user, 'POST', '/api/snaptrade/connection-url', {})).status).toBe(200);
      for (const brokerage of user === USERS[0] ? ['QUESTRADE', 'ROBINHOOD'] : ['WEALTHSIMPLE']) {
        const auth = await control.connect(user, {
          brokerage,
          accounts: [
            { name: 'One', currency: 'USD', positions: [{ symbol: 'AAPL', units: 10 }, { symbol: 'MSFT', units: 2 }] },
            { name: 'Two', currency: 'USD', positions: [{ symbol: 'AAPL', units: 1 }] },
          ],
        });
        live.set(user, [...(live.get(user) ?? []), ...auth.accounts.map((a) => a.id)]);
        authorizations.set(user, [...(authorizations.get(user) ?? []), auth.id]);
        accountsOf.set(auth.id, auth.accounts.map((a) => a.id));
      }
    }
    // Random holdings changes, a connection broken and fixed, one removed with its accounts.
    for (let round = 0; round < 12; round++) {
      for (const user of USERS) {
        for (const account of live.get(user)!) {
          if (random() < 0.5) continue;
          const positions = SYMBOLS.filter(() => random() < 0.5).map((symbol) => ({ symbol, units: 1 + Math.floor(random() * 100) }));
          await control.setPositions(account, { positions, notify: true });
        }
      }
      if (round === 3) await control.breakConnection(authorizations.get(USERS[1]!)![0]!);
      if (round === 6) await control.fixConnection(authorizations.get(USERS[1]!)![0]!);
      if (round === 8) {
        const removed = authorizations.get(USERS[0]!)![1]!;
        const accounts = accountsOf.get(removed)!;
        await control.removeConnection(removed);
        live.set(USERS[0]!, live.get(USERS[0]!)!.filter((id) => !accounts.includes(id)));
      }
    }
    // A trader with a linked Alpaca account places an order; the fill comes back as a trade update.
    const alpaca = await control.alpacaCreateAccount({ cash: 10_000 });
    expect((await engine.api(TRADER, 'POST', '/api/alpaca/accounts', { keyId: alpaca.keyId, secretKey: alpaca.secretKey })).status).toBe(201);
    await eventually(async () => ((await engine.api<{ accounts: unknown[] }>(TRADER, 'GET', '/api/accounts')).body.accounts.length ? true : undefined), 30_000, 'the trader\'s account');
    const order = await fetch(`${engine.url}/api/orders`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await engine.token(TRADER)}`, 'content-type': 'application/json', 'idempotency-key': 'replay-order-1' },
      body: JSON.stringify({ symbol: 'MSFT', side: 'buy', quantity: '1', type: 'market' }),
    });
    expect(order.status).toBe(201);
    const orderId = ((await order.json()) as { id: string }).id;
    await eventually(async () => ((await engine.api<{ status: string }>(TRADER, 'GET', `/api/orders/${orderId}`)).body.status === 'filled' ? true : undefined), 30_000, 'the order filled');
    for (const user of USERS) {
      const expected = await truth(live.get(user)!);
      await eventually(async () => ((await engineView(user)) === expected ? true : undefined), 60_000, `${user}'s holdings to settle`);
    }

    // Admin routes answer 401 without the token, for known and unknown paths alike.
    expect((await admin('POST', '/api/admin/replays', { all: true }, null)).status).toBe(401);
    expect((await admin('GET', '/api/admin/replays/00000000-0000-4000-8000-000000000000', undefined, 'wrong-token-wrong-token')).status).toBe(401);
    expect((await admin('POST', '/api/admin/replays', { all: true, users: ['x'] })).status).toBe(400);

    // One user values their portfolio in CAD: a settings.changed, folded by the replay as the actor applied it.
    const settings = await engine.api<{ baseCurrency: string; applied: boolean }>(USERS[1]!, 'PUT', '/api/me/settings', { baseCurrency: 'CAD' });
    expect(settings.body).toMatchObject({ baseCurrency: 'CAD', applied: true });

    const clean = await replay({ all: true, dryRun: true });
    expect(clean.report).toMatchObject({ users: [], matched: EVERYONE, differed: 0 });
    expect(clean.progress).toEqual({ done: EVERYONE, total: EVERYONE });
    const fromStart = await replay({ users: [...USERS, TRADER], dryRun: true, fromStart: true });
    expect(fromStart.report).toMatchObject({ users: [], matched: EVERYONE, differed: 0 });

    // Corrupt one holdings row by hand.
    const db = engine.db.knex;
    const victim = await db('holdings as h')
      .join('securities as s', 's.id', 'h.security_id')
      .where('h.user_id', USERS[2])
      .orderBy('s.identity_key')
      .first('h.security_id', 's.identity_key', 'h.quantity');
    expect(victim).toBeDefined();
    await db('holdings').where({ user_id: USERS[2], security_id: victim.security_id }).update({ quantity: '123456' });

    const dry = await replay({ users: [USERS[2]], dryRun: true });
    expect(dry.report.differed).toBe(1);
    expect(dry.report.users[0]).toMatchObject({
      userId: USERS[2],
      repaired: false,
      differences: {
        holdings: {
          added: [],
          removed: [],
          changed: [{ key: victim.identity_key, fields: [{ field: 'quantity', live: '123456', rebuilt: String(Number(victim.quantity)) }] }],
        },
        accounts: { added: [], removed: [], changed: [] },
        connections: { added: [], removed: [], changed: [] },
      },
    });
    const stillCorrupt = await db('holdings').where({ user_id: USERS[2], security_id: victim.security_id }).first('quantity');
    expect(Number(stillCorrupt.quantity)).toBe(123456);

    const repaired = await replay({ users: [USERS[2]] });
    expect(repaired.report.users[0]).toMatchObject({ userId: USERS[2], repaired: true });
    const fixed = await db('holdings').where({ user_id: USERS[2], security_id: victim.security_id }).first('quantity');
    expect(Number(fixed.quantity)).toBe(Number(victim.quantity));
    const after = await replay({ all: true, dryRun: true });
    expect(after.report).toMatchObject({ users: [], matched: EVERYONE, differed: 0 });

    // The trader's order, changed by hand, is named and repaired too.
    await db('orders').where({ id: orderId }).update({ status: 'canceled' });
    const orderDiff = await replay({ users: [TRADER] });
    expect(orderDiff.report.users[0]).toMatchObject({
      repaired: true,
      differences: { orders: { changed: [{ key: orderId, fields: [{ field: 'status', live: 'canceled', rebuilt: 'filled' }] }] } },
    });
    expect((await db('orders').where({ id: orderId }).first('status')).status).toBe('filled');

    // So is a base currency changed by hand; the repair writes the holdings in the rebuilt base.
    await db('users').where({ id: USERS[1] }).update({ base_currency: 'USD' });
    const baseDiff = await replay({ users: [USERS[1]] });
    expect(baseDiff.report.users[0]).toMatchObject({
      repaired: true,
      differences: { settings: { changed: [{ key: 'user', fields: [{ field: 'baseCurrency', live: 'USD', rebuilt: 'CAD' }] }] } },
    });
    expect((await db('users').where({ id: USERS[1] }).first('base_currency')).base_currency).toBe('CAD');
    expect(new Set((await db('holdings').where({ user_id: USERS[1] }).select('base_currency')).map((r) => r.base_currency))).toEqual(new Set(['CAD']));

    // The same through the CLI: a dry run names the corrupted row (exit 1) and leaves it, a replay
    // repairs it through the engine (exit 1: differences were found), then nothing differs (0).
    await db('holdings').where({ user_id: USERS[2], security_id: victim.security_id }).update({ quantity: '7' });
    const dryCli = await cli('--user', USERS[2]!, '--dry-run');
    expect(dryCli.code, dryCli.stderr).toBe(1);
    expect(dryCli.stdout).toContain(`${USERS[2]} holdings changed ${victim.identity_key} quantity: live "7", rebuilt "${Number(victim.quantity)}"`);
    expect(Number((await db('holdings').where({ user_id: USERS[2], security_id: victim.security_id }).first('quantity')).quantity)).toBe(7);
    const repairCli = await cli('--all');
    expect(repairCli.code, repairCli.stderr).toBe(1);
    expect(repairCli.stdout).toMatch(new RegExp(`${USERS[2]}.*yes`));
    expect(Number((await db('holdings').where({ user_id: USERS[2], security_id: victim.security_id }).first('quantity')).quantity)).toBe(Number(victim.quantity));
    const cleanCli = await cli('--all', '--dry-run', '--from-start');
    expect(cleanCli.code, cleanCli.stderr).toBe(0);
    expect(cleanCli.stdout).toMatch(/│ 4\s+│ 4\s+│ 0\s+│ 0/);
    expect((await cli('--all', '--user', 'x')).code).toBe(2);
  });
});
