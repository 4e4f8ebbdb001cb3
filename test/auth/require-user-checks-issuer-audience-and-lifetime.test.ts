import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueUserToken, userTokenSettings } from '../../src/auth/user-tokens.ts';
import { loadConfig } from '../../src/config/config.ts';
import { startMeServer, type MeServer } from './support/me-server.ts';

/**
 * `requireUser` with the verifier the web role builds from the configuration: a token of another
 * issuer or audience, one meant to live longer than AUTH_MAX_TOKEN_LIFETIME_SECONDS, and one
 * without `iat` are 401 FS_UNAUTHENTICATED; the tokens foliostream issues with the same
 * configuration pass.
 */
const config = loadConfig({
  NODE_ENV: 'test',
  AUTH_SECRET: 'require-user-test-secret-0123456789-abcdef',
  AUTH_ISSUER: 'https://id.example.com/',
  AUTH_AUDIENCE: 'foliostream-api',
  AUTH_MAX_TOKEN_LIFETIME_SECONDS: '3600',
});
const key = new TextEncoder().encode(config.AUTH_SECRET!);
let server: MeServer;

beforeAll(async () => {
  server = await startMeServer(config);
});
afterAll(async () => {
  await server.close();
});

async function me(token: string) {
  const response = await fetch(`${server.url}/me`, { headers: { authorization: `Bearer ${token}` } });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

function token(claims: { iss?: string; aud?: string | string[]; iat?: number | null; lifetime?: number }) {
  const now = Math.floor(Date.now() / 1000);
  let jwt = new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject('alice');
  if (claims.iss !== undefined) jwt = jwt.setIssuer(claims.iss);
  if (claims.aud !== undefined) jwt = jwt.setAudience(claims.aud);
  if (claims.iat !== null) jwt = jwt.setIssuedAt(claims.iat ?? now);
  return jwt.setExpirationTime((claims.iat ?? now) + (claims.lifetime ?? 600)).sign(key);
}

const good = { iss: 'https://id.example.com/', aud: 'foliostream-api' };

describe('requireUser with AUTH_ISSUER, AUTH_AUDIENCE and AUTH_MAX_TOKEN_LIFETIME_SECONDS', () => {
  it('lets through the tokens foliostream issues with the same configuration', async () => {
    expect(await me(await issueUserToken(userTokenSettings(config), 'alice', 600))).toEqual({ status: 200, body: { userId: 'alice' } });
    expect((await me(await token({ ...good, aud: ['another-api', 'foliostream-api'] }))).status).toBe(200);
  });

  it.each([
    ['another issuer', { ...good, iss: 'https://evil.example.com/' }],
    ['no issuer', { aud: good.aud }],
    ['another audience', { ...good, aud: 'another-api' }],
    ['no audience', { iss: good.iss }],
    ['a lifetime over the maximum', { ...good, lifetime: 3601 }],
    ['no iat', { ...good, iat: null }],
    ['an iat in the future', { ...good, iat: Math.floor(Date.now() / 1000) + 600 }],
  ])('refuses a token with %s: 401 FS_UNAUTHENTICATED', async (_name, claims) => {
    const res = await me(await token(claims));
    expect(res.status).toBe(401);
    expect(res.body).toEqual({ error: { code: 'FS_UNAUTHENTICATED', message: expect.stringMatching(/^invalid token: /) } });
  });
});
