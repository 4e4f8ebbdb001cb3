import { describe, expect, it } from 'vitest';
import { aggregateHoldings } from '../../src/portfolio/aggregate-holdings.ts';
import { EMPTY_FX_TABLE } from '../../src/portfolio/currency.ts';
import { normalizeSnapTradePositions } from '../../src/portfolio/normalize-snaptrade.ts';
import { AAPL, snapPosition, snapPositionsBody } from './provider-payloads.ts';

/*
 * AAPL in two accounts, priced 120 in both:
 *   A: 10 units, cost 100 each
 *   B: 30 units, cost unknown (transferred in; the brokerage has no book value)
 *
 * average cost = cost basis / units with a cost = 1000 / 10 = 100   (not 1000 / 40 = 25)
 * unrealized   = 10 x 120 - 1000                  = 200   (not 40 x 120 - 1000 = 3800)
 * market value = 40 x 120                         = 4800 (all units are valued)
 */
describe('position without cost excluded from average cost', () => {
  const asOf = '2026-06-02T14:30:00Z';
  const a = normalizeSnapTradePositions(snapPositionsBody(asOf, [snapPosition(AAPL, { units: '10', price: '120', cost_basis: '100' })]));
  const b = normalizeSnapTradePositions(snapPositionsBody(asOf, [snapPosition(AAPL, { units: '30', price: '120', cost_basis: null })]));
  const state = aggregateHoldings(
    new Map([
      ['A', { institution: 'Questrade', currency: 'USD', asOf, positions: a.positions }],
      ['B', { institution: 'Fidelity', currency: 'USD', asOf, positions: b.positions }],
    ]),
    { baseCurrency: 'USD', fx: EMPTY_FX_TABLE },
  );
  const holding = state.holdings.get('figi:BBG000B9XRY4')!;

  it('averages the cost over the units whose cost is known', () => {
    expect(holding).toMatchObject({ quantity: '40', quantityWithCost: '10', costBasis: '1000', averageCost: '100' });
  });

  it('computes P/L over those units only, and values all units', () => {
    expect(holding).toMatchObject({ unrealizedPnl: '200', marketValue: '4800' });
    expect(holding.accounts.find((s) => s.accountId === 'B')).toMatchObject({ averageCost: null, costBasis: null, marketValue: '3600' });
  });
});
