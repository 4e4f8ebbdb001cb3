import type { DecimalString } from './decimal.ts';

/**
 * Exact decimals as scaled integers (`n / 10^s`): the arithmetic of the price-tick fast path
 * (reprice.ts). It only adds, subtracts and multiplies, which are exact here as in decimal.ts, and
 * it prints the same canonical text as `str` (plain notation, no trailing zeros, "0" for zero), so
 * its results compare equal to big.js's digit for digit.
 *
 * `n` is a JS number whenever it is a safe integer (|n| < 2^53), and a BigInt only beyond. An
 * operation on two safe integers whose exact result is an integer below 2^53 in magnitude is
 * computed exactly by doubles (IEEE rounding is monotonic and 2^53 is a double, so a rounded
 * result below 2^53 means the exact one was, and such integers are doubles); each fast step checks
 * that bound and otherwise redoes the operation in BigInt. Money on the tick path (prices with a
 * few decimals times quantities) stays far below 2^53, so a tick costs a few double operations
 * instead of BigInt ones and the heap BigInts they leave.
 */
export interface Scaled {
  readonly n: number | bigint;
  readonly s: number;
}

const LIMIT = 2 ** 53;
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
/** 10^0 .. 10^22: every one of them is a double exactly. */
const POW10_NUMBER: number[] = Array.from({ length: 23 }, (_, i) => 10 ** i);
/** The largest scale `formatSafe` and `writeSafeParts` print in doubles (the last power of ten above). */
export const SAFE_PARTS_MAX_SCALE = 22;
const POW10: bigint[] = Array.from({ length: 80 }, (_, i) => 10n ** BigInt(i));
const pow10 = (k: number): bigint => POW10[k] ?? 10n ** BigInt(k);

const safe = (x: number): boolean => x < LIMIT && x > -LIMIT;
const big = (n: number | bigint): bigint => (typeof n === 'bigint' ? n : BigInt(n));
/** `n / 10^s` with `n` as a number when it is a safe integer. */
const fromBig = (n: bigint, s: number): Scaled => (n <= MAX_SAFE && n >= -MAX_SAFE ? { n: Number(n), s } : { n, s });

export const SCALED_ZERO: Scaled = { n: 0, s: 0 };

/** Parses canonical decimal text (what `str` prints: `-?digits(.digits)?`). Throws RangeError otherwise. */
const CANONICAL = /^-?\d+(?:\.\d+)?$/;

export function parseScaled(text: DecimalString): Scaled {
  if (!CANONICAL.test(text)) throw new RangeError(`not a canonical decimal: ${JSON.stringify(text)}`);
  const dot = text.indexOf('.');
  const digits = dot < 0 ? text : text.slice(0, dot) + text.slice(dot + 1);
  const s = dot < 0 ? 0 : text.length - dot - 1;
  // Up to 15 digits (a sign aside) are below 10^15 < 2^53: Number() reads them exactly.
  if (digits.length - (digits.charCodeAt(0) === 45 ? 1 : 0) <= 15) return { n: Number(digits) + 0, s };
  return fromBig(BigInt(digits), s);
}

/** `a + sign * b`, exactly. */
function addSigned(a: Scaled, b: Scaled, sign: 1 | -1): Scaled {
  const an = a.n;
  const bn = b.n;
  if (typeof an === 'number' && typeof bn === 'number' && addExact(an, a.s, bn, b.s, sign)) return { n: exact.n, s: exact.s };
  const x = big(an);
  const y = sign === 1 ? big(bn) : -big(bn);
  if (a.s === b.s) return fromBig(x + y, a.s);
  return a.s > b.s ? fromBig(x + y * pow10(a.s - b.s), a.s) : fromBig(x * pow10(b.s - a.s) + y, b.s);
}

/**
 * Where `addExact` and `mulExact` leave their result: one object for the module, so a caller that
 * chains them (the tick path's figures) makes no object per step. Read it before the next call.
 */
export const exact = { n: 0, s: 0 };

/**
 * `an/10^as + sign * bn/10^bs` into `exact` when every step is a safe integer (see the module's
 * comment); false, leaving `exact` as it was, when it is not and BigInt must do it (`addScaled`).
 */
export function addExact(an: number, as: number, bn: number, bs: number, sign: 1 | -1): boolean {
  const s = as > bs ? as : bs;
  const x = s === as ? an : an * (POW10_NUMBER[s - as] ?? Infinity);
  const y = s === bs ? bn : bn * (POW10_NUMBER[s - bs] ?? Infinity);
  const r = x + sign * y;
  if (!safe(x) || !safe(y) || !safe(r)) return false;
  exact.n = r;
  exact.s = s;
  return true;
}

/** `an/10^as * bn/10^bs` into `exact` when the product is a safe integer; false otherwise (`mulScaled`). */
export function mulExact(an: number, as: number, bn: number, bs: number): boolean {
  const r = an * bn;
  if (!safe(r)) return false;
  // `+ 0` turns the -0 of a negative times zero into 0.
  exact.n = r + 0;
  exact.s = as + bs;
  return true;
}

export function addScaled(a: Scaled, b: Scaled): Scaled {
  return addSigned(a, b, 1);
}

export function subScaled(a: Scaled, b: Scaled): Scaled {
  return addSigned(a, b, -1);
}

export function mulScaled(a: Scaled, b: Scaled): Scaled {
  const an = a.n;
  const bn = b.n;
  if (typeof an === 'number' && typeof bn === 'number' && mulExact(an, a.s, bn, b.s)) return { n: exact.n, s: exact.s };
  return fromBig(big(an) * big(bn), a.s + b.s);
}

/** Canonical text, the same as decimal.ts `str` prints for the same number. */
export function formatScaled(a: Scaled): DecimalString {
  return formatParts(a.n, a.s);
}

/** `formatScaled({ n, s })` without the object (the tick path keeps its figures as numbers). */
export function formatParts(n: number | bigint, s: number): DecimalString {
  if (n === 0 || n === 0n) return '0';
  if (typeof n === 'number' && s <= SAFE_PARTS_MAX_SCALE) return formatSafe(n, s);
  const negative = n < 0;
  let digits = (negative ? -n : n).toString();
  if (s === 0) return negative ? `-${digits}` : digits;
  if (digits.length <= s) digits = '0'.repeat(s - digits.length + 1) + digits;
  const point = digits.length - s;
  let end = digits.length;
  while (end > point && digits.charCodeAt(end - 1) === 48) end--;
  const body = end === point ? digits.slice(0, point) : `${digits.slice(0, point)}.${digits.slice(point, end)}`;
  return negative ? `-${body}` : body;
}

/**
 * `n / 10^s` for a non-zero safe integer `n` and a power of ten that is a double: the whole and
 * fractional parts are split in doubles, each step exact (a remainder of doubles is exact, and the
 * whole part is an integer below 2^53 divided out of an exact multiple of 10^s), so the digits are
 * printed once each instead of printed whole and then sliced around the point.
 */
function formatSafe(n: number, s: number): DecimalString {
  const sign = n < 0 ? '-' : '';
  if (s === 0) return sign + String(n < 0 ? -n : n);
  const magnitude = n < 0 ? -n : n;
  const unit = POW10_NUMBER[s]!;
  let fraction = magnitude % unit;
  const whole = (magnitude - fraction) / unit;
  if (fraction === 0) return sign + String(whole);
  let places = s;
  while (fraction % 10 === 0) {
    fraction /= 10;
    places--;
  }
  let text = String(fraction);
  if (text.length < places) text = '0'.repeat(places - text.length) + text;
  return sign + String(whole) + '.' + text;
}

/** The most bytes `writeSafeParts` writes: a sign, 16 digits, a point and `SAFE_PARTS_MAX_SCALE` places. */
export const SAFE_PARTS_MAX_BYTES = 40;

/**
 * `formatParts(n, s)`'s bytes (ASCII) written into `into` at `at`, for a safe integer `n` and
 * `s <= SAFE_PARTS_MAX_SCALE` (the tick path's figures); returns where they end. The same split as `formatSafe`,
 * with the digits stored as they are found instead of printed into strings and joined: a delta
 * writer puts a figure straight into the bytes it sends.
 */
export function writeSafeParts(into: Uint8Array, at: number, n: number, s: number): number {
  if (n < 0) {
    into[at++] = 45; // '-'
    n = -n;
  }
  if (s === 0) return writeWhole(into, at, n);
  const unit = POW10_NUMBER[s]!;
  let fraction = n % unit;
  at = writeWhole(into, at, (n - fraction) / unit);
  if (fraction === 0) return at;
  let places = s;
  while (fraction % 10 === 0) {
    fraction /= 10;
    places--;
  }
  into[at++] = 46; // '.'
  const end = at + places;
  let i = end;
  // Below 2^53 a tenth is within 2^-3 of the exact one, so the floor is the exact quotient.
  for (; fraction > 0; i--) {
    const quotient = Math.floor(fraction / 10);
    into[i - 1] = 48 + (fraction - quotient * 10);
    fraction = quotient;
  }
  while (i > at) into[--i] = 48;
  return end;
}

/** The decimal digits of a non-negative safe integer. */
function writeWhole(into: Uint8Array, at: number, n: number): number {
  let end = at + 1;
  for (let p = 10; p <= n; p *= 10) end++;
  let i = end;
  do {
    const quotient = Math.floor(n / 10);
    into[--i] = 48 + (n - quotient * 10);
    n = quotient;
  } while (n > 0);
  return end;
}

/**
 * A running exact sum, changed in place (a `Scaled` itself, read as one): a portfolio's totals
 * under live ticks. `move` makes no object while the numbers stay safe integers, so a tick leaves
 * no new sum behind, and the sum, kept as long as its portfolio state, never points at an object
 * younger than itself (each such pointer is an entry the scavenger walks, and the object it holds
 * survives to be promoted).
 */
export class ScaledSum implements Scaled {
  n: number | bigint;
  s: number;

  constructor(start: Scaled) {
    this.n = start.n;
    this.s = start.s;
  }

  /** `this += now - before`, exactly (each as its scaled integer and scale, as `Scaled` holds them). */
  move(nowN: number | bigint, nowS: number, beforeN: number | bigint, beforeS: number): void {
    const t = this.n;
    // Each step exact: every operand and result a safe integer (see the module's comment).
    if (typeof t === 'number' && typeof nowN === 'number' && typeof beforeN === 'number' && addExact(nowN, nowS, beforeN, beforeS, -1) && addExact(t, this.s, exact.n, exact.s, 1)) {
      this.n = exact.n + 0;
      this.s = exact.s;
      return;
    }
    const r = addSigned({ n: t, s: this.s }, addSigned({ n: nowN, s: nowS }, { n: beforeN, s: beforeS }, -1), 1);
    this.n = r.n;
    this.s = r.s;
  }
}
