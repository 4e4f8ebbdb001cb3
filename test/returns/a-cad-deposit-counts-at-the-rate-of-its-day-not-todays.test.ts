import { describe, expect, it } from 'vitest';
import { rangeReturns } from '../../src/returns/range-returns.ts';
import { createFxTable } from '../../src/portfolio/currency.ts';
import { convertAtDayRate, createDatedFx } from '../../src/portfolio/dated-fx.ts';
import { dec, str } from '../../src/portfolio/decimal.ts';
import { point } from './return-scenarios.ts';

/*
 * A USD portfolio with a CAD account. Stored rates: USD -> CAD 1.25 on 2026-03-02, 1.60 on
 * 2026-03-04 (the Canadian dollar fell).
 *
 *   Mon 03-02 close  10,000 USD
 *   Tue 03-03 21:00  deposit 1,000 CAD, at the rate of that day (the last stored on or before
 *                    03-03: 1.25) = 1,000 / 1.25 = 800 USD; at today's 1.60 it would be 625
 *   Tue 03-03 close  10,800 USD (the deposit, nothing else moved)
 *   Wed 03-04 14:00  dividend 32 CAD at that day's 1.60 = 20 USD
 *   Wed 03-04 close  10,820 USD (the dividend's cash)
 *
 * Net flows 800 USD, income 20 USD. TWR: Tuesday (10,800 - 10,000 - 800) / 10,000 = 0, Wednesday
 * 20 / 10,800 (income is return): 0.00185185... Today's 1.60 for the deposit would have made the
 * flow 625 and Tuesday a gain of 175. An amount older than every stored day (03-01) goes at today's
 * rate (USD -> CAD 2 in that case: 1,000 CAD = 500 USD) rather than being left out.
 */
describe('a CAD deposit counts at the rate of its day, not today’s', () => {
  const dated = createDatedFx([
    { day: '2026-03-02', from: 'USD', to: 'CAD', rate: '1.25' },
    { day: '2026-03-04', from: 'USD', to: 'CAD', rate: '1.60' },
  ]);
  const returns = rangeReturns({
    scope: { kind: 'portfolio' },
    points: [point('2026-03-02T21:00:00Z', '10000'), point('2026-03-03T21:00:00Z', '10800'), point('2026-03-04T21:00:00Z', '10820')],
    rangeStart: new Date('2026-03-02T21:00:00Z'),
    now: new Date('2026-03-04T21:00:00Z'),
    activities: [
      { accountId: 'cad', type: 'deposit', amount: '1000', currency: 'CAD', at: new Date('2026-03-03T21:00:00Z') },
      { accountId: 'cad', type: 'dividend', amount: '32', currency: 'CAD', at: new Date('2026-03-04T14:00:00Z') },
    ],
    toBase: convertAtDayRate(dated, 'USD'),
    currentValue: '10820',
    unrealizedPl: null,
  });

  it('converts the deposit at 1.25, the rate of Tuesday', () => {
    expect(returns.flows).toMatchObject({ known: true, net: '800', inflows: '800', count: 1 });
    expect(returns.twr).toBe('0.0018518519'); // 20 / 10,800, as the API gives it (10 places)
  });

  it('converts the dividend at 1.60, the rate of Wednesday', () => {
    expect(returns.income).toMatchObject({ dividends: '20' });
  });

  it('converts an amount older than every stored day at today’s rate, not never', () => {
    const today = createFxTable([{ from: 'USD', to: 'CAD', rate: '2' }]);
    const toBase = convertAtDayRate(dated, 'USD', today);
    expect(str(toBase(dec('1000'), 'CAD', '2026-03-01T12:00:00Z')!)).toBe('500');
    expect(str(toBase(dec('1000'), 'CAD', '2026-03-02T12:00:00Z')!)).toBe('800');
    expect(convertAtDayRate(dated, 'USD')(dec('1000'), 'CAD', '2026-03-01T12:00:00Z')).toBeNull();
  });
});
