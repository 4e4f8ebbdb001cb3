import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { devSignInRouter } from '../../src/auth/dev-sign-in-routes.ts';
import { userTokenSettings } from '../../src/auth/user-tokens.ts';
import { loadConfig } from '../../src/config/config.ts';
import { createDatabase, type Knex } from '../../src/db/knex.ts';
import { startMeServer, type MeServer } from './support/me-server.ts';

/**
 * Development sign-in (`AUTH_DEV_SIGN_IN`) signs anyone in without a password: the configuration
 * refuses it in production and with an identity provider's keys; switched off, both routes answer
 * 403; switched on, the token it issues carries the deployment's issuer and audience and passes
 * `requireUser`, and a bad user id is 400 naming the field.
 */
const config = loadConfig({
  NODE_ENV: 'test',
  AUTH_DEV_SIGN_IN: 'true',
  AUTH_SECRET: 'dev-sign-in-test-secret-0123456789-abcdef',
  AUTH_ISSUER: 'https://id.example.com/',
  AUTH_AUDIENCE: 'foliostream-api',
  AUTH_MAX_TOKEN_LIFETIME_SECONDS: '3600',
});
let db: Knex;
let server: MeServer;

beforeAll(async () => {
  db = createDatabase({ url: inject('databaseUrl') }); // connects lazily: these routes never query
  server = await startMeServer(config, (app) => {
    app.use('/on', devSignInRouter({ db, tokens: userTokenSettings(config), enabled: true }));
    app.use('/off', devSignInRouter({ db, tokens: userTokenSettings(config), enabled: false }));
  });
});
afterAll(async () => {
  await server.close();
  await db.destroy();
});

async function signIn(prefix: string, body: unknown) {
  const response = await fetch(`${server.url}${prefix}/sign-in`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: response.status, body: (await response.json()) as { token?: string; expiresAt?: string; error?: { code: string; message: string } } };
}

describe('development sign-in', () => {
  it('is refused by the configuration in production and with AUTH_JWKS_URL', () => {
    expect(() => loadConfig({ NODE_ENV: 'production', AUTH_DEV_SIGN_IN: 'true' })).toThrow(/- AUTH_DEV_SIGN_IN: .*must be false in production/);
    expect(() => loadConfig({ AUTH_DEV_SIGN_IN: 'true', AUTH_JWKS_URL: 'https://id.example.com/jwks.json' })).toThrow(
      /- AUTH_DEV_SIGN_IN: .*not accepted with AUTH_JWKS_URL/,
    );
    expect(loadConfig({ NODE_ENV: 'development', AUTH_DEV_SIGN_IN: 'true' }).AUTH_DEV_SIGN_IN).toBe(true);
  });

  it('answers 403 on both routes when it is off', async () => {
    const refused = await signIn('/off', { userId: 'alice' });
    expect(refused.status).toBe(403);
    expect(refused.body.error?.code).toBe('FS_FORBIDDEN');
    expect(refused.body.token).toBeUndefined();
    expect((await fetch(`${server.url}/off/users`)).status).toBe(403);
  });

  it("issues a token with the deployment's issuer and audience that requireUser accepts, and names a bad userId", async () => {
    const signed = await signIn('/on', { userId: 'alice' });
    expect(signed.status).toBe(200);
    const me = await fetch(`${server.url}/me`, { headers: { authorization: `Bearer ${signed.body.token}` } });
    expect(await me.json()).toEqual({ userId: 'alice' });
    expect(Date.parse(signed.body.expiresAt!) - Date.now()).toBeLessThanOrEqual(3600_000);
    const bad = await signIn('/on', { userId: 'alice smith' });
    expect(bad.status).toBe(400);
    expect(bad.body.error?.message).toMatch(/userId/);
  });
});
