import { randomUUID } from 'node:crypto';
import { io as connectClient, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClientToServerEvents, ConnectionStatus, ServerToClientEvents, SessionEnded } from '../../src/realtime/events.ts';
import { userHash } from '../../src/users/user-hash.ts';
import { ENVELOPE_SCHEMA_VERSION, type Envelope } from '../../streams/envelope.ts';
import { createStreamProducer } from '../../streams/producer.ts';
import { compareStreamIds } from '../../streams/stream-id.ts';
import { streamKeys } from '../../streams/keys.ts';
import { partitionOf } from '../../streams/partition.ts';
import { eventually, startTestEngine, type TestEngine } from '../support/engine.ts';

/**
 * What deleting a user leaves behind. SnapTrade deleting its user (USER_DELETED) removes what came
 * from SnapTrade and keeps the user and their Alpaca account; deleting the user here
 * (`DELETE /api/me`) deletes SnapTrade's copy, then every row, received webhook and stream event
 * of the user, closes their sockets with a reason, and leaves only a hash of the id (so late
 * events cannot bring the user back) and the actor checkpoint (documented in the README).
 */
interface PortfolioBody {
  holdings: { symbol: string; accounts: unknown[] }[];
}
interface AccountsBody {
  accounts: { provider: string; connection: { status: string } }[];
}
type ClientSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

let engine: TestEngine;

beforeAll(async () => {
  engine = await startTestEngine();
});
afterAll(async () => {
  await engine?.stop();
});

/** A user with a SnapTrade connection (MSFT) and a linked Alpaca account (GOOGL). */
async function userWithTwoBrokerages(userId: string) {
  expect((await engine.api(userId, 'POST', '/api/snaptrade/connection-url', {})).status).toBe(200);
  await engine.sandbox.control.connect(userId, {
    brokerage: 'QUESTRADE',
    accounts: [{ name: 'Margin', currency: 'USD', positions: [{ symbol: 'MSFT', units: 3 }] }],
  });
  const alpaca = await engine.sandbox.control.alpacaCreateAccount({ cash: 5_000 });
  await engine.sandbox.control.alpacaSetPositions(alpaca.id, { positions: [{ symbol: 'GOOGL', qty: 2 }] });
  expect((await engine.api(userId, 'POST', '/api/alpaca/accounts', { keyId: alpaca.keyId, secretKey: alpaca.secretKey })).status).toBe(201);
  await eventually(async () => ((await symbols(userId)).join() === 'GOOGL,MSFT' ? true : undefined), 30_000, 'both holdings');
}

async function symbols(userId: string): Promise<string[]> {
  const res = await engine.api<PortfolioBody>(userId, 'GET', '/api/portfolio');
  return res.status === 200 ? res.body.holdings.map((h) => h.symbol).sort() : [];
}

async function openSocket(userId: string) {
  const socket: ClientSocket = connectClient(engine.url, { auth: { token: await engine.token(userId) }, transports: ['websocket'], reconnection: false });
  const statuses: ConnectionStatus[] = [];
  const ended: SessionEnded[] = [];
  const disconnects: string[] = [];
  socket.on('connection:status', (s) => statuses.push(s));
  socket.on('session:ended', (e) => ended.push(e));
  socket.on('disconnect', (reason) => disconnects.push(reason));
  await new Promise<void>((resolve, reject) => {
    socket.once('portfolio:snapshot', () => resolve());
    socket.once('connect_error', reject);
  });
  return { socket, statuses, ended, disconnects };
}

/** Waits until the sandbox delivered (and so the engine appended) the user's webhook of that type. */
async function delivered(userId: string, eventType: string): Promise<void> {
  await engine.sandbox.control.waitForWebhooks((d) => d.some((x) => x.state === 'delivered'), { userId, eventType });
}

/** The user's entries in their partition stream and its dead letters. */
async function streamEntriesOf(userId: string): Promise<Envelope[]> {
  const keys = streamKeys(engine.namespace);
  const partition = partitionOf(userId, engine.config.PARTITION_COUNT);
  const out: Envelope[] = [];
  for (const key of [keys.partitionStream(partition), keys.deadLetterStream(partition)]) {
    for (const [, fields] of await engine.redis.client.xrange(key, '-', '+')) {
      const raw = fields[fields.indexOf('e') + 1];
      const envelope = raw ? (JSON.parse(raw) as Envelope) : undefined;
      if (envelope?.user === userId) out.push(envelope);
    }
  }
  return out;
}

/** Waits until the user's stream holds no SnapTrade event and still holds their Alpaca ones; names what is left if not. */
async function snaptradeEventsPurged(userId: string): Promise<void> {
  let left: Envelope[] = [];
  try {
    await eventually(async () => {
      left = await streamEntriesOf(userId);
      const fromSnapTrade = left.filter((e) => e.type === 'snaptrade.webhook' || (e.payload as { provider?: string }).provider === 'snaptrade');
      return fromSnapTrade.length === 0 && left.some((e) => (e.payload as { provider?: string }).provider === 'alpaca') ? true : undefined;
    }, 30_000, 'SnapTrade events applied and purged, Alpaca ones kept');
  } catch (err) {
    const names = left.map((e) => `${e.type}${e.type === 'snaptrade.webhook' ? `/${(e.payload as { eventType?: string }).eventType}` : ''}/${(e.payload as { provider?: string }).provider ?? '-'}`);
    throw new Error(`${(err as Error).message}; left: ${names.join(', ')}`);
  }
}

/** Rows that name the user, table by table (every table with a `user_id` column, and the inbox). */
async function rowsOf(userId: string): Promise<Record<string, number>> {
  const knex = engine.db.knex;
  const tables = await knex('information_schema.columns')
    .where({ table_schema: 'public', column_name: 'user_id' })
    .pluck('table_name');
  const counts: Record<string, number> = {};
  const count = async (table: string, where: Record<string, string>) => {
    const row = (await knex(table).where(where).count({ n: '*' }).first()) as { n: string | number } | undefined;
    const n = Number(row?.n ?? 0);
    if (n > 0) counts[table] = n;
  };
  for (const table of tables as string[]) await count(table, { user_id: userId });
  await count('users', { id: userId });
  await count('webhook_inbox', { snaptrade_user_id: userId });
  return counts;
}

describe('SnapTrade deletes its user (USER_DELETED)', () => {
  it('removes everything that came from SnapTrade, keeps the user and their Alpaca account, and tells the open browser', async () => {
    const user = 'e2e-delete-snaptrade-side';
    await userWithTwoBrokerages(user);
    const tab = await openSocket(user);
    try {
      expect((await rowsOf(user)).webhook_inbox).toBeGreaterThan(0);
      await engine.sandbox.control.deleteUser(user);
      // Delivered means appended; once applied, the SnapTrade events (it included) are purged.
      await delivered(user, 'USER_DELETED');
      await snaptradeEventsPurged(user);

      // A sync that raced the deletion appends after USER_DELETED (SnapTrade refused it, or its
      // fetch finished just before): applied, it changes nothing, and it is purged too.
      const producer = createStreamProducer(engine.redis.client, streamKeys(engine.namespace));
      const late = (type: string, payload: Record<string, unknown>) =>
        producer.append({ id: randomUUID(), type, user, partition: partitionOf(user, engine.config.PARTITION_COUNT), time: new Date().toISOString(), schema: ENVELOPE_SCHEMA_VERSION, payload });
      await late('positions.synced', { provider: 'snaptrade', accountId: 'late-account', positions: { results: [{ units: 3, instrument: { symbol: 'MSFT' } }] }, balances: [], asOf: new Date().toISOString(), fetchedAt: new Date().toISOString(), reason: 'late-answer' });
      const lastLate = await late('sync.failed', { provider: 'snaptrade', error: 'Invalid userID or userSecret', retryable: false, status: 401, code: '1083', registrationGeneration: 1 });
      await eventually(async () => {
        const row = await engine.db.knex('actor_checkpoints').where({ user_id: user }).first('last_stream_id');
        return row && compareStreamIds(row.last_stream_id as string, lastLate) >= 0 ? true : undefined;
      }, 30_000, 'the late sync results applied');
      await snaptradeEventsPurged(user);

      expect(await symbols(user)).toEqual(['GOOGL']);
      const accounts = (await engine.api<AccountsBody>(user, 'GET', '/api/accounts')).body.accounts;
      expect(accounts.map((a) => a.provider)).toEqual(['alpaca']);
      const rows = await rowsOf(user);
      expect(rows.snaptrade_users).toBeUndefined();
      expect(rows.webhook_inbox).toBeUndefined();
      expect(rows.users).toBe(1);
      expect(await engine.db.knex('brokerage_connections').where({ user_id: user }).pluck('provider')).toEqual(['alpaca']);
      await eventually(async () => (tab.statuses.some((s) => s.status === 'removed') ? true : undefined), 5_000, 'the removal pushed');
      expect(tab.ended).toEqual([]);
      expect(tab.socket.connected).toBe(true);
    } finally {
      tab.socket.close();
    }
  });
});

describe('DELETE /api/me', () => {
  it('deletes the user at SnapTrade and here, closes their sockets with a reason, and leaves nothing personal', async () => {
    const user = 'e2e-delete-me';
    await userWithTwoBrokerages(user);
    const tab = await openSocket(user);

    const res = await engine.api<{ deleted: boolean; applied: boolean; snaptradeDeleted: boolean }>(user, 'DELETE', '/api/me');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ deleted: true, applied: true, snaptradeDeleted: true });

    await expect(engine.sandbox.control.user(user)).rejects.toMatchObject({ status: 404 });
    expect(await rowsOf(user)).toEqual({ actor_checkpoints: 1 });
    expect(await engine.db.knex('deleted_users').where({ user_hash: userHash(user) }).first()).toBeDefined();
    await eventually(async () => (tab.disconnects.length ? true : undefined), 5_000, 'the socket closed');
    expect(tab.ended).toEqual([expect.objectContaining({ reason: 'account_deleted', message: expect.stringMatching(/deleted/) })]);
    expect(tab.disconnects).toEqual(['io server disconnect']);

    // SnapTrade's USER_DELETED arrives after, and a late webhook about the user (sent before
    // SnapTrade forgot them): both are applied without bringing the user back, and purged.
    await delivered(user, 'USER_DELETED');
    await engine.sandbox.control.fireWebhook({ eventType: 'CONNECTION_UPDATED', userId: user, fields: { brokerageAuthorizationId: 'late-authorization' } });
    await delivered(user, 'CONNECTION_UPDATED');
    await eventually(async () => ((await streamEntriesOf(user)).length === 0 ? true : undefined), 10_000, 'every event applied and purged');
    expect(await rowsOf(user)).toEqual({ actor_checkpoints: 1 });
  });

  it('answers 404 for a user who has nothing here, and a deleted user who comes back starts afresh', async () => {
    const nobody = await engine.api<{ error: { code: string } }>('e2e-delete-nobody', 'DELETE', '/api/me');
    expect(nobody.status).toBe(404);
    expect(nobody.body.error.code).toBe('FS_NOT_FOUND');

    const user = 'e2e-delete-comes-back';
    expect((await engine.api(user, 'POST', '/api/snaptrade/connection-url', {})).status).toBe(200);
    expect((await engine.api(user, 'DELETE', '/api/me')).status).toBe(200);
    expect((await engine.api(user, 'POST', '/api/snaptrade/connection-url', {})).status).toBe(200);
    expect(await engine.db.knex('deleted_users').where({ user_hash: userHash(user) }).first()).toBeUndefined();
    await engine.sandbox.control.connect(user, { brokerage: 'ROBINHOOD', accounts: [{ name: 'Individual', currency: 'USD', positions: [{ symbol: 'NVDA', units: 1 }] }] });
    await eventually(async () => ((await symbols(user)).join() === 'NVDA' ? true : undefined), 20_000, 'the new holding');
  });

  it('lets an admin delete a user, and refuses without the admin token', async () => {
    const user = 'e2e-delete-by-admin';
    expect((await engine.api(user, 'POST', '/api/snaptrade/connection-url', {})).status).toBe(200);
    const path = `${engine.url}/api/admin/users/${user}`;
    expect((await fetch(path, { method: 'DELETE', headers: { authorization: `Bearer ${await engine.token(user)}` } })).status).toBe(401);
    const res = await fetch(path, { method: 'DELETE', headers: { authorization: `Bearer ${engine.config.ADMIN_TOKEN}` } });
    expect(res.status).toBe(200);
    expect(await rowsOf(user)).toEqual(expect.not.objectContaining({ users: 1 }));
  });
});
