import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startTestEngine, type TestEngine } from '../support/engine.ts';

/**
 * Every id a user passes is checked against that user's own rows: another user's SnapTrade
 * authorization (to reconnect) or Alpaca account (to unlink) is answered 404, exactly like an id
 * that does not exist, and nothing of the owner changes. Before, `reconnect` with someone else's
 * authorization id answered a portal URL, and only the brokerage stood between the two users.
 */
interface AccountsBody {
  accounts: { externalId: string; provider: string; connection: { status: string } }[];
}

const OWNER = 'e2e-ids-owner';
const OTHER = 'e2e-ids-other';
let engine: TestEngine;
let ownerAuthorizationId: string;
let ownerAlpacaAccountId: string;

beforeAll(async () => {
  engine = await startTestEngine();
  for (const user of [OWNER, OTHER]) expect((await engine.api(user, 'POST', '/api/snaptrade/connection-url', {})).status).toBe(200);
  const authorization = await engine.sandbox.control.connect(OWNER, {
    brokerage: 'QUESTRADE',
    accounts: [{ name: 'Margin', currency: 'USD', positions: [{ symbol: 'AAPL', units: 1 }] }],
  });
  ownerAuthorizationId = authorization.id;
  const alpaca = await engine.sandbox.control.alpacaCreateAccount({ cash: 1_000 });
  expect((await engine.api(OWNER, 'POST', '/api/alpaca/accounts', { keyId: alpaca.keyId, secretKey: alpaca.secretKey })).status).toBe(201);
  ownerAlpacaAccountId = alpaca.id;
  await eventually(async () => ((await accountsOf(OWNER)).length === 2 ? true : undefined), 20_000, "the owner's two accounts");
});
afterAll(async () => {
  await engine?.stop();
});

/** The owner's accounts and their connections' states (what another user's request could change). */
async function accountsOf(user: string) {
  const { accounts } = (await engine.api<AccountsBody>(user, 'GET', '/api/accounts')).body;
  return accounts.map((a) => `${a.provider}:${a.externalId}:${a.connection.status}`).sort();
}

describe("ids of other users' rows", () => {
  it('are answered 404 like ids that do not exist, for reconnect and for unlinking, and change nothing', async () => {
    const before = await accountsOf(OWNER);
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.constant(ownerAuthorizationId),
          fc.constant(ownerAlpacaAccountId),
          fc.uuid(),
          fc.string({ minLength: 1, maxLength: 100 }).filter((s) => s.trim() === s && !/[/?#%\\]/.test(s) && s !== '.' && s !== '..'),
        ),
        async (id) => {
          const reconnect = await engine.api<{ error: { code: string } }>(OTHER, 'POST', '/api/snaptrade/connection-url', { reconnect: id });
          expect(reconnect.status, `reconnect ${id}`).toBe(404);
          expect(reconnect.body.error.code).toBe('FS_NOT_FOUND');
          const unlink = await engine.api<{ error: { code: string } }>(OTHER, 'DELETE', `/api/alpaca/accounts/${encodeURIComponent(id)}`);
          expect(unlink.status, `unlink ${id}`).toBe(404);
          expect(unlink.body.error.code).toBe('FS_NOT_FOUND');
        },
      ),
      { numRuns: 60 },
    );
    expect(await accountsOf(OWNER)).toEqual(before);
    // The owner's own ids still work.
    const own = await engine.api<{ redirectURI: string }>(OWNER, 'POST', '/api/snaptrade/connection-url', { reconnect: ownerAuthorizationId });
    expect(own.status).toBe(200);
    expect(own.body.redirectURI).toContain('/snapTrade/redeemToken');
  });
});
