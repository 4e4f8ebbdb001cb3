import { io as connectClient, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClientToServerEvents, ConnectionStatus, ServerToClientEvents } from '../../src/realtime/events.ts';
import { ENVELOPE_SCHEMA_VERSION } from '../../streams/envelope.ts';
import { partitionOf } from '../../streams/partition.ts';
import { createStreamProducer } from '../../streams/producer.ts';
import { streamKeys } from '../../streams/keys.ts';
import { waitForCheckpoint } from '../../src/api/checkpoint-wait.ts';
import { eventually, startTestEngine, type TestEngine } from '../support/engine.ts';

/**
 * When SnapTrade stops accepting a user's registration (the sandbox restarted and forgot it, or
 * its secret was reset elsewhere), the product says so instead of calling the connection
 * "active": the registration is marked invalid, the connections "needs re-link" (pushed to the
 * browser), refresh fails in words, and connection-url registers the user again so they can
 * connect anew.
 */
interface RefreshBody {
  status: string;
  message: string;
  failures: { scope: string; error: string; retryable: boolean }[];
  connections: { status: string; statusReason: string | null }[];
}
interface AccountsBody {
  accounts: { externalId: string; connection: { status: string; statusReason: string | null } }[];
}
interface RegistrationRow {
  generation: number;
  invalid_since: Date | null;
  user_secret_sealed: string;
}

let engine: TestEngine;

beforeAll(async () => {
  // Refresh as often as the test asks: the per-user cooldown has a test of its own.
  engine = await startTestEngine({ env: { REFRESH_COOLDOWN_MS: '0' } });
  await engine.sandbox.control.settings({ refreshCooldownMs: 0, refreshDelayMs: 20 });
});
afterAll(async () => {
  await engine?.stop();
});

async function connectUser(userId: string) {
  expect((await engine.api(userId, 'POST', '/api/snaptrade/connection-url', {})).status).toBe(200);
  const authorization = await engine.sandbox.control.connect(userId, {
    brokerage: 'QUESTRADE',
    accounts: [{ name: 'Margin', currency: 'USD', positions: [{ symbol: 'AAPL', units: 3 }] }],
  });
  await eventually(async () => ((await accounts(userId)).length === 1 ? true : undefined), 20_000, 'the account');
  return authorization;
}

async function accounts(userId: string) {
  return (await engine.api<AccountsBody>(userId, 'GET', '/api/accounts')).body.accounts;
}

async function registration(userId: string): Promise<RegistrationRow> {
  return engine.db.knex('snaptrade_users').where({ user_id: userId }).first('generation', 'invalid_since', 'user_secret_sealed');
}

function openSocket(token: string): Promise<{ socket: Socket<ServerToClientEvents, ClientToServerEvents>; statuses: ConnectionStatus[] }> {
  const socket: Socket<ServerToClientEvents, ClientToServerEvents> = connectClient(engine.url, {
    auth: { token },
    transports: ['websocket'],
    reconnection: false,
  });
  const statuses: ConnectionStatus[] = [];
  socket.on('connection:status', (status) => statuses.push(status));
  return new Promise((resolve, reject) => {
    socket.once('portfolio:snapshot', () => resolve({ socket, statuses }));
    socket.once('connect_error', reject);
  });
}

describe('a SnapTrade registration the brokerage no longer accepts', () => {
  it('after a sandbox restart: marked invalid, connections need re-link (pushed), refresh fails in words, connection-url registers again', async () => {
    const user = 'e2e-stale-restart';
    await connectUser(user);
    const before = await registration(user);
    expect(before).toMatchObject({ invalid_since: null });
    const { socket, statuses } = await openSocket(await engine.token(user));
    try {
      // The sandbox forgets every user, as a restarted SnapTrade sandbox (or another environment) does.
      await engine.sandbox.control.reset();

      const refreshed = await engine.api<RefreshBody>(user, 'POST', '/api/snaptrade/refresh');
      expect(refreshed.status).toBe(200);
      expect(refreshed.body.status).toBe('failed');
      expect(refreshed.body.message).toMatch(/no longer accepts your registration.*connect your brokerages again/i);
      expect(refreshed.body.failures.some((f) => /401/.test(f.error) && !f.retryable)).toBe(true);
      expect(refreshed.body.connections).toEqual([expect.objectContaining({ status: 'needs_relink' })]);

      expect((await registration(user)).invalid_since).toBeInstanceOf(Date);
      const [account] = await accounts(user);
      expect(account?.connection).toMatchObject({ status: 'needs_relink', statusReason: expect.stringMatching(/connect your brokerages again/i) });
      await eventually(async () => (statuses.some((s) => s.status === 'needs_relink') ? true : undefined), 5_000, 'the pushed status');

      // A second refresh does not spend SnapTrade requests on a registration known to be invalid.
      await engine.sandbox.control.resetRequests();
      expect((await engine.api<RefreshBody>(user, 'POST', '/api/snaptrade/refresh')).body.status).toBe('failed');
      expect((await engine.sandbox.control.requests()).byOperation).toEqual({});

      // connection-url registers the user again: a new secret, sealed, and a portal URL.
      const url = await engine.api<{ redirectURI: string }>(user, 'POST', '/api/snaptrade/connection-url', {});
      expect(url.status).toBe(200);
      expect(url.body.redirectURI).toContain('/snapTrade/redeemToken');
      const after = await registration(user);
      expect(after).toMatchObject({ invalid_since: null });
      expect(after.generation).toBeGreaterThan(before.generation);
      expect(after.user_secret_sealed).toMatch(/^v1\./);
      expect(after.user_secret_sealed).not.toBe(before.user_secret_sealed);
      expect((await engine.sandbox.control.user(user)).userId).toBe(user);

      // The old connection is gone with the old registration; connecting again works.
      await eventually(async () => ((await accounts(user)).length === 0 ? true : undefined), 20_000, 'the old account removed');
      await engine.sandbox.control.connect(user, {
        brokerage: 'ROBINHOOD',
        accounts: [{ name: 'Individual', currency: 'USD', positions: [{ symbol: 'MSFT', units: 2 }] }],
      });
      await eventually(async () => ((await accounts(user)).length === 1 ? true : undefined), 20_000, 'the new account');
      expect((await accounts(user))[0]!.connection.status).toBe('active');
      expect((await engine.api<RefreshBody>(user, 'POST', '/api/snaptrade/refresh')).body).toMatchObject({ status: 'done', failures: [] });
    } finally {
      socket.close();
    }
  });

  it('after its secret was reset elsewhere: the user is deleted at SnapTrade and registered again', async () => {
    const user = 'e2e-stale-reset';
    await connectUser(user);
    const first = (await registration(user)).generation;
    engine.sandbox.snaptrade.engine.store.resetUserSecret(user);

    const refreshed = await engine.api<RefreshBody>(user, 'POST', '/api/snaptrade/refresh');
    expect(refreshed.body.status).toBe('failed');
    expect((await accounts(user))[0]?.connection.status).toBe('needs_relink');

    // Reconnecting a connection of the old registration cannot work: said in words.
    const authorizationId = (await engine.db.knex('brokerage_connections').where({ user_id: user }).first('external_id')).external_id;
    const reconnect = await engine.api<{ error: { code: string; message: string } }>(user, 'POST', '/api/snaptrade/connection-url', {
      reconnect: authorizationId,
    });
    expect(reconnect.status).toBe(409);
    expect(reconnect.body.error.message).toMatch(/connect the brokerage anew/i);

    const url = await engine.api(user, 'POST', '/api/snaptrade/connection-url', {});
    expect(url.status).toBe(200);
    const second = await registration(user);
    expect(second).toMatchObject({ invalid_since: null });
    expect(second.generation).toBeGreaterThan(first);
    // SnapTrade's USER_DELETED for the old registration lands after the new one: it changes nothing.
    await engine.applied(user, (e) => (e.payload as { eventType?: string }).eventType === 'USER_DELETED');
    expect(await registration(user)).toMatchObject({ generation: second.generation, invalid_since: null });
    const sandboxUser = await engine.sandbox.control.user(user);
    expect(sandboxUser.authorizations).toEqual([]);
  });

  it('a late failure of the old secret does not mark the new registration invalid', async () => {
    const user = 'e2e-stale-late';
    await connectUser(user);
    const old = (await registration(user)).generation;
    await engine.sandbox.control.reset();
    expect((await engine.api<RefreshBody>(user, 'POST', '/api/snaptrade/refresh')).body.status).toBe('failed');
    expect((await engine.api(user, 'POST', '/api/snaptrade/connection-url', {})).status).toBe(200);
    const current = (await registration(user)).generation;
    expect(current).toBeGreaterThan(old);

    // A sync that ran with the old secret reports its 401 after the re-registration.
    await lateRegistrationFailure(user, old);
    expect(await registration(user)).toMatchObject({ generation: current, invalid_since: null });
  });

  it('nor after SnapTrade deleted the user and they registered again (a generation is never used twice)', async () => {
    const user = 'e2e-stale-deleted';
    await connectUser(user);
    const old = (await registration(user)).generation;
    // SnapTrade deletes the user; once USER_DELETED is applied (and purged) their registration row is gone.
    await engine.sandbox.control.deleteUser(user);
    await eventually(async () => ((await engine.db.knex('snaptrade_users').where({ user_id: user }).first()) ? undefined : true), 30_000, 'the registration deleted');
    expect((await engine.api(user, 'POST', '/api/snaptrade/connection-url', {})).status).toBe(200);
    const current = (await registration(user)).generation;
    expect(current).not.toBe(old);

    await lateRegistrationFailure(user, old);
    expect(await registration(user)).toMatchObject({ generation: current, invalid_since: null });
  });
});

/** Appends the 401/1083 a sync that used registration `generation`'s secret reports, and waits until it is applied. */
async function lateRegistrationFailure(user: string, generation: number): Promise<void> {
  const producer = createStreamProducer(engine.redis.client, streamKeys(engine.namespace));
  const streamId = await producer.append({
    id: `late-failure-${user}`,
    type: 'sync.failed',
    user,
    partition: partitionOf(user, engine.config.PARTITION_COUNT),
    time: new Date().toISOString(),
    schema: ENVELOPE_SCHEMA_VERSION,
    payload: {
      provider: 'snaptrade',
      error: 'listAccounts: HTTP 401: Invalid userID or userSecret provided',
      retryable: false,
      status: 401,
      code: '1083',
      registrationGeneration: generation,
    },
  });
  expect(await waitForCheckpoint(engine.db.knex, user, streamId, 60_000)).toBe(true);
}
