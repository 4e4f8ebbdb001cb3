import BigFactory from 'big.js';
import type { Big } from 'big.js';

/**
 * Exact decimal arithmetic for money and quantities.
 *
 * State at rest is a `DecimalString` (what Postgres NUMERIC stores and returns); arithmetic is
 * done on `Decimal` values (big.js). Addition, subtraction and multiplication are exact: a sum
 * built incrementally (`total - old + new`) is the same number as the sum recomputed from
 * scratch, which is what lets the incremental aggregation and revaluation paths be compared to
 * full recomputation with `===` on strings. Division is the only rounding operation: it keeps
 * `DIVISION_DECIMAL_PLACES` places, rounding half-even, and is used only for derived figures
 * (average cost, inverse FX rates) that every path computes the same way.
 *
 * The module uses its own big.js constructor, so nobody else's `Big.DP`/`Big.RM` settings can
 * change these results.
 */
export type Decimal = Big;

/** A decimal number in plain notation ("-12.5", "0.000001"), canonical: no trailing zeros, no "-0". */
export type DecimalString = string;

/** Decimal places kept by `div`. */
export const DIVISION_DECIMAL_PLACES = 20;

const D = BigFactory();
D.DP = DIVISION_DECIMAL_PLACES;
D.RM = 2; // half-even (banker's rounding) for the rare divisions
D.NE = -1_000_000; // never switch to exponential notation in toString()
D.PE = 1_000_000;
D.strict = false;

/** Plain decimal notation as accepted from providers: optional sign, digits, optional fraction, optional exponent. */
const DECIMAL_TEXT = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;

export class DecimalParseError extends Error {
  override readonly name = 'DecimalParseError';
}

/** True when `text` is a decimal number this module accepts. */
export function isDecimalText(text: string): boolean {
  return DECIMAL_TEXT.test(text.trim());
}

/** Parse a decimal string (or a finite JS number, via its shortest round-trip text). Throws `DecimalParseError`. */
export function dec(value: DecimalString | number | Decimal): Decimal {
  if (typeof value === 'object') return value;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new DecimalParseError(`not a finite number: ${value}`);
    return D(String(value));
  }
  const text = value.trim();
  if (!DECIMAL_TEXT.test(text)) throw new DecimalParseError(`not a decimal number: ${JSON.stringify(value)}`);
  return D(text.startsWith('+') ? text.slice(1) : text);
}

export const ZERO: Decimal = D(0);
export const ONE: Decimal = D(1);

export function add(a: Decimal, b: Decimal): Decimal {
  return a.plus(b);
}

export function sub(a: Decimal, b: Decimal): Decimal {
  return a.minus(b);
}

export function mul(a: Decimal, b: Decimal): Decimal {
  return a.times(b);
}

/** `a / b` to `DIVISION_DECIMAL_PLACES` places (half-even); `null` when `b` is zero. */
export function div(a: Decimal, b: Decimal): Decimal | null {
  if (b.eq(0)) return null;
  return D(a).div(b);
}

export function neg(a: Decimal): Decimal {
  return a.times(-1);
}

export function isZero(a: Decimal): boolean {
  return a.eq(0);
}

/** -1, 0 or 1. */
export function compare(a: Decimal, b: Decimal): -1 | 0 | 1 {
  return a.cmp(b) as -1 | 0 | 1;
}

/** Σ values (exact); `ZERO` for none. */
export function sum(values: Iterable<Decimal>): Decimal {
  let total = ZERO;
  for (const value of values) total = total.plus(value);
  return total;
}

/** Canonical string form for storage and comparison: plain notation, no trailing zeros, "0" for any zero. */
export function str(a: Decimal): DecimalString {
  if (a.eq(0)) return '0';
  return a.toFixed();
}

/** `str` for nullable values. */
export function strOrNull(a: Decimal | null): DecimalString | null {
  return a === null ? null : str(a);
}

/** Canonicalise a decimal string ("1.50" -> "1.5", "-0" -> "0", "1e3" -> "1000"). */
export function canonical(text: DecimalString | number): DecimalString {
  return str(dec(text));
}

/** Round for display (half-up, like a statement); never for state. */
export function toFixedPlaces(a: Decimal, places: number): string {
  return a.round(places, 1).toFixed(places);
}

/**
 * Money for people: rounded half-up to 2 places, thousands separated, then the currency
 * (`45757.85812355` → `45,757.86 USD`). Display only; never for state.
 */
export function formatMoney(amount: Decimal | DecimalString | number, currency: string): string {
  const rounded = dec(amount).round(2, 1);
  const fixed = rounded.eq(0) ? '0.00' : rounded.toFixed(2);
  const negative = fixed.startsWith('-');
  const [whole, fraction] = (negative ? fixed.slice(1) : fixed).split('.') as [string, string];
  return `${negative ? '-' : ''}${whole.replace(/\B(?=(\d{3})+(?!\d))/g, ',')}.${fraction} ${currency}`;
}
