import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ControlAuthorization } from '../../sandbox/control-client.ts';
import { eventually, startTestEngine, type TestEngine } from '../support/engine.ts';

/**
 * `POST /api/snaptrade/refresh` refreshes every connection, syncs everything and answers with
 * stats that match the brokerage; a broken connection is reported (as a failure, and listed as
 * broken, not hidden), and fixing it at the brokerage makes it active again.
 */
interface RefreshBody {
  status: string;
  message: string;
  applied: boolean;
  accounts: number;
  positions: number;
  symbols: number;
  durationMs: number;
  failures: { scope: string; error: string; retryable: boolean }[];
  connections: { id: string; provider: string; brokerage: string | null; status: string; statusReason: string | null }[];
}
interface AccountsBody {
  accounts: { externalId: string; connection: { id: string; status: string; statusReason: string | null } }[];
}

const USER = 'e2e-refresh-user';
let engine: TestEngine;
let questrade: ControlAuthorization;
let robinhood: ControlAuthorization;

beforeAll(async () => {
  // Refresh as often as the test asks: the per-user cooldown has a test of its own.
  // The per-user share of the SnapTrade budget too: three full refreshes and their webhook syncs
  // within a minute would make this user wait for it (the share has a test of its own).
  engine = await startTestEngine({ env: { REFRESH_COOLDOWN_MS: '0', SNAPTRADE_USER_SHARE: '1' } });
  // Refresh as often as the test asks (the sandbox's default cooldown answers 429 within it).
  await engine.sandbox.control.settings({ refreshCooldownMs: 0, refreshDelayMs: 50 });
});
afterAll(async () => {
  await engine?.stop();
});

/** What the brokerage holds for the user's connections that work: accounts, positions, symbols. */
async function brokerageStats(authorizationIds: readonly string[]) {
  const user = await engine.sandbox.control.user(USER);
  const accounts = user.authorizations.filter((a) => authorizationIds.includes(a.id)).flatMap((a) => a.accounts);
  const positions = accounts.flatMap((a) => a.positions.filter((p) => p.units > 0));
  return { accounts: accounts.length, positions: positions.length, symbols: new Set(positions.map((p) => p.symbol)).size };
}

async function refresh(): Promise<RefreshBody> {
  const res = await engine.api<RefreshBody>(USER, 'POST', '/api/snaptrade/refresh');
  expect(res.status).toBe(200);
  return res.body;
}

async function connectionStatusOf(accountExternalId: string): Promise<string | undefined> {
  const res = await engine.api<AccountsBody>(USER, 'GET', '/api/accounts');
  return res.body.accounts.find((a) => a.externalId === accountExternalId)?.connection.status;
}

describe('POST /api/snaptrade/refresh', () => {
  it('answers with stats that match the brokerage', async () => {
    const control = engine.sandbox.control;
    expect((await engine.api(USER, 'POST', '/api/snaptrade/connection-url', {})).status).toBe(200);
    questrade = await control.connect(USER, {
      brokerage: 'QUESTRADE',
      accounts: [
        { name: 'Margin', currency: 'USD', positions: [{ symbol: 'AAPL', units: 10 }, { symbol: 'MSFT', units: 5 }] },
        { name: 'TFSA', currency: 'USD', positions: [{ symbol: 'AAPL', units: 2 }, { symbol: 'SPY', units: 1 }] },
      ],
    });
    robinhood = await control.connect(USER, {
      brokerage: 'ROBINHOOD',
      accounts: [{ name: 'Individual', currency: 'USD', positions: [{ symbol: 'AAPL', units: 4 }, { symbol: 'NVDA', units: 3 }] }],
    });
    await eventually(async () => ((await engine.api<AccountsBody>(USER, 'GET', '/api/accounts')).body.accounts.length === 3 ? true : undefined), 20_000, 'three accounts');
    await control.resetRequests();

    const started = Date.now();
    const body = await refresh();
    const expected = await brokerageStats([questrade.id, robinhood.id]);
    expect(expected).toEqual({ accounts: 3, positions: 6, symbols: 4 });
    expect(body).toMatchObject({ status: 'done', applied: true, ...expected, failures: [] });
    // The refresh's own duration: a whole number of ms within what this request took.
    expect(Number.isInteger(body.durationMs)).toBe(true);
    expect(body.durationMs).toBeLessThanOrEqual(Date.now() - started);
    expect(body.connections.map((c) => ({ brokerage: c.brokerage, status: c.status })).sort((a, b) => String(a.brokerage).localeCompare(String(b.brokerage)))).toEqual([
      { brokerage: expect.stringMatching(/questrade/i), status: 'active' },
      { brokerage: expect.stringMatching(/robinhood/i), status: 'active' },
    ]);
    // Every connection was refreshed at the brokerage, and every account fetched.
    const counts = await control.requests();
    expect(counts.byOperation.Connections_refreshBrokerageAuthorization).toBe(2);
    for (const account of [...questrade.accounts, ...robinhood.accounts]) {
      expect(counts.byAccount[account.id]?.AccountInformation_getAllAccountPositions).toBeGreaterThanOrEqual(1);
    }
  });

  it('reports a broken connection as a failure and lists it as broken', async () => {
    await engine.sandbox.control.breakConnection(robinhood.id);
    const body = await refresh();
    // Some accounts synced, one connection failed: partial, and said so in words.
    expect(body.status).toBe('partial');
    expect(body.message).toMatch(/refreshed; \d+ parts? failed/);
    expect(body.applied).toBe(true);
    // The working connection is still synced in full.
    expect({ accounts: body.accounts, positions: body.positions, symbols: body.symbols }).toEqual(await brokerageStats([questrade.id]));
    // The broken one is a failure that retrying cannot fix (the user must reconnect)...
    const scopes = body.failures.map((f) => f.scope);
    expect(scopes).toContain(`connection ${robinhood.id}`);
    expect(scopes).toContain(`account ${robinhood.accounts[0]!.id}`);
    for (const failure of body.failures) {
      expect(failure.retryable).toBe(false);
      expect(failure.error).toMatch(/402|disabled/i);
    }
    // ...and it is listed, as broken.
    const broken = body.connections.find((c) => /robinhood/i.test(String(c.brokerage)));
    expect(broken?.status).toBe('broken');
    expect(body.connections.find((c) => /questrade/i.test(String(c.brokerage)))?.status).toBe('active');

    expect(await connectionStatusOf(robinhood.accounts[0]!.id)).toBe('broken');
    expect(await connectionStatusOf(questrade.accounts[0]!.id)).toBe('active');
  });

  it('makes the connection active again once it is fixed (CONNECTION_FIXED)', async () => {
    await engine.sandbox.control.fixConnection(robinhood.id);
    await eventually(async () => ((await connectionStatusOf(robinhood.accounts[0]!.id)) === 'active' ? true : undefined), 15_000, 'connection active again');
    const body = await refresh();
    expect(body).toMatchObject({ status: 'done', applied: true, failures: [], ...(await brokerageStats([questrade.id, robinhood.id])) });
    expect(body.connections.every((c) => c.status === 'active')).toBe(true);
    const accounts = (await engine.api<AccountsBody>(USER, 'GET', '/api/accounts')).body.accounts;
    expect(accounts).toHaveLength(3);
    expect(accounts.every((a) => a.connection.status === 'active' && a.connection.statusReason === null)).toBe(true);
  });
});
