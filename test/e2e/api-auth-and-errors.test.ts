import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueUserToken } from '../../src/auth/user-tokens.ts';
import { eventually, startTestEngine, type TestEngine } from '../support/engine.ts';

/**
 * The user APIs, from outside: no valid token, no access (401 FS_UNAUTHENTICATED); bad bodies
 * and wrong brokerage keys are 400s with stable codes; and one user never sees another's data.
 */
interface ErrorBody {
  error: { code: string; message: string };
}
interface PortfolioBody {
  holdings: { symbol: string; quantity: string }[];
  accounts: unknown[];
}

const ALICE = 'e2e-auth-alice';
const BOB = 'e2e-auth-bob';
let engine: TestEngine;

beforeAll(async () => {
  engine = await startTestEngine();
});
afterAll(async () => {
  await engine?.stop();
});

async function call(method: string, path: string, headers: Record<string, string>, body?: string) {
  const response = await fetch(`${engine.url}${path}`, {
    method,
    headers: { ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body }),
  });
  const text = await response.text();
  return { status: response.status, body: (text ? JSON.parse(text) : null) as ErrorBody };
}

const USER_ROUTES: [string, string, string?][] = [
  ['GET', '/api/portfolio'],
  ['GET', '/api/accounts'],
  ['POST', '/api/snaptrade/connection-url', '{}'],
  ['POST', '/api/snaptrade/refresh'],
  ['POST', '/api/alpaca/accounts', '{"keyId":"k","secretKey":"s"}'],
  ['DELETE', '/api/me'],
];

describe('authentication', () => {
  it('refuses a request without a token', async () => {
    for (const [method, path, body] of USER_ROUTES) {
      const res = await call(method, path, {}, body);
      expect(res.status, `${method} ${path}`).toBe(401);
      expect(res.body.error.code).toBe('FS_UNAUTHENTICATED');
    }
  });

  it('refuses forged, expired, unsigned and malformed tokens', async () => {
    const now = Math.floor(Date.now() / 1000);
    const forged = await issueUserToken('not-the-engine-secret-at-all-0123456789', ALICE, 600);
    const expired = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(ALICE)
      .setIssuedAt(now - 600)
      .setExpirationTime(now - 60)
      .sign(new TextEncoder().encode(engine.config.AUTH_SECRET!));
    const [header, payload] = (await engine.token(ALICE)).split('.');
    const unsigned = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url')}.${payload}.`;
    const tampered = `${header}.${Buffer.from(JSON.stringify({ sub: BOB, exp: now + 600 })).toString('base64url')}.${(await engine.token(ALICE)).split('.')[2]}`;
    for (const [name, token] of Object.entries({ forged, expired, unsigned, tampered, garbage: 'not.a.jwt' })) {
      for (const [method, path, body] of USER_ROUTES) {
        const res = await call(method, path, { authorization: `Bearer ${token}` }, body);
        expect(res.status, `${name} token on ${method} ${path}`).toBe(401);
        expect(res.body.error.code).toBe('FS_UNAUTHENTICATED');
      }
    }
    // The genuine token works (so the 401s above are about the token, not the route).
    const ok = await call('GET', '/api/portfolio', { authorization: `Bearer ${await engine.token(ALICE)}` });
    expect(ok.status).toBe(200);
  });
});

describe('token lifetime', () => {
  it('refuses tokens meant to live longer than AUTH_MAX_TOKEN_LIFETIME_SECONDS, without iat, or issued in the future', async () => {
    const key = new TextEncoder().encode(engine.config.AUTH_SECRET!);
    const now = Math.floor(Date.now() / 1000);
    const max = engine.config.AUTH_MAX_TOKEN_LIFETIME_SECONDS;
    const base = () => new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject(ALICE);
    const tokens = {
      tooLong: await base().setIssuedAt(now).setExpirationTime(now + max + 1).sign(key),
      noIat: await base().setExpirationTime(now + 600).sign(key),
      future: await base().setIssuedAt(now + 3600).setExpirationTime(now + 4200).sign(key),
    };
    for (const [name, token] of Object.entries(tokens)) {
      for (const [method, path, body] of USER_ROUTES) {
        const res = await call(method, path, { authorization: `Bearer ${token}` }, body);
        expect(res.status, `${name} token on ${method} ${path}`).toBe(401);
        expect(res.body.error.code).toBe('FS_UNAUTHENTICATED');
      }
    }
    // The longest lifetime allowed is accepted.
    const longest = await base().setIssuedAt(now).setExpirationTime(now + max).sign(key);
    expect((await call('GET', '/api/portfolio', { authorization: `Bearer ${longest}` })).status).toBe(200);
  });
});

describe('validation', () => {
  it('answers 415 FS_UNSUPPORTED_MEDIA_TYPE to a text/plain body instead of reading it as {}', async () => {
    const token = await engine.token(ALICE);
    for (const [path, body] of [
      ['/api/snaptrade/connection-url', '{}'],
      ['/api/alpaca/accounts', '{"keyId":"k","secretKey":"s"}'],
    ] as const) {
      const response = await fetch(`${engine.url}${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'text/plain' },
        body,
      });
      expect(response.status, path).toBe(415);
      expect(await response.json()).toEqual({ error: { code: 'FS_UNSUPPORTED_MEDIA_TYPE', message: expect.any(String) } });
    }
    // Refused before the route: nothing was registered with SnapTrade.
    expect(await engine.sandbox.control.requestCount({ operationId: 'Authentication_registerSnapTradeUser' })).toBe(0);
  });

  it('answers 400 FS_VALIDATION to a bad connection-url body', async () => {
    for (const body of [{ broker: 42 }, { customRedirect: 'not a url' }, { unexpected: true }, { broker: '' }]) {
      const res = await engine.api<ErrorBody>(ALICE, 'POST', '/api/snaptrade/connection-url', body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.error.code).toBe('FS_VALIDATION');
      expect(res.body.error.message).toBeTruthy();
    }
    const malformed = await call('POST', '/api/snaptrade/connection-url', { authorization: `Bearer ${await engine.token(ALICE)}` }, '{"broker":');
    expect(malformed.status).toBe(400);
    expect(malformed.body.error.code).toBe('FS_MALFORMED_JSON');
    // Nothing was registered with SnapTrade by the refused requests.
    expect(await engine.sandbox.control.requestCount({ operationId: 'Authentication_registerSnapTradeUser' })).toBe(0);
  });

  it('refuses to link an Alpaca account with wrong keys, and stores nothing', async () => {
    const real = await engine.sandbox.control.alpacaCreateAccount({ cash: 1_000 });
    for (const keys of [
      { keyId: 'NO-SUCH-KEY', secretKey: 'whatever' },
      { keyId: real.keyId, secretKey: `${real.secretKey}-wrong` },
    ]) {
      const res = await engine.api<ErrorBody>(ALICE, 'POST', '/api/alpaca/accounts', keys);
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('FS_VALIDATION');
    }
    const missing = await engine.api<ErrorBody>(ALICE, 'POST', '/api/alpaca/accounts', { keyId: real.keyId });
    expect(missing.status).toBe(400);
    expect(missing.body.error.code).toBe('FS_VALIDATION');
    const rows = await engine.db.knex('brokerage_connections').where({ provider: 'alpaca' });
    expect(rows).toHaveLength(0);
  });
});

describe('isolation between users', () => {
  it('shows a user only their own portfolio and accounts', async () => {
    const control = engine.sandbox.control;
    expect((await engine.api(BOB, 'POST', '/api/snaptrade/connection-url', {})).status).toBe(200);
    const bobs = await control.connect(BOB, { brokerage: 'QUESTRADE', accounts: [{ name: 'Bob', currency: 'USD', positions: [{ symbol: 'TSLA', units: 12 }] }] });
    const bobAlpaca = await control.alpacaCreateAccount({ cash: 5_000 });
    await control.alpacaSetPositions(bobAlpaca.id, { positions: [{ symbol: 'AMZN', qty: 3 }] });
    expect((await engine.api(BOB, 'POST', '/api/alpaca/accounts', { keyId: bobAlpaca.keyId, secretKey: bobAlpaca.secretKey })).status).toBe(201);
    await eventually(async () => {
      const p = (await engine.api<PortfolioBody>(BOB, 'GET', '/api/portfolio')).body;
      return p.holdings.length === 2 ? p : undefined;
    }, 20_000, "Bob's holdings");
    expect((await engine.api<{ accounts: unknown[] }>(BOB, 'GET', '/api/accounts')).body.accounts).toHaveLength(2);

    // Alice has nothing of Bob's, though she is a known user.
    expect((await engine.api(ALICE, 'POST', '/api/snaptrade/connection-url', {})).status).toBe(200);
    const alicePortfolio = await engine.api<PortfolioBody>(ALICE, 'GET', '/api/portfolio');
    expect(alicePortfolio.status).toBe(200);
    expect(alicePortfolio.body.holdings).toEqual([]);
    expect(alicePortfolio.body.accounts).toEqual([]);
    expect((await engine.api<{ accounts: unknown[] }>(ALICE, 'GET', '/api/accounts')).body.accounts).toEqual([]);
    const aliceRefresh = await engine.api<{ accounts: number; positions: number; connections: unknown[] }>(ALICE, 'POST', '/api/snaptrade/refresh');
    expect(aliceRefresh.status).toBe(200);
    expect(aliceRefresh.body).toMatchObject({ accounts: 0, positions: 0, connections: [] });

    // She can neither take over nor unlink Bob's Alpaca account.
    const takeOver = await engine.api<ErrorBody>(ALICE, 'POST', '/api/alpaca/accounts', { keyId: bobAlpaca.keyId, secretKey: bobAlpaca.secretKey });
    expect(takeOver.status).toBe(409);
    expect(takeOver.body.error.code).toBe('FS_CONFLICT');
    const unlink = await engine.api<ErrorBody>(ALICE, 'DELETE', `/api/alpaca/accounts/${bobAlpaca.id}`);
    expect(unlink.status).toBe(404);
    expect(unlink.body.error.code).toBe('FS_NOT_FOUND');
    // A holdings webhook naming Bob's account under Alice's user id changes nothing for either.
    const bobsAccount = bobs.accounts[0]!.id;
    const hook = await control.fireWebhook({ eventType: 'ACCOUNT_HOLDINGS_UPDATED', userId: ALICE, accountId: bobsAccount });
    // Positive markers instead of a sleep: the webhook was applied, and so was the outcome of the
    // sync it scheduled for that account under Alice (a failure: SnapTrade does not know it for her).
    await engine.applied(ALICE, (e) => e.id === hook.webhookId);
    await engine.applied(
      ALICE,
      (e) => (e.type === 'sync.failed' || e.type === 'positions.synced') && (e.payload as { accountId?: string }).accountId === bobsAccount,
    );
    expect((await engine.api<PortfolioBody>(ALICE, 'GET', '/api/portfolio')).body.holdings).toEqual([]);
    const bobAfter = (await engine.api<PortfolioBody>(BOB, 'GET', '/api/portfolio')).body;
    expect(bobAfter.holdings.map((h) => [h.symbol, Number(h.quantity)]).sort()).toEqual([['AMZN', 3], ['TSLA', 12]]);
    expect((await engine.api<{ accounts: unknown[] }>(BOB, 'GET', '/api/accounts')).body.accounts).toHaveLength(2);
  });
});
