import { describe, expect, it } from 'vitest';
import { aggregateHoldings, reaggregateSymbols, type AccountPositions } from '../../src/portfolio/aggregate-holdings.ts';
import { EMPTY_FX_TABLE } from '../../src/portfolio/currency.ts';
import { normalizeAlpacaPositions } from '../../src/portfolio/normalize-alpaca.ts';
import { normalizeSnapTradePositions } from '../../src/portfolio/normalize-snaptrade.ts';
import { AAPL, alpacaPosition, snapPosition, snapPositionsBody } from './provider-payloads.ts';

/*
 * Alpaca holds AAPL 20 @ 202 and SPY 2 @ 500 (keys listing:AAPL@XNAS:USD, listing:SPY@ARCX:USD).
 * A Questrade account with AAPL 10 (FIGI BBG000B9XRY4) @ 200 is synced:
 *   AAPL becomes one holding figi:BBG000B9XRY4 of 30 units; the listing key is removed.
 *   price: Alpaca's 202 (15:00) is newer than Questrade's 200 (14:30) -> 30 x 202 = 6060
 *   SPY is untouched: the very same object is carried over.
 * The Questrade account is removed again: AAPL splits back to listing:AAPL@XNAS:USD, 20 x 202 = 4040.
 */
describe('Alpaca holding merges, then splits, when a SnapTrade account comes and goes', () => {
  const alpaca: AccountPositions = {
    institution: 'Alpaca',
    currency: 'USD',
    asOf: '2026-06-02T15:00:00Z',
    positions: normalizeAlpacaPositions([
      alpacaPosition({ symbol: 'AAPL', qty: '20', avg_entry_price: '180', current_price: '202', lastday_price: '198', exchange: 'NASDAQ' }),
      alpacaPosition({ symbol: 'SPY', qty: '2', avg_entry_price: '450', current_price: '500', lastday_price: '495', exchange: 'ARCA' }),
    ]),
  };
  const questrade: AccountPositions = {
    institution: 'Questrade',
    currency: 'USD',
    ...normalizeSnapTradePositions(snapPositionsBody('2026-06-02T14:30:00Z', [snapPosition(AAPL, { units: '10', price: '200', cost_basis: '150' })])),
  };
  const start = aggregateHoldings(new Map([['alpaca', alpaca]]), { baseCurrency: 'USD', fx: EMPTY_FX_TABLE });

  it('merges on the listing and re-keys to the FIGI', () => {
    expect([...start.holdings.keys()].sort()).toEqual(['listing:AAPL@XNAS:USD', 'listing:SPY@ARCX:USD']);
    const { state, changes } = reaggregateSymbols(start, new Map([['questrade', questrade]]));
    expect(changes.removed).toEqual(['listing:AAPL@XNAS:USD']);
    expect(changes.upserted.map((h) => h.identityKey)).toEqual(['figi:BBG000B9XRY4']);
    expect(state.holdings.get('figi:BBG000B9XRY4')).toMatchObject({ quantity: '30', marketValue: '6060', accountCount: 2 });
    expect(state.holdings.get('listing:SPY@ARCX:USD')).toBe(start.holdings.get('listing:SPY@ARCX:USD'));
    expect(state.totals.investedValue).toBe('7060'); // 6060 + 2 x 500
  });

  it('splits back when the SnapTrade account is removed', () => {
    const merged = reaggregateSymbols(start, new Map([['questrade', questrade]])).state;
    const { state, changes } = reaggregateSymbols(merged, new Map([['questrade', null]]));
    expect(changes.removed).toEqual(['figi:BBG000B9XRY4']);
    expect(state.holdings.get('listing:AAPL@XNAS:USD')).toMatchObject({ quantity: '20', marketValue: '4040', accountCount: 1 });
    expect(state.totals.investedValue).toBe('5040');
  });
});
