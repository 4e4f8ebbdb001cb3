/**
 * Alpaca sends money and quantities as decimal strings ("10", "227.5", "-0.0123").
 * The sandbox keeps numbers and rounds them at fixed scales so float noise never shows.
 */

/** Round to `digits` decimal places (half away from zero). */
export function roundTo(value: number, digits: number): number {
  const factor = 10 ** digits;
  const rounded = Math.round(Math.abs(value) * factor) / factor;
  return value < 0 ? -rounded : rounded;
}

/** Quantities: up to 9 decimals (Alpaca's fractional-share precision). */
export function roundQty(value: number): number {
  return roundTo(value, 9);
}

/** Decimal string with at most `digits` decimals and no trailing zeros; never "-0". */
export function dec(value: number, digits = 10): string {
  const rounded = roundTo(value, digits);
  if (rounded === 0) return '0';
  const text = rounded.toFixed(digits).replace(/\.?0+$/, '');
  return text;
}

/** Nullable variant for optional order fields. */
export function decOrNull(value: number | undefined, digits = 10): string | null {
  return value === undefined ? null : dec(value, digits);
}

/** Parse a decimal given as a string or number; `undefined` when absent, NaN when malformed. */
export function parseDecimal(value: unknown): number | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value === 'number') return value;
  if (typeof value === 'string' && /^-?\d+(\.\d+)?$/.test(value.trim())) return Number(value);
  return Number.NaN;
}
