import { describe, expect, it } from 'vitest';
import { aggregateHoldings } from '../../src/portfolio/aggregate-holdings.ts';
import { createFxTable } from '../../src/portfolio/currency.ts';
import { normalizeAlpacaPositions } from '../../src/portfolio/normalize-alpaca.ts';
import { applyPrice } from '../../src/portfolio/valuation.ts';
import { alpacaPosition } from './provider-payloads.ts';

/*
 * Alpaca: AAPL 20 @ 202 (prev close 198), SPY 2 @ 500; base CAD at USD -> CAD 1.25; positions as of 15:00.
 *   before: invested USD 4040 + 1000 = 5040 -> CAD 6300
 * Tick AAPL 205 at 15:01 (under its listing key, as market data knows it):
 *   AAPL value 20 x 205 = 4100 (+60 USD = +75 CAD)
 *   AAPL day change 20 x (202 - 198) = 80 USD = 100 CAD -> 20 x (205 - 198) = 140 USD = 175 CAD (delta +75)
 *   SPY day change 0; invested CAD 6300 + 75 = 6375
 * A late tick (14:59, 1.00) is ignored: the stored quote is newer.
 * A tick older than the positions (14:00) is stored but does not win over the 15:00 reported price.
 */
describe('price tick revalues one holding', () => {
  const fx = createFxTable([{ from: 'USD', to: 'CAD', rate: '1.25' }]);
  const positions = normalizeAlpacaPositions([
    alpacaPosition({ symbol: 'AAPL', qty: '20', avg_entry_price: '180', current_price: '202', lastday_price: '198', exchange: 'NASDAQ' }),
    alpacaPosition({ symbol: 'SPY', qty: '2', avg_entry_price: '450', current_price: '500', lastday_price: '500', exchange: 'ARCA' }),
  ]);
  const fresh = () =>
    aggregateHoldings(new Map([['alpaca', { institution: 'Alpaca', currency: 'USD', asOf: '2026-06-02T15:00:00Z', positions }]]), {
      baseCurrency: 'CAD',
      fx,
    });

  it('moves the holding and the totals by the difference', () => {
    const state = fresh();
    expect(state.totals.investedValue).toBe('6300');
    const spy = state.holdings.get('listing:SPY@ARCX:USD');
    const change = applyPrice(state, 'listing:AAPL@XNAS:USD', { price: '205', asOf: '2026-06-02T15:01:00Z' })!;
    expect(change.holding).toMatchObject({ price: '205', priceSource: 'quote', priceAsOf: '2026-06-02T15:01:00.000Z', marketValue: '4100', dayChange: '140' });
    expect(change.delta).toMatchObject({ investedValue: '75', dayChange: '75', holdingsCount: 0 });
    expect(state.totals).toMatchObject({ investedValue: '6375', dayChange: '175' });
    expect(state.holdings.get('listing:SPY@ARCX:USD')).toBe(spy);
  });

  it('ignores a tick older than the stored quote', () => {
    const state = fresh();
    applyPrice(state, 'listing:AAPL@XNAS:USD', { price: '205', asOf: '2026-06-02T15:01:00Z' });
    expect(applyPrice(state, 'listing:AAPL@XNAS:USD', { price: '1', asOf: '2026-06-02T14:59:00Z' })).toBeNull();
    expect(state.holdings.get('listing:AAPL@XNAS:USD')!.price).toBe('205');
  });

  it('keeps a reported price that is newer than the tick', () => {
    const state = fresh();
    const change = applyPrice(state, 'listing:AAPL@XNAS:USD', { price: '150', asOf: '2026-06-02T14:00:00Z' })!;
    expect(change.holding).toMatchObject({ price: '202', priceSource: 'position', priceAsOf: '2026-06-02T15:00:00.000Z' });
    expect(change.delta.investedValue).toBe('0');
  });

  it('stores a price for a security nobody holds without touching the totals', () => {
    const state = fresh();
    const before = state.totals;
    expect(applyPrice(state, 'listing:MSFT@XNAS:USD', { price: '400', asOf: '2026-06-02T15:01:00Z' })).toMatchObject({ holding: null });
    expect(state.totals).toBe(before);
  });
});
