import type { DecimalString } from './decimal.ts';

/**
 * Exact decimals as scaled integers (`n / 10^s`, a native BigInt): the arithmetic of the price-tick
 * fast path (reprice.ts). It only adds, subtracts and multiplies, which are exact here as in
 * decimal.ts, and it prints the same canonical text as `str` (plain notation, no trailing zeros,
 * "0" for zero), so its results compare equal to big.js's digit for digit. A tick costs a few
 * BigInt operations instead of big.js's digit arrays, its regexes and the garbage they leave.
 */
export interface Scaled {
  readonly n: bigint;
  readonly s: number;
}

const POW10: bigint[] = Array.from({ length: 80 }, (_, i) => 10n ** BigInt(i));
const pow10 = (k: number): bigint => POW10[k] ?? 10n ** BigInt(k);

export const SCALED_ZERO: Scaled = { n: 0n, s: 0 };

/** Parses canonical decimal text (what `str` prints: `-?digits(.digits)?`). Throws RangeError otherwise. */
const CANONICAL = /^-?\d+(?:\.\d+)?$/;

export function parseScaled(text: DecimalString): Scaled {
  if (!CANONICAL.test(text)) throw new RangeError(`not a canonical decimal: ${JSON.stringify(text)}`);
  const dot = text.indexOf('.');
  if (dot < 0) return { n: BigInt(text), s: 0 };
  return { n: BigInt(text.slice(0, dot) + text.slice(dot + 1)), s: text.length - dot - 1 };
}

export function addScaled(a: Scaled, b: Scaled): Scaled {
  if (a.s === b.s) return { n: a.n + b.n, s: a.s };
  return a.s > b.s ? { n: a.n + b.n * pow10(a.s - b.s), s: a.s } : { n: a.n * pow10(b.s - a.s) + b.n, s: b.s };
}

export function subScaled(a: Scaled, b: Scaled): Scaled {
  return addScaled(a, { n: -b.n, s: b.s });
}

export function mulScaled(a: Scaled, b: Scaled): Scaled {
  return { n: a.n * b.n, s: a.s + b.s };
}

/** Canonical text, the same as decimal.ts `str` prints for the same number. */
export function formatScaled(a: Scaled): DecimalString {
  if (a.n === 0n) return '0';
  const negative = a.n < 0n;
  let digits = (negative ? -a.n : a.n).toString();
  if (a.s === 0) return negative ? `-${digits}` : digits;
  if (digits.length <= a.s) digits = '0'.repeat(a.s - digits.length + 1) + digits;
  const point = digits.length - a.s;
  let end = digits.length;
  while (end > point && digits.charCodeAt(end - 1) === 48) end--;
  const body = end === point ? digits.slice(0, point) : `${digits.slice(0, point)}.${digits.slice(point, end)}`;
  return negative ? `-${body}` : body;
}
