import { z } from 'zod';
import { dec, div, mul, ONE, type Decimal, type DecimalString } from './decimal.ts';
import { parsePayload } from './payload-error.ts';

/**
 * Exchange rates and currency conversion.
 *
 * The table is built from SnapTrade's `GET /currencies/rates` (`ExchangeRatePairs[]`:
 * `{src: {code}, dst: {code}, exchange_rate}`, one unit of `src` is worth `exchange_rate`
 * units of `dst`). A rate from A to B is found, in this order:
 *
 * 1. identity: A = B, rate 1;
 * 2. direct: a pair A -> B;
 * 3. inverse: a pair B -> A, rate 1 / (B -> A), to `DIVISION_DECIMAL_PLACES` places;
 * 4. cross through USD: (A -> USD) x (USD -> B), each leg direct or inverse.
 *
 * Nothing else: a missing rate gives `rate: null, path: 'missing'`, and a conversion with it
 * gives `value: null, missingRate: true`. Never a silent 1.0.
 */

export type CurrencyCode = string;

export type FxPath = 'identity' | 'direct' | 'inverse' | 'cross' | 'missing';

export interface FxLookup {
  /** Units of `to` per unit of `from`, or `null` when no rate is known. */
  rate: Decimal | null;
  path: FxPath;
}

export interface Conversion {
  /** The converted amount, or `null` when the rate is missing. */
  value: Decimal | null;
  missingRate: boolean;
  path: FxPath;
}

/** An immutable table of exchange rates; build with `createFxTable` or `fxTableFromSnapTrade`. */
export interface FxTable {
  /** `SRC/DST` -> units of DST per unit of SRC. */
  readonly rates: ReadonlyMap<string, Decimal>;
  /** The currency cross rates go through. */
  readonly pivot: CurrencyCode;
}

export interface FxRateInput {
  from: CurrencyCode;
  to: CurrencyCode;
  rate: DecimalString | number;
}

const CURRENCY_CODE = /^[A-Z][A-Z0-9]{2,5}$/;

/** Upper-case and check an ISO-4217-like code ("usd" -> "USD"); throws RangeError when it is not one. */
export function currencyCode(code: string): CurrencyCode {
  const upper = code.trim().toUpperCase();
  if (!CURRENCY_CODE.test(upper)) throw new RangeError(`not a currency code: ${JSON.stringify(code)}`);
  return upper;
}

export const currencyCodeSchema = z
  .string()
  .transform((s) => s.trim().toUpperCase())
  .refine((s) => CURRENCY_CODE.test(s), { message: 'expected an ISO-4217 currency code' });

const pairKey = (from: CurrencyCode, to: CurrencyCode): string => `${from}/${to}`;

/** A table from explicit rates. Later entries for the same pair win; a rate must be positive. */
export function createFxTable(rates: Iterable<FxRateInput>, pivot: CurrencyCode = 'USD'): FxTable {
  const map = new Map<string, Decimal>();
  for (const { from, to, rate } of rates) {
    const value = dec(rate);
    if (value.lte(0)) throw new RangeError(`exchange rate ${from}->${to} must be positive, got ${String(rate)}`);
    const src = currencyCode(from);
    const dst = currencyCode(to);
    if (src === dst) continue;
    map.set(pairKey(src, dst), value);
  }
  return { rates: map, pivot: currencyCode(pivot) };
}

/** An empty table: only identity conversions succeed. */
export const EMPTY_FX_TABLE: FxTable = createFxTable([]);

const snapTradeRatesSchema = z.array(
  z.object({
    src: z.object({ code: currencyCodeSchema }),
    dst: z.object({ code: currencyCodeSchema }),
    exchange_rate: z.number().refine((n) => Number.isFinite(n) && n > 0, { message: 'expected a positive rate' }),
  }),
);

/** A table from the body of SnapTrade `GET /currencies/rates`. Throws `PayloadValidationError`. */
export function fxTableFromSnapTrade(body: unknown): FxTable {
  const pairs = parsePayload('snaptrade.currencies.rates', snapTradeRatesSchema, body);
  return createFxTable(pairs.map((p) => ({ from: p.src.code, to: p.dst.code, rate: p.exchange_rate })));
}

function directOrInverse(table: FxTable, from: CurrencyCode, to: CurrencyCode): FxLookup {
  const direct = table.rates.get(pairKey(from, to));
  if (direct !== undefined) return { rate: direct, path: 'direct' };
  const reverse = table.rates.get(pairKey(to, from));
  if (reverse !== undefined) return { rate: div(ONE, reverse), path: 'inverse' };
  return { rate: null, path: 'missing' };
}

/** Units of `to` per unit of `from` (see the module comment for the order of lookups). */
export function fxRate(table: FxTable, from: CurrencyCode, to: CurrencyCode): FxLookup {
  if (from === to) return { rate: ONE, path: 'identity' };
  const one = directOrInverse(table, from, to);
  if (one.rate !== null) return one;
  const pivot = table.pivot;
  if (from === pivot || to === pivot) return { rate: null, path: 'missing' };
  const toPivot = directOrInverse(table, from, pivot);
  const fromPivot = directOrInverse(table, pivot, to);
  if (toPivot.rate === null || fromPivot.rate === null) return { rate: null, path: 'missing' };
  return { rate: mul(toPivot.rate, fromPivot.rate), path: 'cross' };
}

/** `amount` in `from` expressed in `to`; `value: null, missingRate: true` when no rate is known. */
export function convert(table: FxTable, amount: Decimal, from: CurrencyCode, to: CurrencyCode): Conversion {
  const { rate, path } = fxRate(table, from, to);
  if (rate === null) return { value: null, missingRate: true, path };
  return { value: path === 'identity' ? amount : mul(amount, rate), missingRate: false, path };
}

/**
 * Every currency `table` converts to from its pivot (the pivot itself included), sorted: the
 * currencies a portfolio can be valued in with this table. A code the table names only in a pair
 * that leads nowhere from the pivot is left out (its conversions would all be missing).
 */
export function convertibleCurrencies(table: FxTable): CurrencyCode[] {
  const named = new Set<CurrencyCode>([table.pivot]);
  for (const key of table.rates.keys()) for (const code of key.split('/')) named.add(code);
  return [...named].filter((code) => fxRate(table, table.pivot, code).rate !== null).sort();
}
