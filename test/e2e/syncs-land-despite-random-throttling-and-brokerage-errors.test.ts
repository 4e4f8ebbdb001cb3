import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RequestRecord } from '../../sandbox/control-client.ts';
import { eventually, startTestEngine, type TestEngine } from '../support/engine.ts';
import { createRandom } from '../../sandbox/market/seeded-random.ts';

/**
 * While the brokerage answers 429 and 503 at random, holdings change for several users and
 * accounts: every sync still lands (the final portfolio equals the sandbox's truth), and the
 * engine never spends more than its SnapTrade budget: the sandbox, whose rate limit equals that
 * budget, never has to throttle it (its own 429, told apart from the injected ones).
 *
 * The budget is small and its window short (30 requests per 5 s) so the test presses on it
 * within seconds; the backoff base is 100 ms so retries fit in the test.
 */
const BUDGET = 30;
const WINDOW_MS = 5_000;
const FAULT_MS = 10_000;
const USERS = ['e2e-chaos-ann', 'e2e-chaos-bob', 'e2e-chaos-cyd'];
const QUIET_USER = 'e2e-chaos-dee';
const SYMBOLS = ['AAPL', 'MSFT', 'GOOGL', 'AMZN', 'NVDA', 'SPY'];
let engine: TestEngine;

beforeAll(async () => {
  engine = await startTestEngine({
    env: {
      SNAPTRADE_REQUESTS_PER_MINUTE: String(BUDGET),
      SNAPTRADE_RATE_WINDOW_MS: String(WINDOW_MS),
      SYNC_BACKOFF_BASE_MS: '100',
      // This test presses on the whole budget with three users; the per-user share has its own.
      SNAPTRADE_USER_SHARE: '1',
    },
    // Set at start: the engine's first request (exchange rates) already counts.
    sandbox: { rateLimit: { limit: BUDGET, windowMs: WINDOW_MS } },
  });
  await engine.sandbox.control.setRateLimit({ limit: BUDGET, windowMs: WINDOW_MS });
});
afterAll(async () => {
  await engine?.stop();
});

interface PortfolioBody {
  holdings: { symbol: string; quantity: string; accounts: { accountId: string; quantity: string }[] }[];
}
interface AccountsBody {
  accounts: { id: string; externalId: string }[];
}

/** symbol -> sandbox account id -> units, as the brokerage holds them. */
async function truth(accountIds: readonly string[]): Promise<Map<string, Map<string, number>>> {
  const out = new Map<string, Map<string, number>>();
  for (const id of accountIds) {
    for (const p of (await engine.sandbox.control.account(id)).positions) {
      if (p.units === 0) continue;
      const per = out.get(p.symbol) ?? new Map<string, number>();
      per.set(id, p.units);
      out.set(p.symbol, per);
    }
  }
  return out;
}

/** The same shape from the engine's API (account ids mapped back to the brokerage's). */
async function engineView(userId: string): Promise<Map<string, Map<string, number>>> {
  const accounts = (await engine.api<AccountsBody>(userId, 'GET', '/api/accounts')).body.accounts;
  const external = new Map(accounts.map((a) => [a.id, a.externalId]));
  const out = new Map<string, Map<string, number>>();
  for (const h of (await engine.api<PortfolioBody>(userId, 'GET', '/api/portfolio')).body.holdings) {
    const per = new Map<string, number>();
    for (const a of h.accounts) per.set(external.get(a.accountId) ?? `unknown:${a.accountId}`, Number(a.quantity));
    expect(Number(h.quantity)).toBeCloseTo([...per.values()].reduce((s, q) => s + q, 0), 6);
    out.set(h.symbol, per);
  }
  return out;
}

const asObject = (m: Map<string, Map<string, number>>) =>
  Object.fromEntries([...m.entries()].sort().map(([s, per]) => [s, Object.fromEntries([...per.entries()].sort())]));

/** Most requests the sandbox received within any `windowMs`. */
function busiestWindow(log: readonly RequestRecord[], windowMs: number): number {
  const times = log.map((r) => r.at).sort((a, b) => a - b);
  let best = 0;
  let start = 0;
  for (let end = 0; end < times.length; end++) {
    while (times[end]! - times[start]! >= windowMs) start++;
    best = Math.max(best, end - start + 1);
  }
  return best;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('random 429s and 503s from the brokerage, with the budget under pressure', () => {
  it('lands every sync, equals the brokerage in the end, and never exceeds the budget', async () => {
    const control = engine.sandbox.control;
    // Seeded, so a failure replays the same changes.
    const random = createRandom(20_240_611);
    for (const user of [...USERS, QUIET_USER]) {
      expect((await engine.api(user, 'POST', '/api/snaptrade/connection-url', {})).status).toBe(200);
    }

    // The storm: about a third of all SnapTrade requests fail with 429 or 503 for FAULT_MS,
    // while the users connect their brokerages and holdings change everywhere (each change
    // sends ACCOUNT_HOLDINGS_UPDATED, a connection also CONNECTION_ADDED and NEW_ACCOUNT_AVAILABLE).
    await control.addFault({ kind: 'random', probability: 0.3, statuses: [429, 503], durationMs: FAULT_MS });
    const stormEnds = Date.now() + FAULT_MS - 1_000;
    const accountsOf = new Map<string, string[]>();
    for (const user of USERS) {
      const ids: string[] = [];
      for (const brokerage of user === USERS[0] ? ['QUESTRADE', 'ROBINHOOD'] : ['WEALTHSIMPLE']) {
        const auth = await control.connect(user, {
          brokerage,
          accounts: [
            { name: 'One', currency: 'USD', positions: [{ symbol: 'AAPL', units: 10 }, { symbol: 'MSFT', units: 2 }] },
            { name: 'Two', currency: 'USD', positions: [{ symbol: 'AAPL', units: 1 }] },
          ],
        });
        ids.push(...auth.accounts.map((a) => a.id));
      }
      accountsOf.set(user, ids);
    }
    // A connection the engine learns of only from NEW_ACCOUNT_AVAILABLE: its user sync (list
    // connections and accounts, then fetch each account) is the one sync that brings these
    // holdings, and it is sure to meet a 503 when listing and a 429 when fetching positions.
    await control.addFault({ kind: 'error', status: 503, times: 1, match: { userId: QUIET_USER, operationId: 'Connections_listBrokerageAuthorizations' } });
    await control.addFault({ kind: 'error', status: 429, times: 1, match: { userId: QUIET_USER, operationId: 'AccountInformation_getAllAccountPositions' } });
    const quiet = await control.connect(QUIET_USER, {
      brokerage: 'QUESTRADE',
      webhooks: false,
      accounts: [{ name: 'Quiet', currency: 'USD', positions: [{ symbol: 'NVDA', units: 7 }, { symbol: 'AAPL', units: 3 }] }],
    });
    accountsOf.set(QUIET_USER, [quiet.accounts[0]!.id]);
    await control.fireWebhook({ eventType: 'NEW_ACCOUNT_AVAILABLE', userId: QUIET_USER, accountId: quiet.accounts[0]!.id, authorizationId: quiet.id });
    const allAccounts = USERS.flatMap((user) => accountsOf.get(user)!);
    let changes = 0;
    while (Date.now() < stormEnds) {
      await sleep(700);
      for (const account of allAccounts) {
        if (random() < 0.7) continue;
        const positions = SYMBOLS.filter(() => random() < 0.5).map((symbol) => ({ symbol, units: 1 + Math.floor(random() * 100) }));
        await control.setPositions(account, { positions, notify: true });
        changes += 1;
      }
    }
    expect(changes).toBeGreaterThan(10);

    for (const user of [...USERS, QUIET_USER]) {
      const expected = asObject(await truth(accountsOf.get(user)!));
      await eventually(
        async () => (JSON.stringify(asObject(await engineView(user))) === JSON.stringify(expected) ? true : undefined),
        30_000,
        `${user}'s holdings to equal the brokerage's ${JSON.stringify(expected)}`,
      );
    }

    const counts = await control.requests();
    // The storm was real: faults were injected and the engine retried through them...
    expect(counts.byOutcome.injected ?? 0).toBeGreaterThanOrEqual(4);
    // ...but the sandbox's own rate limit never had to answer 429 `throttled`.
    expect(counts.byOutcome.rate_limited ?? 0).toBe(0);
    const log = await control.requestLog();
    const busiest = busiestWindow(log, WINDOW_MS);
    expect(busiest).toBeLessThanOrEqual(BUDGET);
    // And the budget was pressed on, not merely respected by a light load.
    expect(busiest).toBeGreaterThanOrEqual(BUDGET - 2);
  });
});
