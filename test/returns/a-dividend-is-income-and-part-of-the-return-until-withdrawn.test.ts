import { describe, expect, it } from 'vitest';
import { activity, markCodes, point, portfolioReturns } from './return-scenarios.ts';

/*
 * A dividend (100 shares at 100, the price never moves):
 *
 *   Mon close  10,000
 *   Tue 14:00  dividend 200, interest 5.50 on cash: both stay in the account as cash
 *   Tue close  10,205.50
 *   Wed close  withdrawal of 205.50 at the close: 10,000
 *
 * Income is part of the return: Tuesday r = 205.50 / 10,000 = 0.02055; Wednesday
 * (10,000 + 205.50 − 10,205.50) / 10,205.50 = 0. TWR = 0.02055. The withdrawal is the flow
 * (net −205.50), the simple return is 0, and the money-weighted return for the period is 0.02055
 * (every flow but the start is at the end: 10,000 (1 + p) = 10,205.50).
 */
describe('a dividend', () => {
  const points = [point('2026-03-02T21:00:00Z', '10000'), point('2026-03-03T21:00:00Z', '10205.50'), point('2026-03-04T21:00:00Z', '10000')];
  const returns = portfolioReturns(points, [
    activity('acc-1', 'dividend', '2026-03-03T14:00:00Z', '200'),
    activity('acc-1', 'interest', '2026-03-03T14:00:00Z', '5.50'),
    activity('acc-1', 'withdrawal', '2026-03-04T21:00:00Z', '-205.50'),
  ]);

  it('is income and part of the return', () => {
    expect(returns.twr).toBe('0.02055');
    expect(returns.income).toEqual({ dividends: '200', interest: '5.5', total: '205.5' });
    expect(returns.mwr!.period).toBe('0.02055');
  });

  it('leaves the portfolio only when withdrawn', () => {
    expect(returns.flows).toMatchObject({ net: '-205.5', inflows: '0', outflows: '-205.5', count: 1 });
    expect(returns.simpleReturn).toBe('0');
    expect(markCodes(returns)).toEqual([]);
  });
});
