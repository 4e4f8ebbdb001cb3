import { describe, expect, it } from 'vitest';
import { realizedIn, trade } from './return-scenarios.ts';

/*
 * One USD account, one security (AAPL), fees none:
 *
 *   03-02  buy 10 @ 100      units 10, cost 1,000
 *   03-03  buy 10 @ 120      units 20, cost 2,200 (average 110)
 *   03-04  sell 5 @ 130      takes 5/20 of 2,200 = 550; proceeds 650; realized 650 - 550 = 100
 *                            units 15, cost 1,650 (average still 110)
 *   03-05  sell 15 @ 105     takes all 1,650; proceeds 1,575; realized -75
 *
 * Realized over the range: 100 - 75 = 25, two sells. FIFO would take the 100-lot first (realized
 * 150 on the first sale); a sale that left the cost untouched would average the second at
 * 2,200 / 15 = 146.67.
 */
describe('a sale realizes proceeds less average cost', () => {
  const trades = [
    trade('a', 'buy', 'AAPL', '2026-03-02T15:00:00Z', '10', '100'),
    trade('a', 'buy', 'AAPL', '2026-03-03T15:00:00Z', '10', '120'),
    trade('a', 'sell', 'AAPL', '2026-03-04T15:00:00Z', '-5', '130'),
    trade('a', 'sell', 'AAPL', '2026-03-05T15:00:00Z', '-15', '105'),
  ];

  it('sell 5 @ 130 of 10 @ 100 and 10 @ 120 realizes 5 x (130 - 110) = 100', () => {
    expect(realizedIn(trades.slice(0, 3), { from: '2026-03-01T00:00:00Z', to: '2026-03-04T21:00:00Z' })).toEqual({ pl: '100', sells: 1, notValued: 0 });
  });

  it('the rest sold @ 105 realizes 15 x (105 - 110) = -75: the first sale left the average at 110', () => {
    expect(realizedIn(trades, { from: '2026-03-01T00:00:00Z', to: '2026-03-05T21:00:00Z' })).toEqual({ pl: '25', sells: 2, notValued: 0 });
  });

  it("another account's buys of the same security are not part of a sale's cost", () => {
    const withB = [...trades.slice(0, 3), trade('b', 'buy', 'AAPL', '2026-03-01T15:00:00Z', '100', '10')];
    expect(realizedIn(withB, { from: '2026-03-01T00:00:00Z', to: '2026-03-04T21:00:00Z' })).toEqual({ pl: '100', sells: 1, notValued: 0 });
  });
});
