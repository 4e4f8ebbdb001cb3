import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startTestEngine, type TestEngine } from '../support/engine.ts';
import { userSettled } from '../support/user-stream.ts';

/**
 * `POST /api/snaptrade/refresh` is limited per user: requests while a refresh runs join it, and
 * requests after it finished, within `REFRESH_COOLDOWN_MS`, are answered 429 with `Retry-After`.
 * A thousand calls by one user cost SnapTrade what one refresh costs.
 */
const USER = 'e2e-refresh-limit';
let engine: TestEngine;

beforeAll(async () => {
  engine = await startTestEngine({ env: { REFRESH_COOLDOWN_MS: '60000' } });
  await engine.sandbox.control.settings({ refreshCooldownMs: 0, refreshDelayMs: 20 });
  expect((await engine.api(USER, 'POST', '/api/snaptrade/connection-url', {})).status).toBe(200);
  await engine.sandbox.control.connect(USER, {
    brokerage: 'QUESTRADE',
    accounts: [
      { name: 'Margin', currency: 'USD', positions: [{ symbol: 'AAPL', units: 1 }] },
      { name: 'TFSA', currency: 'USD', positions: [{ symbol: 'MSFT', units: 1 }] },
    ],
  });
  await eventually(
    async () => ((await engine.api<{ accounts: unknown[] }>(USER, 'GET', '/api/accounts')).body.accounts.length === 2 ? true : undefined),
    20_000,
    'two accounts',
  );
  // Everything the connection set off (syncs, the accounts' activities) is done: the test counts
  // the refresh's requests alone.
  await userSettled(engine, USER);
});
afterAll(async () => {
  await engine?.stop();
});

interface Answer {
  status: number;
  retryAfter: string | null;
  body: { coalesced?: boolean; status?: string; error?: { code: string; message: string } };
}

async function refresh(): Promise<Answer> {
  const response = await fetch(`${engine.url}/api/snaptrade/refresh`, {
    method: 'POST',
    headers: { authorization: `Bearer ${await engine.token(USER)}` },
  });
  return { status: response.status, retryAfter: response.headers.get('retry-after'), body: (await response.json()) as Answer['body'] };
}

describe('refresh, per user', () => {
  it('1,000 calls start one refresh: the ones during it join it, the ones after it get 429 with Retry-After', async () => {
    await engine.sandbox.control.resetRequests();
    const answers: Answer[] = [];
    for (let batch = 0; batch < 10; batch++) answers.push(...(await Promise.all(Array.from({ length: 100 }, refresh))));

    const started = answers.filter((a) => a.status === 200 && a.body.coalesced === false);
    const joined = answers.filter((a) => a.status === 200 && a.body.coalesced === true);
    const refused = answers.filter((a) => a.status === 429);
    expect(started).toHaveLength(1);
    expect(joined.length + refused.length).toBe(999);
    expect(joined.length).toBeGreaterThan(0);
    expect(refused.length).toBeGreaterThan(0);
    for (const a of [...started, ...joined]) expect(a.body.status).toBe('done');
    for (const a of refused) {
      expect(a.body.error?.code).toBe('FS_RATE_LIMITED');
      expect(a.body.error?.message).toMatch(/refresh again in \d+ s/);
      expect(Number(a.retryAfter)).toBeGreaterThanOrEqual(1);
      expect(Number(a.retryAfter)).toBeLessThanOrEqual(60);
    }

    // What SnapTrade saw: one refresh of the one connection, and one sync's worth of reads.
    const counts = await engine.sandbox.control.requests({ userId: USER });
    expect(counts.byOperation.Connections_refreshBrokerageAuthorization).toBe(1);
    expect(counts.byOperation.AccountInformation_listUserAccounts).toBe(1);
    // listAuthorizations twice (refresh, then list), and positions + balances per account (the
    // refresh's own, and at most one more each for the holdings webhooks it caused).
    expect(counts.total).toBeLessThanOrEqual(1 + 2 + 1 + 2 * 2 * 2);
  });
});
