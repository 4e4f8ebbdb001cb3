import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { moneyWeightedReturn, type InvestorFlow } from '../../src/returns/money-weighted-return.ts';

/*
 * XIRR against its definition and a reference written another way: the NPV is evaluated on the
 * annual rate r directly, Σ aᵢ·(1 + r)^(−daysᵢ/365) (the solver works on ln(1 + r) with
 * exponentials), and the reference root is found by plain bisection on r alone (no Newton step, no
 * grid), 200 halvings of [−1 + 1e-15, 1000].
 *
 * The flows are an investment, further deposits, and a final value taken out (one change of sign,
 * so exactly one rate zeroes the NPV): the money put in grown at a random rate from −50 % to +200 %
 * a year, rounded to cents, over half a year to ten years. The NPV is the present value at the first
 * flow; with amounts up to a million its own rounding in a double stays below 1e-7, so 1e-6 measures
 * the solver. (Far outside these rates a deposit's present value reaches 1e9 and more, and one ulp of
 * the rate moves the NPV by more than 1e-6: no double would pass.)
 */

const T0 = Date.parse('2025-01-02T21:00:00Z');
const DAY = 86_400_000;

function npvAt(flows: readonly InvestorFlow[], annual: number): number {
  const first = Math.min(...flows.map((f) => f.at.getTime()));
  return flows.reduce((total, f) => total + Number(f.amount) * Math.pow(1 + annual, -(f.at.getTime() - first) / DAY / 365), 0);
}

function referenceBisection(flows: readonly InvestorFlow[]): number {
  let lo = -1 + 1e-15;
  let hi = 1000;
  const fLo = npvAt(flows, lo);
  for (let i = 0; i < 200; i++) {
    const mid = (lo + hi) / 2;
    if (Math.sign(npvAt(flows, mid)) === Math.sign(fLo)) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

const flowsArb = fc
  .record({
    spanDays: fc.integer({ min: 182, max: 3650 }),
    investedCents: fc.integer({ min: 10_000, max: 100_000_000 }),
    deposits: fc.array(fc.record({ dayFraction: fc.double({ min: 0, max: 1, noNaN: true }), cents: fc.integer({ min: 100, max: 10_000_000 }) }), { maxLength: 8 }),
    /** The rate the final value is grown at, in basis points a year (−50 % to +200 %). */
    rateBp: fc.integer({ min: -5000, max: 20_000 }),
  })
  .map(({ spanDays, investedCents, deposits, rateBp }) => {
    const flows: InvestorFlow[] = [{ at: new Date(T0), amount: (-investedCents / 100).toFixed(2) }];
    let finalValue = (investedCents / 100) * Math.pow(1 + rateBp / 10_000, spanDays / 365);
    for (const { dayFraction, cents } of deposits) {
      const day = Math.floor(dayFraction * spanDays);
      flows.push({ at: new Date(T0 + day * DAY), amount: (-cents / 100).toFixed(2) });
      finalValue += (cents / 100) * Math.pow(1 + rateBp / 10_000, (spanDays - day) / 365);
    }
    flows.push({ at: new Date(T0 + spanDays * DAY), amount: finalValue.toFixed(2) });
    return { flows, spanDays };
  });

describe('XIRR', () => {
  it('zeroes the NPV within 1e-6 and agrees with a reference bisection within 1e-6', () => {
    fc.assert(
      fc.property(flowsArb, ({ flows, spanDays }) => {
        const result = moneyWeightedReturn(flows);
        expect(result.kind).toBe('rate');
        if (result.kind !== 'rate') return;
        expect(result.annual).not.toBeNull();
        const annual = result.annual!;
        expect(Math.abs(npvAt(flows, annual))).toBeLessThanOrEqual(1e-6);
        expect(Math.abs(annual - referenceBisection(flows))).toBeLessThanOrEqual(1e-6);
        const period = Math.pow(1 + annual, spanDays / 365) - 1;
        expect(Math.abs(result.period - period)).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(period)));
        expect(result.severalRatesPossible).toBe(false);
      }),
      { numRuns: 500 },
    );
  });

  it('says there is no solution when money only goes one way, and keeps the period rate of a big day', () => {
    const at = (days: number) => new Date(T0 + days * DAY);
    expect(moneyWeightedReturn([{ at: at(0), amount: '-100' }, { at: at(30), amount: '-50' }])).toEqual({ kind: 'no-solution', reason: 'flows-of-one-sign' });
    expect(moneyWeightedReturn([{ at: at(0), amount: '-100' }])).toEqual({ kind: 'no-solution', reason: 'fewer-than-two-flows' });
    expect(moneyWeightedReturn([{ at: at(0), amount: '-100' }, { at: at(0), amount: '150' }])).toEqual({ kind: 'no-solution', reason: 'fewer-than-two-flows' });
    // 30 % in one day: (1.3)^365 overflows nothing in ln-space, but the annual figure is 1e41; 400 % a day is beyond a double.
    const day = moneyWeightedReturn([{ at: at(0), amount: '-100' }, { at: at(1), amount: '130' }]);
    expect(day).toMatchObject({ kind: 'rate' });
    if (day.kind === 'rate') {
      expect(day.period).toBeCloseTo(0.3, 12);
      expect(day.annual! / (Math.pow(1.3, 365) - 1)).toBeCloseTo(1, 9);
    }
    const huge = moneyWeightedReturn([{ at: at(0), amount: '-1' }, { at: new Date(T0 + 60_000), amount: '5' }]);
    expect(huge).toMatchObject({ kind: 'rate', annual: null });
    if (huge.kind === 'rate') expect(huge.period).toBeCloseTo(4, 9);
  });
});
