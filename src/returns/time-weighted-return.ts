import { add, dec, mul, sub, ZERO, ONE, type Decimal, type DecimalString } from '../portfolio/decimal.ts';

/**
 * Time-weighted return (pure): the growth of one unit of money kept in the portfolio over the
 * range, whatever came in or went out. The range is cut into sub-periods at the value points; each
 * sub-period's return is chained: `TWR = Π (1 + r_i) − 1`.
 *
 * A point values the portfolio with every flow at or before its time. Flows inside a sub-period
 * `(t₀, t₁]` are taken out of its gain and weighted by the part of the sub-period they were in the
 * portfolio (Modified Dietz within the sub-period):
 *
 *     r = (V₁ − V₀ − F) / (V₀ + Σ wⱼ Fⱼ),   wⱼ = (t₁ − tⱼ) / (t₁ − t₀)
 *
 * so a flow at a point's time (w = 0) makes the exact chained return `(V₁ − F) / V₀ − 1`, and the
 * approximation only enters when a flow falls between two points (the value at the flow's time was
 * not observed).
 *
 * A sub-period with no capital at work (`V₀ + Σ wF ≤ 0`: an empty portfolio, or holdings that
 * appeared without a recorded flow, e.g. a newly connected account) has no return; it is skipped
 * and counted. When every sub-period is skipped the TWR is undefined.
 *
 * Precision: decimal (big.js) throughout; each sub-period's return and the running product are
 * rounded to `RETURN_DECIMAL_PLACES` (20) places, half-even, so a year of minute points cannot
 * grow the numbers' length.
 */

export interface ValuePoint {
  at: Date;
  /** The portfolio's value at `at`, flows at or before `at` included. */
  value: DecimalString;
}

export interface CashFlow {
  at: Date;
  /** Into the portfolio positive (a deposit), out negative (a withdrawal). */
  amount: DecimalString;
}

export type TimeWeightedReturn =
  | {
      kind: 'return';
      /** The chained return as a fraction (0.05 = 5 %). */
      value: Decimal;
      subPeriods: number;
      /** Sub-periods left out because no capital was at work in them. */
      subPeriodsWithoutCapital: number;
    }
  | { kind: 'undefined'; reason: 'fewer-than-two-points' | 'no-capital-at-work'; subPeriods: number };

export const RETURN_DECIMAL_PLACES = 20;
const HALF_EVEN = 2;

function round(value: Decimal): Decimal {
  return value.round(RETURN_DECIMAL_PLACES, HALF_EVEN);
}

/** Points are taken in time order (sorted here); flows outside `(first point, last point]` are ignored. */
export function timeWeightedReturn(points: readonly ValuePoint[], flows: readonly CashFlow[]): TimeWeightedReturn {
  const ordered = [...points].sort((a, b) => a.at.getTime() - b.at.getTime());
  if (ordered.length < 2) return { kind: 'undefined', reason: 'fewer-than-two-points', subPeriods: 0 };
  const pending = [...flows].sort((a, b) => a.at.getTime() - b.at.getTime());
  let next = 0;
  while (next < pending.length && pending[next]!.at.getTime() <= ordered[0]!.at.getTime()) next++;

  let growth = ONE;
  let counted = 0;
  let withoutCapital = 0;
  for (let i = 1; i < ordered.length; i++) {
    const start = ordered[i - 1]!;
    const end = ordered[i]!;
    const t0 = start.at.getTime();
    const t1 = end.at.getTime();
    let flow = ZERO;
    let weighted = ZERO;
    while (next < pending.length && pending[next]!.at.getTime() <= t1) {
      const { at, amount } = pending[next]!;
      const f = dec(amount);
      flow = add(flow, f);
      // Two points at the same instant: the flow is at the end (weight 0).
      if (t1 > t0) weighted = add(weighted, f.times(t1 - at.getTime()).div(t1 - t0));
      next++;
    }
    const v0 = dec(start.value);
    const capital = add(v0, weighted);
    const gain = sub(sub(dec(end.value), v0), flow);
    if (capital.lte(0)) {
      withoutCapital++;
      continue;
    }
    growth = round(mul(growth, add(ONE, round(gain.div(capital)))));
    counted++;
  }
  const subPeriods = ordered.length - 1;
  if (counted === 0) return { kind: 'undefined', reason: 'no-capital-at-work', subPeriods };
  return { kind: 'return', value: sub(growth, ONE), subPeriods, subPeriodsWithoutCapital: withoutCapital };
}
