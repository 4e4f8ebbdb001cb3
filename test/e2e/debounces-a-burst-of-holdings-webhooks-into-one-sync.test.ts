import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startTestEngine, type TestEngine } from '../support/engine.ts';

/**
 * Fifty ACCOUNT_HOLDINGS_UPDATED webhooks for one account within a second make ONE positions
 * request at the brokerage (counted by the sandbox), and that one sync brings the new holdings.
 */
const USER = 'e2e-debounce-user';
const POSITIONS_OPERATION = 'AccountInformation_getAllAccountPositions';
// Long enough that the burst's 50 webhooks land within one window even on a loaded machine, where
// applying them can take longer than half a second.
const DEBOUNCE_MS = 3_000;
let engine: TestEngine;

beforeAll(async () => {
  engine = await startTestEngine({ env: { SYNC_DEBOUNCE_MS: String(DEBOUNCE_MS) } });
});
afterAll(async () => {
  await engine?.stop();
});

interface PortfolioBody {
  holdings: { symbol: string; quantity: string }[];
}

async function quantityOf(symbol: string): Promise<number | undefined> {
  const res = await engine.api<PortfolioBody>(USER, 'GET', '/api/portfolio');
  const h = res.body.holdings.find((x) => x.symbol === symbol);
  return h ? Number(h.quantity) : undefined;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits until the sandbox has seen no request for `quietMs` (the initial syncs are over). */
async function waitForQuiet(quietMs: number): Promise<void> {
  let last = -1;
  let stableSince = Date.now();
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    const total = (await engine.sandbox.control.requests({ userId: USER })).total;
    if (total !== last) {
      last = total;
      stableSince = Date.now();
    } else if (Date.now() - stableSince >= quietMs) {
      return;
    }
    await sleep(100);
  }
  throw new Error('the sandbox never went quiet');
}

describe('a burst of holdings webhooks for one account', () => {
  it('makes exactly one positions request, after the debounce window', async () => {
    const control = engine.sandbox.control;
    expect((await engine.api(USER, 'POST', '/api/snaptrade/connection-url', {})).status).toBe(200);
    const auth = await control.connect(USER, {
      brokerage: 'QUESTRADE',
      accounts: [
        { name: 'Margin', currency: 'USD', positions: [{ symbol: 'AAPL', units: 10 }] },
        { name: 'TFSA', currency: 'USD', positions: [{ symbol: 'MSFT', units: 5 }] },
      ],
    });
    const [target, other] = auth.accounts;
    await eventually(async () => ((await quantityOf('AAPL')) === 10 && (await quantityOf('MSFT')) === 5 ? true : undefined), 20_000, 'initial sync');
    await waitForQuiet(DEBOUNCE_MS * 2);

    // The brokerage changes silently; only the webhooks below tell the engine.
    await control.setPosition(target!.id, { symbol: 'AAPL', units: 42, notify: false });
    await control.resetRequests();

    // Fifty at once: the debounce (extended by each) turns them into one sync.
    await Promise.all(
      Array.from({ length: 50 }, () =>
        control.fireWebhook({ eventType: 'ACCOUNT_HOLDINGS_UPDATED', userId: USER, accountId: target!.id, authorizationId: auth.id }),
      ),
    );
    await control.waitForWebhooks((d) => d.filter((x) => x.eventType === 'ACCOUNT_HOLDINGS_UPDATED' && x.state === 'delivered').length >= 50, { userId: USER });

    // The one sync lands...
    await eventually(async () => ((await quantityOf('AAPL')) === 42 ? true : undefined), 15_000, 'AAPL synced to 42');
    const counts = await control.requests({ operationId: POSITIONS_OPERATION });
    expect(counts.byAccount[target!.id]?.[POSITIONS_OPERATION]).toBe(1);
    expect(counts.byAccount[other!.id]).toBeUndefined();
    expect(counts.total).toBe(1);

    // ...and nothing else follows it. The marker: a webhook for the other account, fired now, is
    // synced one debounce later, after any sync still due for the first account would have run.
    await control.setPosition(other!.id, { symbol: 'MSFT', units: 6, notify: false });
    await control.fireWebhook({ eventType: 'ACCOUNT_HOLDINGS_UPDATED', userId: USER, accountId: other!.id, authorizationId: auth.id });
    await eventually(async () => ((await quantityOf('MSFT')) === 6 ? true : undefined), 15_000, 'MSFT synced to 6 (the marker)');
    const after = await control.requests({ operationId: POSITIONS_OPERATION });
    expect(after.byAccount[target!.id]?.[POSITIONS_OPERATION]).toBe(1);
    expect(after.byAccount[other!.id]?.[POSITIONS_OPERATION]).toBe(1);
  });
});
