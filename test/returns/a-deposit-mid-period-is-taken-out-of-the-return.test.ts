import { describe, expect, it } from 'vitest';
import { activity, markCodes, point, portfolioReturns } from './return-scenarios.ts';

/*
 * A deposit mid-period (daily closes at 21:00 UTC):
 *
 *   Mon close  10,000
 *   Tue close  11,000                     market +10 %
 *   Wed 09:00  deposit 6,000              half of Wednesday's interval still to run (w = 12 h / 24 h)
 *   Wed close  18,400
 *
 * Wednesday: gain = 18,400 − 11,000 − 6,000 = 1,400; capital = 11,000 + 0.5 × 6,000 = 14,000;
 * r = 0.1. TWR = 1.1 × 1.1 − 1 = 0.21, while the simple return 18,400 / 10,000 − 1 = 0.84 counts
 * the deposit as gain. The money-weighted return for the period p solves
 * 10,000 (1 + p) + 6,000 (1 + p)^(12 h / 48 h) = 18,400: p = 0.2106324744.
 */
describe('a deposit mid-period', () => {
  const points = [point('2026-03-02T21:00:00Z', '10000'), point('2026-03-03T21:00:00Z', '11000'), point('2026-03-04T21:00:00Z', '18400')];
  const returns = portfolioReturns(points, [activity('acc-1', 'deposit', '2026-03-04T09:00:00Z', '6000')]);

  it('is taken out of the time-weighted return', () => {
    expect(returns.twr).toBe('0.21');
    expect(returns.simpleReturn).toBe('0.84');
    expect(returns.flows).toMatchObject({ known: true, net: '6000', inflows: '6000', outflows: '0', count: 1 });
  });

  it('weighs in the money-weighted return by the time it was invested', () => {
    expect(Number(returns.mwr!.period)).toBeCloseTo(0.2106324744, 9);
    const p = Number(returns.mwr!.period);
    expect(10_000 * (1 + p) + 6_000 * Math.pow(1 + p, 0.25)).toBeCloseTo(18_400, 5);
  });

  it('says the flow fell between two recorded values', () => {
    expect(markCodes(returns)).toEqual(['flows-between-points']);
    expect(returns.start).toEqual({ at: '2026-03-02T21:00:00.000Z', value: '10000' });
    expect(returns.end).toEqual({ at: '2026-03-04T21:00:00.000Z', value: '18400' });
  });
});
