import { describe, expect, it } from 'vitest';
import { activity, markCodes, point, portfolioReturns } from './return-scenarios.ts';

/*
 * A 2-for-1 split:
 *
 *   Mon close  100 shares × 200 = 20,000
 *   Tue 09:00  split: 200 shares × 100 (the activity has units, no cash amount)
 *   Tue close  200 × 100 = 20,000
 *   Wed close  200 × 105 = 21,000
 *
 * Units double, value does not move: Tuesday's return is 0, not −50 % or +100 %, and the split is
 * no flow (nor a flow that could not be valued). TWR = 21,000 / 20,000 − 1 = 0.05.
 */
describe('a split', () => {
  const split = activity('acc-1', 'split', '2026-03-03T09:00:00Z', null);
  const points = [point('2026-03-02T21:00:00Z', '20000'), point('2026-03-03T21:00:00Z', '20000'), point('2026-03-04T21:00:00Z', '21000')];

  it('makes no return jump on its day', () => {
    expect(portfolioReturns(points.slice(0, 2), [split]).twr).toBe('0');
    expect(portfolioReturns(points, [split]).twr).toBe('0.05');
  });

  it('is no flow', () => {
    const returns = portfolioReturns(points, [split]);
    expect(returns.flows).toMatchObject({ known: true, net: '0', count: 0, notValued: 0 });
    expect(markCodes(returns)).toEqual([]);
    expect(returns.mwr!.period).toBe('0.05');
  });
});
