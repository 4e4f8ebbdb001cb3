import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadFxTable } from '../../actors/portfolio/portfolio-repository.ts';
import { fxRate } from '../../src/portfolio/currency.ts';
import { add, dec, mul, str, sub } from '../../src/portfolio/decimal.ts';
import type { HoldingView } from '../../src/realtime/events.ts';
import { launchChromium, openDashboard } from '../support/browser.ts';
import { eventually, startTestEngine, type TestEngine } from '../support/engine.ts';

/**
 * On the sandbox: a USD user connects a CAD account holding 10 XIU (TSX) at an average cost of
 * 30 CAD; the brokerage's history has the BUY of those 10 units at 30, weeks before. The engine
 * was not running on the day of that buy, so no rate of that day is stored, and the cost is at
 * today's rate (`costBasisFx: 'current'`). Once that day's rate is stored (CAD -> USD 0.80, as the
 * FX refresh would have stored it then), GET /api/portfolio costs the holding at it:
 *   cost  300 CAD x 0.80 = 240 USD
 *   currency gain  300 x (today's CAD -> USD) - 240
 *   P/L  price gain (unrealizedPlBase) + currency gain
 * and the dashboard's P/L cell shows that P/L and says so in words.
 */
const USER = 'e2e-purchase-date-fx';
let engine: TestEngine;
let browser: Browser | undefined;

beforeAll(async () => {
  engine = await startTestEngine();
  expect((await engine.api(USER, 'POST', '/api/snaptrade/connection-url', {})).status).toBe(200);
  await engine.sandbox.control.connect(USER, {
    brokerage: 'QUESTRADE',
    accounts: [{ name: 'TFSA', currency: 'CAD', cash: { CAD: 500 }, positions: [{ symbol: 'XIU.TO', units: 10, averageCost: 30 }] }],
  });
}, 120_000);
afterAll(async () => {
  await browser?.close();
  await engine?.stop();
});

const xiu = async () => (await engine.api<{ holdings: HoldingView[] }>(USER, 'GET', '/api/portfolio')).body.holdings.find((h) => h.symbol === 'XIU');

describe('a CAD holding with a known buy is costed at that day’s rate', () => {
  it('costs it at today’s rate until that day’s rate is stored, then at that rate, and shows the split', async () => {
    // The position, and the activity that explains it.
    const buy = await eventually(async () => {
      const row = await engine.db.knex('activities').where({ user_id: USER, type: 'buy' }).first('trade_date', db().raw('units::text AS units'), db().raw('price::text AS price'), 'currency');
      return row && (await xiu())?.costBasis ? row : undefined;
    }, 60_000, 'the XIU position and its buy');
    expect({ units: Number(buy.units), price: Number(buy.price), currency: buy.currency }).toEqual({ units: 10, price: 30, currency: 'CAD' });
    const buyDay = (buy.trade_date as Date).toISOString().slice(0, 10);
    const today = fxRate(await loadFxTable(db()), 'CAD', 'USD').rate!;
    expect(Number(today)).not.toBe(0.8);

    // No rate stored on or before the buy's day: today's rate, said so.
    const before = (await xiu())!;
    expect(before.costBasis).toBe('300');
    expect(before.purchaseFx).toEqual({
      costBasisFx: 'current',
      costBasisBase: str(mul(dec('300'), today)),
      currencyGainBase: null,
      priceGainBase: before.unrealizedPlBase,
      plBase: before.unrealizedPlBase,
      atTodaysRate: [{ accountId: before.accounts[0]!.accountId, reason: 'no-rate-on-trade-date' }],
    });

    // That day's rates, as the FX refresh stores them (both directions of the pair).
    await db()('fx_rates_daily').insert([
      { day: buyDay, base: 'CAD', quote: 'USD', rate: '0.8', as_of: buy.trade_date, source: 'test' },
      { day: buyDay, base: 'USD', quote: 'CAD', rate: '1.25', as_of: buy.trade_date, source: 'test' },
    ]);
    const after = (await xiu())!;
    const currencyGain = sub(mul(dec('300'), today), dec('240'));
    expect(after.purchaseFx).toEqual({
      costBasisFx: 'purchase-date',
      costBasisBase: '240',
      currencyGainBase: str(currencyGain),
      priceGainBase: after.unrealizedPlBase,
      plBase: str(add(dec(after.unrealizedPlBase!), currencyGain)),
      atTodaysRate: [],
    });

    // The returns' unrealized P/L is that P/L too (XIU is the only holding), not the price gain.
    const returns = await engine.api<{ unrealizedPl: string | null }>(USER, 'GET', '/api/portfolio/returns?range=1M');
    expect(returns.body.unrealizedPl).toBe(after.purchaseFx!.plBase);

    // The row shows that P/L, and its tooltip and detail say how it splits.
    browser = await launchChromium();
    const { page, problems } = await openDashboard(browser, engine.url, await engine.token(USER), { consoleErrors: {} });
    const row = page.locator('tr.holding[data-symbol="XIU"]');
    const usd = new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD', minimumFractionDigits: 2, maximumFractionDigits: 2 });
    await row.locator('[data-field="pl"] .main', { hasText: usd.format(Number(after.purchaseFx!.plBase)) }).waitFor();
    const title = await row.locator('[data-field="pl"]').getAttribute('title');
    expect(title).toContain(`Cost ${usd.format(240)} at the exchange rates of the purchase days.`);
    expect(title).toContain('Currency gain');
    // XIU is the only holding: the header's cost basis and P/L are the row's, not the API's
    // totals at today's rate.
    expect(await page.locator('[data-total="costBasis"]').textContent()).toBe(usd.format(240));
    await page.locator('[data-total="unrealizedPl"]', { hasText: usd.format(Number(after.purchaseFx!.plBase)) }).waitFor();
    await row.locator('button').first().click();
    await expect.poll(() => page.locator('tr.holding[data-symbol="XIU"] + tr.detail p.pl-split').textContent()).toBe(title);
    expect(problems).toEqual([]);
    await page.close();
  }, 180_000);
});

function db() {
  return engine.db.knex;
}
