import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, UnsecuredJWT, type JWK, type CryptoKey } from 'jose';
import { io as connectClient } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startTestEngine, type TestEngine } from '../support/engine.ts';

/**
 * `AUTH_JWKS_URL`: user tokens signed by the identity provider's keys (RS256 and ES256, served as
 * a JWKS by a server of this file's own) are accepted on the API and the socket.io handshake, with
 * `AUTH_ISSUER` and `AUTH_AUDIENCE` checked; tokens signed otherwise are refused; a new key (a
 * new `kid`) is picked up from the JWKS, and a key taken out of it stops working.
 */
const ISSUER = 'https://idp.example.test/';
const AUDIENCE = 'foliostream-api';
const USER = 'jwks-user';

interface SigningKey {
  kid: string;
  alg: 'RS256' | 'ES256';
  privateKey: CryptoKey;
  jwk: JWK;
}

async function signingKey(kid: string, alg: SigningKey['alg']): Promise<SigningKey> {
  const { publicKey, privateKey } = await generateKeyPair(alg);
  return { kid, alg, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } };
}

let rs1: SigningKey;
let rs2: SigningKey;
let es1: SigningKey;
let stranger: SigningKey;
/** What the JWKS endpoint serves now, and how often it was fetched. */
let published: SigningKey[] = [];
let fetches = 0;
let jwksServer: Server;
let engine: TestEngine;

beforeAll(async () => {
  [rs1, rs2, es1] = await Promise.all([signingKey('rs-1', 'RS256'), signingKey('rs-2', 'RS256'), signingKey('es-1', 'ES256')]);
  // Another party's key under a kid the JWKS has.
  stranger = await signingKey('rs-1', 'RS256');
  published = [rs1, es1];
  jwksServer = createServer((req, res) => {
    if (req.url !== '/.well-known/jwks.json') {
      res.writeHead(404).end();
      return;
    }
    fetches += 1;
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: published.map((k) => k.jwk) }));
  });
  await new Promise<void>((resolve) => jwksServer.listen(0, '127.0.0.1', resolve));
  const jwksUrl = `http://127.0.0.1:${(jwksServer.address() as AddressInfo).port}/.well-known/jwks.json`;
  engine = await startTestEngine({ env: { ROLES: 'web', AUTH_JWKS_URL: jwksUrl, AUTH_ISSUER: ISSUER, AUTH_AUDIENCE: AUDIENCE } });
});

afterAll(async () => {
  await engine?.stop();
  await new Promise<void>((resolve) => jwksServer?.close(() => resolve()));
});

interface Claims {
  iss?: string | null;
  aud?: string | string[] | null;
  sub?: string;
}

async function tokenOf(key: SigningKey, claims: Claims = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  let jwt = new SignJWT({})
    .setProtectedHeader({ alg: key.alg, kid: key.kid })
    .setSubject(claims.sub ?? USER)
    .setIssuedAt(now)
    .setExpirationTime(now + 600);
  if (claims.iss !== null) jwt = jwt.setIssuer(claims.iss ?? ISSUER);
  if (claims.aud !== null) jwt = jwt.setAudience(claims.aud ?? AUDIENCE);
  return jwt.sign(key.privateKey);
}

async function portfolioStatus(token: string): Promise<{ status: number; code?: string }> {
  const response = await fetch(`${engine.url}/api/portfolio`, { headers: { authorization: `Bearer ${token}` } });
  const body = (await response.json()) as { error?: { code: string } };
  return { status: response.status, ...(body.error ? { code: body.error.code } : {}) };
}

/** The socket.io handshake with `token`: 'connected' (after the snapshot), or the refusal's code. */
async function handshake(token: string): Promise<string> {
  const socket = connectClient(engine.url, { auth: { token }, transports: ['websocket'], reconnection: false });
  try {
    return await new Promise<string>((resolve) => {
      socket.once('portfolio:snapshot', () => resolve('connected'));
      socket.once('connect_error', (err: Error & { data?: { code?: string } }) => resolve(err.data?.code ?? err.message));
    });
  } finally {
    socket.disconnect();
  }
}

const REFUSED = { status: 401, code: 'FS_UNAUTHENTICATED' };

describe('user tokens verified against the identity provider JWKS', () => {
  it('accepts RS256 and ES256 tokens of the published keys, on the API and the socket.io handshake', async () => {
    expect(await portfolioStatus(await tokenOf(rs1))).toEqual({ status: 200 });
    expect(await portfolioStatus(await tokenOf(es1))).toEqual({ status: 200 });
    expect(await portfolioStatus(await tokenOf(rs1, { aud: ['another-api', AUDIENCE] }))).toEqual({ status: 200 });
    expect(await handshake(await tokenOf(es1))).toBe('connected');
    expect(fetches).toBeGreaterThanOrEqual(1);
  });

  it('refuses a token whose issuer or audience is not the configured one, or missing', async () => {
    expect(await portfolioStatus(await tokenOf(rs1, { iss: 'https://evil.example.test/' }))).toEqual(REFUSED);
    expect(await portfolioStatus(await tokenOf(rs1, { iss: null }))).toEqual(REFUSED);
    expect(await portfolioStatus(await tokenOf(rs1, { aud: 'another-api' }))).toEqual(REFUSED);
    expect(await portfolioStatus(await tokenOf(es1, { aud: null }))).toEqual(REFUSED);
    expect(await handshake(await tokenOf(rs1, { iss: 'https://evil.example.test/' }))).toBe('FS_RT_TOKEN_INVALID');
    expect(await handshake(await tokenOf(es1, { aud: 'another-api' }))).toBe('FS_RT_TOKEN_INVALID');
  });

  it('refuses tokens not signed by a published key: another key under a known kid, an unknown kid, HS256, none', async () => {
    expect(await portfolioStatus(await tokenOf(stranger))).toEqual(REFUSED);
    expect(await portfolioStatus(await tokenOf(rs2))).toEqual(REFUSED);
    // The engine's own HS256 token (AUTH_SECRET, with the right issuer and audience).
    expect(await portfolioStatus(await engine.token(USER))).toEqual(REFUSED);
    const now = Math.floor(Date.now() / 1000);
    const unsecured = new UnsecuredJWT({}).setSubject(USER).setIssuer(ISSUER).setAudience(AUDIENCE).setIssuedAt(now).setExpirationTime(now + 600).encode();
    expect(await portfolioStatus(unsecured)).toEqual(REFUSED);
    expect(await handshake(await tokenOf(stranger))).toBe('FS_RT_TOKEN_INVALID');
  });

  it('picks up a rotated key (a new kid) from the JWKS, and stops accepting the retired one', async () => {
    const before = fetches;
    published = [rs2, es1];
    const rotated = await tokenOf(rs2);
    // Marker: the engine fetched the JWKS again and accepts the new key. jose refetches for an
    // unknown kid at most once per 30 s (its cooldown), so this can take that long.
    await eventually(async () => ((await portfolioStatus(rotated)).status === 200 ? true : undefined), 60_000, 'the new key to be accepted');
    expect(fetches).toBeGreaterThan(before);
    expect(await handshake(rotated)).toBe('connected');
    expect(await portfolioStatus(await tokenOf(rs1))).toEqual(REFUSED);
    expect(await handshake(await tokenOf(rs1))).toBe('FS_RT_TOKEN_INVALID');
    expect(await portfolioStatus(await tokenOf(es1))).toEqual({ status: 200 });
  });
});
