import { describe, expect, it } from 'vitest';
import { normalizeSnapTradePositions } from '../../src/portfolio/normalize-snaptrade.ts';

/*
 * SnapTrade option position: 2 contracts, price 3.5 per share, cost_basis 250 per contract, multiplier 100.
 *   price per contract = 3.5 x 100 = 350, so value = 2 x 350 = 700 and cost = 2 x 250 = 500 are in the same unit.
 */
describe('option price is per contract', () => {
  it('multiplies the per-share price by the multiplier and keys the contract by its SnapTrade id', () => {
    const { positions } = normalizeSnapTradePositions({
      results: [
        {
          instrument: {
            kind: 'option',
            id: '899e2697-1d38-4c07-91ee-c16a2b1ce5c9',
            symbol: 'AAPL  261218C00240000',
            option_type: 'CALL',
            strike_price: '240',
            expiration_date: '2026-12-18',
            multiplier: '100',
            description: 'AAPL Dec 18 2026 240 CALL',
            underlying: { kind: 'stock', id: '1ef3a5d3-4a9b-40b2-b8d1-cc35f74d6324', symbol: 'AAPL', raw_symbol: 'AAPL', currency: 'USD', exchange: 'XNAS' },
          },
          units: '2',
          price: '3.5',
          cost_basis: '250',
          currency: 'USD',
          cash_equivalent: false,
        },
      ],
      data_freshness: { as_of: '2026-06-02T14:30:00Z' },
    });
    expect(positions[0]).toMatchObject({
      security: { identityKey: 'snaptrade:899e2697-1d38-4c07-91ee-c16a2b1ce5c9', ticker: 'AAPL  261218C00240000', type: 'option', currency: 'USD' },
      quantity: '2',
      price: '350',
      averageCost: '250',
    });
  });
});
