import { describe, expect, it } from 'vitest';
import { aggregateHoldings } from '../../src/portfolio/aggregate-holdings.ts';
import { fxTableFromSnapTrade } from '../../src/portfolio/currency.ts';
import { normalizeSnapTradeAccount } from '../../src/portfolio/normalize-snaptrade.ts';
import { snapBalance, snapPosition, snapPositionsBody, snapRate } from './provider-payloads.ts';

/*
 * A TFSA in CAD holding SHOP on the TSX; the user's base currency is USD.
 * Rates: only USD -> CAD 1.25 is published, so CAD -> USD is the inverse 1 / 1.25 = 0.8 (exact).
 *
 * SHOP.TO 100 units, price 105.40 CAD, cost 80 CAD
 *   market value CAD = 100 x 105.40      = 10540  -> USD 10540 x 0.8 = 8432
 *   cost basis   CAD = 100 x 80          = 8000   -> USD 6400
 *   unrealized   CAD = 10540 - 8000      = 2540   -> USD 2032
 * cash 1000 CAD -> 800 USD
 * total USD = 8432 + 800 = 9232
 */
describe('CAD holding valued in a USD base', () => {
  const fx = fxTableFromSnapTrade([snapRate('USD', 'CAD', 1.25)]);
  const data = normalizeSnapTradeAccount({
    positions: snapPositionsBody('2026-06-02T15:00:00Z', [
      snapPosition(
        { id: '7c1f6a1e-3c49-4f0e-9d7e-2b0b9a5f0c01', symbol: 'SHOP.TO', raw_symbol: 'SHOP', currency: 'CAD', exchange: 'XTSE' },
        { units: '100', price: '105.40', cost_basis: '80' },
      ),
    ]),
    balances: [snapBalance('CAD', 1000)],
  });
  const state = aggregateHoldings(new Map([['acc-tfsa', { institution: 'Wealthsimple', currency: 'CAD', ...data }]]), {
    baseCurrency: 'USD',
    fx,
  });
  const shop = [...state.holdings.values()][0]!;

  it('keeps the holding in CAD, its listing currency', () => {
    expect(shop.security).toMatchObject({ ticker: 'SHOP', exchangeMic: 'XTSE', currency: 'CAD' });
    expect(shop).toMatchObject({ currency: 'CAD', marketValue: '10540', costBasis: '8000', unrealizedPnl: '2540' });
  });

  it('values it in USD through the inverse rate', () => {
    expect(shop.base).toEqual({
      currency: 'USD',
      marketValue: '8432',
      costBasis: '6400',
      unrealizedPnl: '2032',
      dayChange: null,
      missingFxRate: false,
    });
  });

  it('converts the CAD cash too and totals in USD', () => {
    expect(state.cash.get('acc-tfsa')).toEqual([
      { accountId: 'acc-tfsa', currency: 'CAD', amount: '1000', baseAmount: '800', buyingPower: '1000' },
    ]);
    expect(state.totals).toMatchObject({ baseCurrency: 'USD', investedValue: '8432', cash: '800', totalValue: '9232', complete: true });
  });
});
