import { convert, createFxTable, currencyCode, fxRate, type CurrencyCode, type FxLookup, type FxTable } from './currency.ts';
import { dec, type Decimal, type DecimalString } from './decimal.ts';

/**
 * Exchange rates by day: what a rate was on a given day, for figures that belong to a day (the
 * cost of a purchase, a deposit, a value point) rather than to now.
 *
 * A day is a UTC calendar day, `YYYY-MM-DD` (the FX refresh stores each day's rates under the UTC
 * day it ran; an instant is on the UTC day of its ISO text). The rate of a pair on day D is the
 * last one stored on or before D, so a weekend or a missed refresh takes the day before's. A pair
 * with no rate on or before D has none: never a later one (that would price an old purchase at a
 * rate from after it) and never a silent 1.0. Lookups then go as `fxRate` does (identity, direct,
 * inverse, cross through the pivot), each leg at its own last rate on or before D.
 */

export type Day = string;

export interface DatedFxRateInput {
  day: Day;
  from: CurrencyCode;
  to: CurrencyCode;
  rate: DecimalString | number;
}

/** Stored rates by pair, each pair's days ascending. Build with `createDatedFx`. */
export interface DatedFx {
  readonly pivot: CurrencyCode;
  readonly pairs: ReadonlyMap<string, { days: readonly Day[]; rates: readonly Decimal[] }>;
}

const DAY = /^\d{4}-\d{2}-\d{2}$/;

/** The UTC day of an instant (a `Date` or ISO 8601 text, which must carry its offset or `Z`). */
export function utcDay(at: Date | string): Day {
  const date = typeof at === 'string' ? new Date(at) : at;
  if (Number.isNaN(date.getTime())) throw new RangeError(`not a time: ${String(at)}`);
  return date.toISOString().slice(0, 10);
}

export function createDatedFx(rows: Iterable<DatedFxRateInput>, pivot: CurrencyCode = 'USD'): DatedFx {
  const byPair = new Map<string, Map<Day, Decimal>>();
  for (const row of rows) {
    if (!DAY.test(row.day)) throw new RangeError(`not a day: ${JSON.stringify(row.day)}`);
    const value = dec(row.rate);
    if (value.lte(0)) throw new RangeError(`exchange rate ${row.from}->${row.to} on ${row.day} must be positive`);
    const key = `${currencyCode(row.from)}/${currencyCode(row.to)}`;
    let days = byPair.get(key);
    if (days === undefined) byPair.set(key, (days = new Map()));
    days.set(row.day, value);
  }
  const pairs = new Map<string, { days: Day[]; rates: Decimal[] }>();
  for (const [key, days] of byPair) {
    const sorted = [...days.keys()].sort();
    pairs.set(key, { days: sorted, rates: sorted.map((d) => days.get(d)!) });
  }
  return { pivot: currencyCode(pivot), pairs };
}

/** Index of the last day on or before `day` in ascending `days`, or -1. */
function lastOnOrBefore(days: readonly Day[], day: Day): number {
  let lo = 0;
  let hi = days.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (days[mid]! <= day) {
      found = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return found;
}

/** The rates in force on `day`: each pair's last rate on or before it (pairs with none are left out). */
export function fxTableOn(dated: DatedFx, day: Day): FxTable {
  const rates: { from: string; to: string; rate: Decimal }[] = [];
  for (const [key, { days, rates: values }] of dated.pairs) {
    const at = lastOnOrBefore(days, day);
    if (at < 0) continue;
    const [from, to] = key.split('/') as [string, string];
    rates.push({ from, to, rate: values[at]! });
  }
  return createFxTable(
    rates.map((r) => ({ ...r, rate: r.rate.toString() })),
    dated.pivot,
  );
}

/** Units of `to` per unit of `from` on `day` (see the module comment). */
export function fxRateOn(dated: DatedFx, from: CurrencyCode, to: CurrencyCode, day: Day): FxLookup {
  return fxRate(fxTableOn(dated, day), from, to);
}

/** `fxTableOn` remembered per day: many lookups on few days build each day's table once. */
export function datedFxTables(dated: DatedFx): (day: Day) => FxTable {
  const tables = new Map<Day, FxTable>();
  return (day) => {
    let table = tables.get(day);
    if (table === undefined) tables.set(day, (table = fxTableOn(dated, day)));
    return table;
  };
}

/**
 * A converter of dated amounts into `to`: each at the rate of its UTC day. Without a rate on or
 * before that day (older than every stored day), at `fallback`'s rate when given (today's: the
 * nearest there is), else null. For figures that belong to a day: a deposit, a dividend.
 */
export function convertAtDayRate(
  dated: DatedFx,
  to: CurrencyCode,
  fallback?: FxTable,
): (amount: Decimal, from: CurrencyCode, at: Date | string) => Decimal | null {
  const tableOn = datedFxTables(dated);
  return (amount, from, at) => {
    const onDay = convert(tableOn(utcDay(at)), amount, from, to).value;
    if (onDay !== null || fallback === undefined) return onDay;
    return convert(fallback, amount, from, to).value;
  };
}
