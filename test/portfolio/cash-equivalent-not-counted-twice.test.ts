import { describe, expect, it } from 'vitest';
import { aggregateHoldings } from '../../src/portfolio/aggregate-holdings.ts';
import { EMPTY_FX_TABLE } from '../../src/portfolio/currency.ts';
import { normalizeSnapTradeAccount } from '../../src/portfolio/normalize-snaptrade.ts';
import { AAPL, snapBalance, snapPosition, snapPositionsBody } from './provider-payloads.ts';

/*
 * A Schwab account (via SnapTrade) with a money-market fund:
 *   SWVXX  1000 units x 1.00, cash_equivalent: true
 *   AAPL     10 units x 200
 *   Balance USD cash 1500 -- SnapTrade's cash *includes* the 1000 in SWVXX.
 *
 * cash (net of cash equivalents) = 1500 - 1000 x 1     = 500
 * invested                        = 10 x 200 + 1000 x 1 = 3000 (of which cash equivalents 1000)
 * total                           = 3000 + 500          = 3500
 * Counting the balance as reported would give 4500: the fund twice.
 */
const SWVXX = {
  id: '5b1a0c4e-8f0b-4d44-9d0f-6f3f7a1c2b11',
  symbol: 'SWVXX',
  currency: 'USD',
  exchange: 'XNAS',
  kind: 'mutualfund',
  description: 'Schwab Value Advantage Money Fund',
};

describe('cash equivalent is not counted twice', () => {
  const data = normalizeSnapTradeAccount({
    positions: snapPositionsBody('2026-06-02T14:30:00Z', [
      snapPosition(SWVXX, { units: '1000', price: '1.00', cost_basis: '1.00', cash_equivalent: true }),
      snapPosition(AAPL, { units: '10', price: '200', cost_basis: '150' }),
    ]),
    balances: [snapBalance('USD', 1500, 1500)],
  });

  it('takes the fund out of the reported cash and keeps the reported figure', () => {
    expect(data.balances).toEqual([{ currency: 'USD', cash: '500', reportedCash: '1500', buyingPower: '1500' }]);
  });

  it('values the fund as a holding and the rest of the balance as cash', () => {
    const state = aggregateHoldings(new Map([['acc-schwab', { institution: 'Schwab', currency: 'USD', ...data }]]), {
      baseCurrency: 'USD',
      fx: EMPTY_FX_TABLE,
    });
    const fund = [...state.holdings.values()].find((h) => h.security.ticker === 'SWVXX')!;
    expect(fund).toMatchObject({ cashEquivalent: true, marketValue: '1000' });
    expect(state.totals).toMatchObject({
      investedValue: '3000',
      cashEquivalentValue: '1000',
      cash: '500',
      totalValue: '3500',
    });
  });
});
