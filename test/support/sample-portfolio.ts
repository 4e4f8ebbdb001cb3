import { expect } from 'vitest';
import type { ControlAuthorization } from '../../sandbox/control-api-types.ts';
import { eventually, type TestEngine } from './engine.ts';

/**
 * The browser tests' portfolio: a Questrade connection with a CAD TFSA holding SHOP (Toronto, no
 * live feed) and a USD margin account holding 8 MSFT and 5 AAPL, connected through the sandbox;
 * resolves once the engine has the three holdings, both accounts' cash and the accounts' seeded
 * activities (one buy per position): a page opened then is settled, and no activity arrives
 * later to grow the activities panel under a test that measures the page.
 */
export async function connectSamplePortfolio(engine: TestEngine, userId: string): Promise<ControlAuthorization> {
  expect((await engine.api(userId, 'POST', '/api/snaptrade/connection-url', {})).status).toBe(200);
  const questrade = await engine.sandbox.control.connect(userId, {
    brokerage: 'QUESTRADE',
    accounts: [
      { name: 'TFSA', currency: 'CAD', cash: { CAD: 1000 }, positions: [{ symbol: 'SHOP.TO', units: 20, averageCost: 80 }] },
      { name: 'Margin', currency: 'USD', cash: { USD: 500 }, positions: [{ symbol: 'MSFT', units: 8, averageCost: 300 }, { symbol: 'AAPL', units: 5, averageCost: 150 }] },
    ],
  });
  await eventually(async () => {
    const { body } = await engine.api<{ holdings?: unknown[]; accounts?: { cashBase: string | null }[] }>(userId, 'GET', '/api/portfolio');
    return body.holdings?.length === 3 && body.accounts?.every((a) => a.cashBase !== null) ? true : undefined;
  }, 60_000, 'three holdings and both accounts with cash');
  await eventually(async () => {
    const { body } = await engine.api<{ activities?: { type: string; symbol: string | null }[] }>(userId, 'GET', '/api/activities?limit=100');
    const bought = new Set(body.activities?.filter((a) => a.type === 'buy').map((a) => a.symbol));
    return ['SHOP.TO', 'MSFT', 'AAPL'].every((symbol) => bought.has(symbol)) ? true : undefined;
  }, 60_000, "the accounts' seeded activities (a buy of each position)");
  return questrade;
}
