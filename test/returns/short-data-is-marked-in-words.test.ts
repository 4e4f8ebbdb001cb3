import { describe, expect, it } from 'vitest';
import type { Decimal } from '../../src/portfolio/decimal.ts';
import { rangeReturns } from '../../src/returns/range-returns.ts';
import { activity, at, markCodes, point } from './return-scenarios.ts';

/*
 * When the data is short the answer says so, in words:
 * - no activity known at all: flows are unknown, taken as none, and the TWR equals the simple
 *   return (10,000 -> 10,500 -> 12,600 is +26 % either way, a deposit hidden in it or not);
 * - activities known for one account but not another: that account's flows are unknown;
 * - a single value: no return yet, and no TWR or MWR.
 */
const points = [point('2026-03-02T21:00:00Z', '10000'), point('2026-03-03T21:00:00Z', '10500'), point('2026-03-04T21:00:00Z', '12600')];
const base = {
  scope: { kind: 'portfolio' } as const,
  rangeStart: at('2026-03-01T00:00:00Z'),
  now: at('2026-03-04T21:00:00Z'),
  toBase: (amount: Decimal) => amount,
  currentValue: '12600',
  unrealizedPl: null,
};

describe('short data is marked in words', () => {
  it('says flows are unknown without activities, and the TWR is then the simple return', () => {
    const returns = rangeReturns({ ...base, points, activities: null });
    expect(returns.flows.known).toBe(false);
    expect(returns.twr).toBe('0.26');
    expect(returns.twr).toBe(returns.simpleReturn);
    expect(markCodes(returns)).toEqual(['flows-unknown']);
    expect(returns.marks[0]!.message).toContain('the time-weighted return equals the simple return');
  });

  it('names the accounts whose flows are unknown', () => {
    const returns = rangeReturns({
      ...base,
      points,
      activities: [activity('acc-1', 'deposit', '2026-03-04T21:00:00Z', '2000')],
      accountsWithoutActivities: ['Robinhood Individual'],
    });
    // 10,500 / 10,000 × (12,600 − 2,000) / 10,500 − 1 = 10,600 / 10,000 − 1 (the deposit at the close).
    expect(returns.twr).toBe('0.06');
    expect(markCodes(returns)).toEqual(['flows-unknown-for-some-accounts']);
    expect(returns.marks[0]!.message).toContain('Robinhood Individual');
  });

  it('has no return with a single value', () => {
    const returns = rangeReturns({ ...base, points: points.slice(2), activities: [] });
    expect(returns).toMatchObject({ start: null, twr: null, mwr: null, simpleReturn: null, end: { value: '12600' } });
    expect(markCodes(returns)).toEqual(['fewer-than-two-points']);
  });
});
