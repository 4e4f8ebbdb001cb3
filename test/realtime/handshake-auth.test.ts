import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUserTokenVerifier, issueUserToken } from '../../src/auth/user-tokens.ts';
import type { HandshakeErrorData } from '../../src/realtime/events.ts';
import {
  connected,
  createRealtimeHarness,
  holding,
  record,
  SECRET,
  uniqueUser,
  until,
  type ClientSocket,
  type RealtimeHarness,
  type WebNode,
} from './realtime-harness.ts';

let h: RealtimeHarness;
let node: WebNode;

beforeAll(async () => {
  h = await createRealtimeHarness();
  node = await h.startWebNode();
});
afterAll(async () => {
  await h.close();
});

function refusal(socket: ClientSocket): Promise<{ message: string; data: HandshakeErrorData | undefined }> {
  return new Promise((resolve, reject) => {
    socket.once('connect', () => reject(new Error('connected with a bad token')));
    socket.once('connect_error', (err) => resolve({ message: err.message, data: (err as { data?: HandshakeErrorData }).data }));
    socket.connect();
  });
}

const sign = (claims: { sub?: string; exp?: number }, secret = SECRET) => {
  let jwt = new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setIssuedAt();
  if (claims.sub) jwt = jwt.setSubject(claims.sub);
  if (claims.exp !== undefined) jwt = jwt.setExpirationTime(claims.exp);
  return jwt.sign(new TextEncoder().encode(secret));
};
const now = () => Math.floor(Date.now() / 1000);

async function authFailures(code: string): Promise<number> {
  const metric = await node.metrics.getSingleMetric('foliostream_realtime_auth_failures_total')?.get();
  return metric?.values.find((v) => v.labels.code === code)?.value ?? 0;
}

describe('socket.io handshake with the user token', () => {
  it('a valid token connects, joins the user and receives the snapshot with the current seq', async () => {
    const user = uniqueUser('alice');
    h.book.set(user, [holding(user, 'AAPL', '190.00'), holding(user, 'MSFT', '410.50')]);
    await h.worker.sequence.next(user);
    await h.worker.sequence.next(user);
    const socket = h.connect(node, { token: await h.token(user) });
    const received = record(socket);
    await connected(socket);
    await until(() => received.snapshots.length === 1, 'the connect snapshot');
    const [snapshot] = received.snapshots;
    expect(snapshot?.seq).toBe(2);
    expect(snapshot?.holdings.map((x) => x.id).sort()).toEqual([`${user}/AAPL`, `${user}/MSFT`]);
    expect(snapshot?.baseCurrency).toBe('USD');

    const ack = await socket.timeout(5_000).emitWithAck('portfolio:request-snapshot');
    expect(ack).toEqual({ ok: true, seq: 2 });
    // The snapshot is emitted before the ack, on the same socket.
    expect(received.snapshots).toHaveLength(2);
    const gauge = await node.metrics.getSingleMetric('foliostream_realtime_connected_clients')?.get();
    expect(gauge?.values[0]?.value).toBe(1);
    socket.disconnect();
    await until(() => node.gateway.io.of('/').sockets.size === 0, 'the server to see the disconnect');
  });

  it('no token is refused with FS_RT_TOKEN_MISSING', async () => {
    const before = await authFailures('FS_RT_TOKEN_MISSING');
    const refused = await refusal(h.connect(node, {}));
    expect(refused.data).toEqual({ code: 'FS_RT_TOKEN_MISSING' });
    expect(await refusal(h.connect(node, { token: 42 }))).toMatchObject({ data: { code: 'FS_RT_TOKEN_MISSING' } });
    expect(await authFailures('FS_RT_TOKEN_MISSING')).toBe(before + 2);
  });

  it('an expired token is refused with FS_RT_TOKEN_EXPIRED', async () => {
    const token = await sign({ sub: uniqueUser('late'), exp: now() - 60 });
    const refused = await refusal(h.connect(node, { token }));
    expect(refused).toEqual({ message: 'token expired', data: { code: 'FS_RT_TOKEN_EXPIRED' } });
    expect(await authFailures('FS_RT_TOKEN_EXPIRED')).toBe(1);
  });

  it('a forged, malformed or incomplete token is refused with FS_RT_TOKEN_INVALID', async () => {
    const user = uniqueUser('mallory');
    h.book.set(user, [holding(user, 'AAPL', '1')]);
    const forged = await sign({ sub: user, exp: now() + 600 }, 'another-secret-of-sufficient-length-000000');
    const valid = await h.token(user);
    const [header, , signature] = valid.split('.');
    const tamperedPayload = Buffer.from(JSON.stringify({ sub: 'someone-else', exp: now() + 600 })).toString('base64url');
    const tampered = `${header}.${tamperedPayload}.${signature}`;
    const noExpiry = await sign({ sub: user });
    const noSubject = await sign({ exp: now() + 600 });
    const alg = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${tamperedPayload}.`;
    for (const token of [forged, tampered, noExpiry, noSubject, alg, 'not-a-jwt']) {
      const refused = await refusal(h.connect(node, { token }));
      expect(refused, token).toEqual({ message: 'invalid token', data: { code: 'FS_RT_TOKEN_INVALID' } });
    }
    expect(await authFailures('FS_RT_TOKEN_INVALID')).toBe(6);
    expect(h.book.requested).not.toContain(user);
    expect(h.book.requested).not.toContain('someone-else');
    expect(node.gateway.io.of('/').sockets.size).toBe(0);
  });

  it('a connected socket is disconnected when its token expires', async () => {
    const user = uniqueUser('brief');
    h.book.set(user, [holding(user, 'AAPL', '1')]);
    const socket = h.connect(node, { token: await sign({ sub: user, exp: now() + 2 }) });
    await connected(socket);
    const reason = await new Promise<string>((resolve) => socket.once('disconnect', resolve));
    expect(reason).toBe('io server disconnect');
  });
});

describe('socket.io handshake with the token rules of the HTTP API (same verifier)', () => {
  it('a token meant to live longer than the maximum lifetime, or without iat, is refused with FS_RT_TOKEN_INVALID', async () => {
    const fresh = await h.startWebNode();
    const user = uniqueUser('longlived');
    h.book.set(user, [holding(user, 'AAPL', '1')]);
    const key = new TextEncoder().encode(SECRET);
    const issued = now();
    const tooLong = await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject(user).setIssuedAt(issued).setExpirationTime(issued + 86_401).sign(key);
    const noIat = await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject(user).setExpirationTime(issued + 600).sign(key);
    for (const token of [tooLong, noIat]) {
      expect(await refusal(h.connect(fresh, { token }))).toEqual({ message: 'invalid token', data: { code: 'FS_RT_TOKEN_INVALID' } });
    }
    expect(h.book.requested).not.toContain(user);
    await fresh.close();
  });

  it('with an issuer and audience configured, only tokens carrying them connect', async () => {
    const settings = { secret: SECRET, issuer: 'https://id.example.com/', audience: 'foliostream-api' };
    const fresh = await h.startWebNode({ verifier: createUserTokenVerifier(settings) });
    const user = uniqueUser('audience');
    h.book.set(user, [holding(user, 'AAPL', '1')]);
    for (const token of [
      await issueUserToken(SECRET, user, 300),
      await issueUserToken({ ...settings, issuer: 'https://other.example.com/' }, user, 300),
      await issueUserToken({ ...settings, audience: 'another-api' }, user, 300),
    ]) {
      expect(await refusal(h.connect(fresh, { token }))).toEqual({ message: 'invalid token', data: { code: 'FS_RT_TOKEN_INVALID' } });
    }
    const socket = h.connect(fresh, { token: await issueUserToken(settings, user, 300) });
    await connected(socket);
    socket.disconnect();
    await fresh.close();
  });
});
