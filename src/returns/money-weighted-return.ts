/**
 * Money-weighted return (pure): the XIRR of the investor's cash flows, the one constant rate at
 * which their net present value is zero. The start value counts as money put in at the start, each
 * deposit as money put in, each withdrawal as money taken out, and the end value as money taken
 * out at the end (see `mwrFlows`).
 *
 * Solved for the continuously compounded annual rate `g = ln(1 + r)`, over 365-day years (the
 * spreadsheet XIRR convention): `NPV(g) = Σ aᵢ·e^(−g·τᵢ)`, `τᵢ` the years since the first flow.
 * Working in `g` keeps every evaluation finite over short ranges, where an annualized rate can be
 * astronomically large (1 % in a day is 3,678 % a year): the search covers `|g·T| ≤ 500` over the
 * span `T`. A bracket with a sign change is found on a grid (the one nearest a zero rate when the
 * flows change sign more than once), then Newton's method is run inside it, with a bisection step
 * whenever Newton would leave the bracket or stops shrinking it (Numerical Recipes' `rtsafe`).
 *
 * Precision: binary floating point (the exponentials need it); the rate is solved until a step is
 * below 1e-15 of `g` (full double precision: the NPV is then zero up to its rounding, about 1e-16
 * of the flows' size). Amounts come in as decimals and are summed per instant exactly before
 * solving.
 */
import { add, dec, type Decimal, type DecimalString } from '../portfolio/decimal.ts';

const YEAR_MS = 365 * 86_400_000;
/** The largest |g·T| searched: e^500 ≈ 1e217 keeps NPV terms finite for any amount. */
const MAX_EXPONENT = 500;
const GRID_STEPS = 400;
const MAX_ITERATIONS = 300;

export interface InvestorFlow {
  at: Date;
  /** From the investor's side: money put in negative, money taken out positive. */
  amount: DecimalString;
}

export type MoneyWeightedReturn =
  | {
      kind: 'rate';
      /** The annual rate (XIRR); null when it is too large to represent (a big move over a short range). */
      annual: number | null;
      /** The same rate over the range's span: `(1 + annual)^(span in years) − 1`. */
      period: number;
      /** The flows change sign more than once, so other rates may also zero the NPV (the one nearest 0 is given). */
      severalRatesPossible: boolean;
      method: 'newton' | 'newton-and-bisection';
      iterations: number;
    }
  | {
      kind: 'no-solution';
      reason:
        | 'fewer-than-two-flows'
        | 'no-time-span'
        /** Every flow has the same sign (nothing put in, or nothing taken out): no rate balances them. */
        | 'flows-of-one-sign'
        /** The NPV does not change sign for any rate searched. */
        | 'no-rate-zeroes-the-npv';
    };

interface Term {
  years: number;
  amount: number;
}

function npv(terms: readonly Term[], g: number): number {
  let total = 0;
  for (const { years, amount } of terms) total += amount * Math.exp(-g * years);
  return total;
}

function npvSlope(terms: readonly Term[], g: number): number {
  let total = 0;
  for (const { years, amount } of terms) total -= years * amount * Math.exp(-g * years);
  return total;
}

/** Flows summed per instant (exactly, in decimal), in time order, as years since the first. */
function termsOf(flows: readonly InvestorFlow[]): Term[] {
  const byInstant = new Map<number, Decimal>();
  for (const { at, amount } of flows) {
    const t = at.getTime();
    byInstant.set(t, add(byInstant.get(t) ?? dec(0), dec(amount)));
  }
  const instants = [...byInstant.keys()].sort((a, b) => a - b);
  const first = instants[0] ?? 0;
  return instants
    .map((t) => ({ years: (t - first) / YEAR_MS, amount: Number(byInstant.get(t)!.toString()) }))
    .filter((term) => term.amount !== 0);
}

function signChanges(terms: readonly Term[]): number {
  let changes = 0;
  for (let i = 1; i < terms.length; i++) if (Math.sign(terms[i]!.amount) !== Math.sign(terms[i - 1]!.amount)) changes++;
  return changes;
}

/** The bracket `[lo, hi]` (in g) with a sign change nearest g = 0 on a grid over ±MAX_EXPONENT/T. */
function bracketNearestZero(terms: readonly Term[], span: number): [number, number] | null {
  const limit = MAX_EXPONENT / span;
  const step = limit / (GRID_STEPS / 2);
  let best: [number, number] | null = null;
  // Walk outwards from 0 on both sides; the first sign change found is the nearest.
  for (let k = 0; k < GRID_STEPS / 2; k++) {
    for (const [a, b] of [
      [k * step, (k + 1) * step],
      [-(k + 1) * step, -k * step],
    ] as const) {
      const fa = npv(terms, a);
      const fb = npv(terms, b);
      if (fa === 0) return [a, a];
      if (fb === 0) return [b, b];
      if (Math.sign(fa) !== Math.sign(fb)) {
        best = [a, b];
        break;
      }
    }
    if (best) return best;
  }
  return null;
}

export function moneyWeightedReturn(flows: readonly InvestorFlow[]): MoneyWeightedReturn {
  const terms = termsOf(flows);
  if (terms.length < 2) return { kind: 'no-solution', reason: 'fewer-than-two-flows' };
  const span = terms[terms.length - 1]!.years;
  if (span <= 0) return { kind: 'no-solution', reason: 'no-time-span' };
  const changes = signChanges(terms);
  if (changes === 0) return { kind: 'no-solution', reason: 'flows-of-one-sign' };
  const bracket = bracketNearestZero(terms, span);
  if (!bracket) return { kind: 'no-solution', reason: 'no-rate-zeroes-the-npv' };

  let [lo, hi] = bracket;
  let method: 'newton' | 'newton-and-bisection' = 'newton';
  let iterations = 0;
  let g = (lo + hi) / 2;
  if (lo !== hi) {
    // Orient so that npv(lo) < 0 < npv(hi).
    if (npv(terms, lo) > 0) [lo, hi] = [hi, lo];
    let previousStep = Math.abs(hi - lo);
    let step = previousStep;
    let f = npv(terms, g);
    let slope = npvSlope(terms, g);
    for (; iterations < MAX_ITERATIONS; iterations++) {
      const newton = g - f / slope;
      const outside = (newton - lo) * (newton - hi) > 0 || !Number.isFinite(newton);
      if (outside || Math.abs(2 * f) > Math.abs(previousStep * slope)) {
        method = 'newton-and-bisection';
        previousStep = step;
        step = (hi - lo) / 2;
        g = lo + step;
      } else {
        previousStep = step;
        step = newton - g;
        g = newton;
      }
      f = npv(terms, g);
      slope = npvSlope(terms, g);
      if (Math.abs(step) < 1e-15 * Math.max(1, Math.abs(g)) || f === 0) break;
      if (f < 0) lo = g;
      else hi = g;
    }
  }
  const annual = Math.expm1(g);
  return {
    kind: 'rate',
    annual: Number.isFinite(annual) ? annual : null,
    period: Math.expm1(g * span),
    severalRatesPossible: changes > 1,
    method,
    iterations,
  };
}

/**
 * The investor's flows of a range: the start value put in at the start, each flow into the
 * portfolio (`+` deposit) as money put in (`−`), each flow out as money taken out, and the end value
 * taken out at the end.
 */
export function mwrFlows(start: { at: Date; value: DecimalString }, flows: readonly { at: Date; amount: DecimalString }[], end: { at: Date; value: DecimalString }): InvestorFlow[] {
  return [
    { at: start.at, amount: dec(start.value).neg().toString() },
    ...flows.map(({ at, amount }) => ({ at, amount: dec(amount).neg().toString() })),
    { at: end.at, amount: end.value },
  ];
}
