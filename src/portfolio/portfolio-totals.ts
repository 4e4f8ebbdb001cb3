import { add, dec, str, sub, ZERO, type Decimal, type DecimalString } from './decimal.ts';
import type { Holding } from './holding.ts';

/**
 * Portfolio totals in the base currency, and the arithmetic that keeps them: a total is the
 * exact sum of per-holding and per-cash-line contributions, so it can be updated by a delta
 * (subtract the old contribution, add the new) and still equal the sum recomputed from
 * scratch, digit for digit.
 *
 * What counts (the cash rule): invested value = Σ holdings' base market value, cash
 * equivalents (money-market funds) included, because they are holdings; cash = Σ cash lines
 * (balances, from which the normalisers already took the cash equivalents out);
 * total value = invested value + cash. A holding without a price or without a rate to the
 * base currency, and a cash line without a rate, are left out of the sums and counted in
 * `unpricedHoldings` / `holdingsMissingFx` / `cashLinesMissingFx`; `complete` is false then.
 */

export interface PortfolioTotals extends TotalsDelta {
  baseCurrency: string;
  /** investedValue + cash. */
  totalValue: DecimalString;
  /** Every holding and cash line was valued. */
  complete: boolean;
}

/** One account's cash in one currency, valued in the base currency. */
export interface CashLine {
  accountId: string;
  currency: string;
  amount: DecimalString;
  /** `amount` in the base currency; null when the rate is missing. */
  baseAmount: DecimalString | null;
  buyingPower: DecimalString | null;
}

/** The additive part of the totals (what a delta carries); every figure in the base currency. */
export interface TotalsDelta {
  /** Σ holdings' market value (cash equivalents included). */
  investedValue: DecimalString;
  /** Σ cash balances (without cash equivalents). */
  cash: DecimalString;
  /** The part of `investedValue` that is cash-equivalent holdings. */
  cashEquivalentValue: DecimalString;
  /** Σ cost basis of holdings with a known cost. */
  costBasis: DecimalString;
  /** Σ unrealized P/L of holdings with a known cost and a price. */
  unrealizedPnl: DecimalString;
  /** Σ quantity x (price - previous close) of holdings with both. */
  dayChange: DecimalString;
  holdingsCount: number;
  unpricedHoldings: number;
  /**
   * Holdings without a day change in the base currency (no price, no previous close, or no FX
   * rate): `dayChange` covers `holdingsCount - holdingsWithoutDayChange` holdings.
   */
  holdingsWithoutDayChange: number;
  holdingsMissingFx: number;
  cashLinesMissingFx: number;
}

const SUMMED = ['investedValue', 'cash', 'cashEquivalentValue', 'costBasis', 'unrealizedPnl', 'dayChange'] as const;
const COUNTED = ['holdingsCount', 'unpricedHoldings', 'holdingsWithoutDayChange', 'holdingsMissingFx', 'cashLinesMissingFx'] as const;

export const ZERO_DELTA: TotalsDelta = {
  investedValue: '0',
  cash: '0',
  cashEquivalentValue: '0',
  costBasis: '0',
  unrealizedPnl: '0',
  dayChange: '0',
  holdingsCount: 0,
  unpricedHoldings: 0,
  holdingsWithoutDayChange: 0,
  holdingsMissingFx: 0,
  cashLinesMissingFx: 0,
};

const orZero = (value: DecimalString | null): Decimal => (value === null ? ZERO : dec(value));

/** What one holding adds to the totals. */
export function holdingContribution(holding: Holding): TotalsDelta {
  const base = holding.base;
  const value = orZero(base.marketValue);
  return {
    investedValue: str(value),
    cash: '0',
    cashEquivalentValue: holding.cashEquivalent ? str(value) : '0',
    costBasis: str(orZero(base.costBasis)),
    unrealizedPnl: str(orZero(base.unrealizedPnl)),
    dayChange: str(orZero(base.dayChange)),
    holdingsCount: 1,
    unpricedHoldings: holding.price === null ? 1 : 0,
    holdingsWithoutDayChange: base.dayChange === null ? 1 : 0,
    holdingsMissingFx: base.missingFxRate ? 1 : 0,
    cashLinesMissingFx: 0,
  };
}

/** What one cash line adds to the totals. */
export function cashContribution(line: CashLine): TotalsDelta {
  return {
    ...ZERO_DELTA,
    cash: str(orZero(line.baseAmount)),
    cashLinesMissingFx: line.baseAmount === null ? 1 : 0,
  };
}

/** `a + sign x b`, field by field. */
export function combine(a: TotalsDelta, b: TotalsDelta, sign: 1 | -1 = 1): TotalsDelta {
  const out = { ...a };
  for (const key of SUMMED) out[key] = str(sign === 1 ? add(dec(a[key]), dec(b[key])) : sub(dec(a[key]), dec(b[key])));
  for (const key of COUNTED) out[key] = a[key] + sign * b[key];
  return out;
}

/** Totals from their additive part. */
export function totalsFrom(baseCurrency: string, sums: TotalsDelta): PortfolioTotals {
  return {
    baseCurrency,
    totalValue: str(add(dec(sums.investedValue), dec(sums.cash))),
    ...sums,
    complete: sums.unpricedHoldings === 0 && sums.holdingsMissingFx === 0 && sums.cashLinesMissingFx === 0,
  };
}

/** The additive part of totals. */
export function sumsOf(totals: PortfolioTotals): TotalsDelta {
  const out = { ...ZERO_DELTA };
  for (const key of SUMMED) out[key] = totals[key];
  for (const key of COUNTED) out[key] = totals[key];
  return out;
}

/** Totals recomputed from every holding and cash line. */
export function computeTotals(
  baseCurrency: string,
  holdings: Iterable<Holding>,
  cashLines: Iterable<readonly CashLine[]>,
): PortfolioTotals {
  let sums = ZERO_DELTA;
  for (const holding of holdings) sums = combine(sums, holdingContribution(holding));
  for (const lines of cashLines) for (const line of lines) sums = combine(sums, cashContribution(line));
  return totalsFrom(baseCurrency, sums);
}

/**
 * One account's cash in the base currency: Σ its cash lines' base amounts; `null` when it reported
 * no balance, or a line has no rate to the base currency (never a partial sum shown as the whole).
 */
export function accountCashBase(lines: readonly CashLine[] | undefined): DecimalString | null {
  if (!lines || lines.length === 0) return null;
  let sum = ZERO;
  for (const line of lines) {
    if (line.baseAmount === null) return null;
    sum = add(sum, dec(line.baseAmount));
  }
  return str(sum);
}
