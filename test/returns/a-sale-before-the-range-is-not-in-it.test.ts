import { describe, expect, it } from 'vitest';
import { realizedIn, trade } from './return-scenarios.ts';

/*
 * Account a: buy 10 SPY @ 100 on 01-05, sell 5 @ 150 on 02-10 (realized 250, before the range),
 * sell 5 @ 90 on 03-10 (realized 5 x (90 - 100) = -50). Account b: buy 2 SPY @ 80 on 01-05, sell
 * 2 @ 95 on 03-11 (realized 30). The range is March (from 03-01).
 *
 * The portfolio realized -50 + 30 = -20 from two sells: the February sale is not in it, yet its
 * units left the cost (the March sale's cost is 5/5 of 500, average 100). Account a alone: -50,
 * one sell. A sale after the range's end (now) is not in it either.
 */
describe('a sale before the range is not in it', () => {
  const trades = [
    trade('a', 'buy', 'SPY', '2026-01-05T15:00:00Z', '10', '100'),
    trade('a', 'sell', 'SPY', '2026-02-10T15:00:00Z', '5', '150'),
    trade('a', 'sell', 'SPY', '2026-03-10T15:00:00Z', '5', '90'),
    trade('b', 'buy', 'SPY', '2026-01-05T15:00:00Z', '2', '80'),
    trade('b', 'sell', 'SPY', '2026-03-11T15:00:00Z', '2', '95'),
  ];
  const march = { from: '2026-03-01T00:00:00Z', to: '2026-03-31T21:00:00Z' };

  it('the portfolio realized -50 + 30 = -20 in March, from two sells', () => {
    expect(realizedIn(trades, march)).toEqual({ pl: '-20', sells: 2, notValued: 0 });
  });

  it('account a alone realized -50, from one sell', () => {
    expect(realizedIn(trades, march, { scope: { kind: 'account', accountId: 'a' } })).toEqual({ pl: '-50', sells: 1, notValued: 0 });
  });

  it('a sale after the range ends is not in it', () => {
    expect(realizedIn(trades, { from: '2026-03-01T00:00:00Z', to: '2026-03-10T21:00:00Z' })).toEqual({ pl: '-50', sells: 1, notValued: 0 });
  });
});
