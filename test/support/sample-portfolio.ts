import { expect } from 'vitest';
import type { ControlAuthorization } from '../../src/sandbox/control-api-types.ts';
import { eventually, type TestEngine } from './engine.ts';

/**
 * The browser tests' portfolio: a Questrade connection with a CAD TFSA holding SHOP (Toronto, no
 * live feed) and a USD margin account holding 8 MSFT and 5 AAPL, connected through the sandbox;
 * resolves once the engine has the three holdings and both accounts' cash.
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
  return questrade;
}
