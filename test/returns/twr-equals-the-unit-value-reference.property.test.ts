import BigFactory, { type Big } from 'big.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { timeWeightedReturn, type CashFlow, type ValuePoint } from '../../src/returns/time-weighted-return.ts';

/*
 * The TWR (sub-period chaining) against two computations that do not chain sub-period returns:
 *
 * - The unit-value (NAV) method, in decimal with 40 places (its own big.js constructor): the
 *   portfolio is a fund whose units start at a price of 1; a flow at a point's time buys or redeems
 *   units at that point's unit price before the flow, (V − F) / units; the TWR is the last unit
 *   price − 1. (Floating point would not do: a withdrawal that leaves a few cents followed by a large
 *   deposit cancels every significant digit of V − F.)
 * - A portfolio always fully invested in one security, where every deposit buys and every
 *   withdrawal sells whole shares at the point's price: its TWR is the security's price return,
 *   whatever the flows.
 *
 * Flows happen at the points' times (the values around a flow are then known exactly, so the
 * reference is exact); flows at the first point (already in its value) and after the last point
 * are outside the range and must be ignored.
 */

const T0 = Date.parse('2026-01-05T21:00:00Z');
const MINUTE = 60_000;

const Fine = BigFactory();
Fine.DP = 40;

function unitValueReturn(points: readonly ValuePoint[], flows: readonly CashFlow[]): Big {
  let units = Fine(points[0]!.value);
  let unitPrice = Fine(1);
  for (const point of points.slice(1)) {
    const flow = flows.filter((f) => f.at.getTime() === point.at.getTime()).reduce((total, f) => total.plus(f.amount), Fine(0));
    unitPrice = Fine(point.value).minus(flow).div(units);
    units = units.plus(flow.div(unitPrice));
  }
  return unitPrice.minus(1);
}

const stepArb = fc.record({
  gapMinutes: fc.integer({ min: 1, max: 5 * 1440 }),
  /** Market move of the interval in basis points. */
  moveBp: fc.integer({ min: -3000, max: 3000 }),
  /** Flows at the interval's end point, in cents (clipped so the value stays positive). */
  flowsCents: fc.array(fc.integer({ min: -50_000_000, max: 100_000_000 }), { maxLength: 2 }),
});

const scenarioArb = fc.record({
  startCents: fc.integer({ min: 100, max: 1_000_000_000 }),
  steps: fc.array(stepArb, { minLength: 1, maxLength: 40 }),
  outsideCents: fc.array(fc.integer({ min: -1_000_000, max: 1_000_000 }).filter((c) => c !== 0), { maxLength: 2 }),
});

type Scenario = typeof scenarioArb extends fc.Arbitrary<infer T> ? T : never;

function build(scenario: Scenario) {
  let at = T0;
  let cents = scenario.startCents;
  const points: ValuePoint[] = [{ at: new Date(at), value: (cents / 100).toFixed(2) }];
  const flows: CashFlow[] = scenario.outsideCents.map((c) => ({ at: new Date(T0), amount: (c / 100).toFixed(2) }));
  for (const step of scenario.steps) {
    at += step.gapMinutes * MINUTE;
    cents = Math.max(1, Math.round((cents * (10_000 + step.moveBp)) / 10_000));
    for (const requested of step.flowsCents) {
      const flow = Math.max(requested, 1 - cents); // a withdrawal leaves at least a cent
      if (flow === 0) continue;
      cents += flow;
      flows.push({ at: new Date(at), amount: (flow / 100).toFixed(2) });
    }
    points.push({ at: new Date(at), value: (cents / 100).toFixed(2) });
  }
  for (const c of scenario.outsideCents) flows.push({ at: new Date(at + MINUTE), amount: (c / 100).toFixed(2) });
  return { points, flows };
}

describe('the time-weighted return equals an independent reference', () => {
  it('equals the unit-value (NAV) method over random values and flows', () => {
    fc.assert(
      fc.property(scenarioArb, (scenario) => {
        const { points, flows } = build(scenario);
        const twr = timeWeightedReturn(points, flows);
        expect(twr.kind).toBe('return');
        if (twr.kind !== 'return') return;
        const reference = unitValueReturn(points, flows);
        expect(Number(twr.value.minus(reference).abs().toString())).toBeLessThanOrEqual(1e-15 * Math.max(1, Number(reference.abs().toString())));
        expect(twr.subPeriods).toBe(points.length - 1);
      }),
      { numRuns: 500 },
    );
  });

  it("equals the security's price return when the portfolio is always fully invested in it", () => {
    const stepArb = fc.record({
      gapMinutes: fc.integer({ min: 1, max: 5 * 1440 }),
      priceCents: fc.integer({ min: 100, max: 100_000 }),
      sharesBought: fc.integer({ min: -50, max: 200 }),
    });
    fc.assert(
      fc.property(fc.integer({ min: 100, max: 100_000 }), fc.integer({ min: 1, max: 500 }), fc.array(stepArb, { minLength: 1, maxLength: 30 }), (firstCents, firstShares, steps) => {
        let at = T0;
        let shares = firstShares;
        const points: ValuePoint[] = [{ at: new Date(at), value: ((shares * firstCents) / 100).toFixed(2) }];
        const flows: CashFlow[] = [];
        for (const step of steps) {
          at += step.gapMinutes * MINUTE;
          const bought = Math.max(step.sharesBought, 1 - shares);
          shares += bought;
          if (bought !== 0) flows.push({ at: new Date(at), amount: ((bought * step.priceCents) / 100).toFixed(2) });
          points.push({ at: new Date(at), value: ((shares * step.priceCents) / 100).toFixed(2) });
        }
        const twr = timeWeightedReturn(points, flows);
        expect(twr.kind).toBe('return');
        if (twr.kind !== 'return') return;
        const priceReturn = steps[steps.length - 1]!.priceCents / firstCents - 1;
        expect(Math.abs(Number(twr.value.toString()) - priceReturn)).toBeLessThanOrEqual(1e-12 * Math.max(1, Math.abs(priceReturn)));
      }),
      { numRuns: 500 },
    );
  });
});
