import { describe, expect, it } from 'vitest';
import { aggregateHoldings } from '../../src/portfolio/aggregate-holdings.ts';
import { convert, createFxTable, fxRate } from '../../src/portfolio/currency.ts';
import { dec } from '../../src/portfolio/decimal.ts';
import { normalizeSnapTradeAccount } from '../../src/portfolio/normalize-snaptrade.ts';
import { AAPL, snapBalance, snapPosition, snapPositionsBody } from './provider-payloads.ts';

/*
 * Rates known: USD -> CAD only. A EUR listing (SAP on XETRA) and EUR cash cannot be valued in USD.
 *   AAPL 10 x 200 USD = 2000 (valued)
 *   SAP   5 x 180 EUR = 900 EUR, base value null (not 900 at a silent 1.0)
 *   cash: 100 USD (valued), 50 EUR (base null)
 * totals: invested 2000, cash 100, total 2100, complete: false, 1 holding and 1 cash line missing a rate.
 */
describe('missing FX rate is explicit', () => {
  const fx = createFxTable([{ from: 'USD', to: 'CAD', rate: '1.37' }]);

  it('yields a null rate and a missing flag, never 1.0', () => {
    expect(fxRate(fx, 'EUR', 'USD')).toEqual({ rate: null, path: 'missing' });
    expect(convert(fx, dec('900'), 'EUR', 'USD')).toEqual({ value: null, missingRate: true, path: 'missing' });
    expect(convert(fx, dec('900'), 'EUR', 'CAD')).toMatchObject({ value: null, missingRate: true });
  });

  it('leaves the holding and cash out of the totals and says so', () => {
    const data = normalizeSnapTradeAccount({
      positions: snapPositionsBody('2026-06-02T14:30:00Z', [
        snapPosition(AAPL, { units: '10', price: '200', cost_basis: '150' }),
        snapPosition(
          { id: '3d0b5a2c-6f4e-4b1a-9c8d-7e6f5a4b3c2d', symbol: 'SAP.DE', raw_symbol: 'SAP', currency: 'EUR', exchange: 'XETR', figi: 'BBG000BG7DY8' },
          { units: '5', price: '180', cost_basis: '150' },
        ),
      ]),
      balances: [snapBalance('USD', 100), snapBalance('EUR', 50)],
    });
    const state = aggregateHoldings(new Map([['acc', { institution: 'IBKR', currency: 'USD', ...data }]]), { baseCurrency: 'USD', fx });
    const sap = state.holdings.get('figi:BBG000BG7DY8')!;
    expect(sap.marketValue).toBe('900');
    expect(sap.base).toEqual({ currency: 'USD', marketValue: null, costBasis: null, unrealizedPnl: null, dayChange: null, missingFxRate: true });
    expect(state.cash.get('acc')!.find((l) => l.currency === 'EUR')).toMatchObject({ amount: '50', baseAmount: null });
    expect(state.totals).toMatchObject({
      investedValue: '2000',
      cash: '100',
      totalValue: '2100',
      holdingsMissingFx: 1,
      cashLinesMissingFx: 1,
      complete: false,
    });
  });
});
