import type { AssetClass } from '../../portfolio/asset-class.ts';
import { add, compare, dec, div, isZero, str, sub, ZERO, type Decimal, type DecimalString } from '../../portfolio/decimal.ts';
import type { AccountSummary, HoldingView } from '../events.ts';

/**
 * How a portfolio divides, by asset class, account, currency or security, in the base currency:
 * a pure function of the client store's state (the dashboard's allocation panel redraws it on
 * every snapshot and delta), exact decimals throughout.
 *
 * Rules:
 * - a holding counts its base-currency market value (`marketValueBase`); the portfolio's cash
 *   (`totals.cash`, already in the base currency) is one more part, `cash`;
 * - the parts sum exactly to `total` (so, with every holding valued, to `totals.totalValue`);
 * - a holding without a base value (no price, or no rate to the base currency) is in no part: it
 *   is listed in `unpriced` with why, so the page can say what the total leaves out;
 * - by account, a holding counts each account's share at its own base value
 *   (`accounts[].marketValueBase`: the share's listing value at the holding's rate, so the shares
 *   add up to the holding's base value exactly), and each account its cash (`cashBase`); cash the
 *   accounts do not account for (an account whose balance has no rate to the base has no
 *   `cashBase`, while `totals.cash` counts its other accounts' converted lines) is a part of its own;
 * - the state has no cash per currency: by currency all cash is one part, named for that;
 * - `fraction` is the part's share of `total`, for display (20 decimal places); parts are
 *   ordered by value, largest first, then by label.
 */

export type AllocationDimension = 'assetClass' | 'account' | 'currency' | 'security';

export const ALLOCATION_DIMENSIONS: readonly AllocationDimension[] = ['assetClass', 'account', 'currency', 'security'];

export interface AllocationPart {
  /** Stable within a dimension: the asset class, account id, currency code, holding id, or `cash`. */
  key: string;
  label: string;
  value: DecimalString;
  /** `value / total`; `null` when the total is zero. */
  fraction: DecimalString | null;
}

export interface UnpricedHolding {
  id: string;
  symbol: string;
  /** `no-price`: no price known yet; `no-fx-rate`: priced, but no rate to the base currency. */
  reason: 'no-price' | 'no-fx-rate';
}

export interface Allocation {
  dimension: AllocationDimension;
  baseCurrency: string;
  /** Σ parts. */
  total: DecimalString;
  parts: AllocationPart[];
  unpriced: UnpricedHolding[];
  /** The state had no cash figure (`totals.cash` null): cash is in no part. */
  cashUnknown: boolean;
}

export interface AllocationInput {
  baseCurrency: string;
  holdings: Iterable<HoldingView>;
  /** `totals.cash`: every cash balance in the base currency. */
  cash: DecimalString | null;
  accounts: readonly Pick<AccountSummary, 'id' | 'institution' | 'name' | 'cashBase'>[];
}

export const ASSET_CLASS_LABELS: Readonly<Record<AssetClass, string>> = {
  equity: 'Stocks',
  etf: 'ETFs',
  fund: 'Funds',
  bond: 'Bonds',
  cash_equivalent: 'Cash equivalents',
  crypto: 'Crypto',
  derivative: 'Options and derivatives',
  commodity: 'Commodities',
  other: 'Other',
};

const CASH_LABELS: Readonly<Record<AllocationDimension, string>> = {
  assetClass: 'Cash',
  account: 'Cash of accounts with an unconverted balance',
  currency: 'Cash (all currencies)',
  security: 'Cash',
};

/** The allocation of `input` by `dimension`. */
export function computeAllocation(input: AllocationInput, dimension: AllocationDimension): Allocation {
  const sums = new Map<string, { label: string; value: Decimal }>();
  const addTo = (key: string, label: string, value: Decimal) => {
    const entry = sums.get(key);
    if (entry) entry.value = add(entry.value, value);
    else sums.set(key, { label, value });
  };
  const accountLabel = (accountId: string, institution: string) => {
    const account = input.accounts.find((a) => a.id === accountId);
    return account ? `${account.institution} · ${account.name}` : institution;
  };
  const unpriced: UnpricedHolding[] = [];
  for (const holding of input.holdings) {
    if (holding.marketValueBase === null) {
      unpriced.push({ id: holding.id, symbol: holding.symbol, reason: holding.price === null ? 'no-price' : 'no-fx-rate' });
      continue;
    }
    const value = dec(holding.marketValueBase);
    switch (dimension) {
      case 'assetClass':
        addTo(holding.assetClass, ASSET_CLASS_LABELS[holding.assetClass], value);
        break;
      case 'currency':
        addTo(holding.currency, holding.currency, value);
        break;
      case 'security':
        addTo(holding.id, holding.description ? `${holding.symbol} · ${holding.description}` : holding.symbol, value);
        break;
      case 'account':
        // Priced with a rate, so every share has its base value (the same rate, the same price).
        for (const share of holding.accounts) addTo(share.accountId, accountLabel(share.accountId, share.institution), dec(share.marketValueBase ?? '0'));
        break;
    }
  }
  let cash = input.cash === null ? null : dec(input.cash);
  if (cash !== null && dimension === 'account') {
    for (const account of input.accounts) {
      if (account.cashBase === null || isZero(dec(account.cashBase))) continue;
      addTo(account.id, accountLabel(account.id, account.institution), dec(account.cashBase));
      cash = sub(cash, dec(account.cashBase));
    }
  }
  if (cash !== null && !(dimension === 'account' && isZero(cash))) addTo('cash', CASH_LABELS[dimension], cash);
  let total = ZERO;
  for (const { value } of sums.values()) total = add(total, value);
  const parts: AllocationPart[] = [...sums.entries()].map(([key, { label, value }]) => ({
    key,
    label,
    value: str(value),
    fraction: isZero(total) ? null : str(div(value, total)!),
  }));
  parts.sort((a, b) => compare(dec(b.value), dec(a.value)) || a.label.localeCompare(b.label));
  unpriced.sort((a, b) => a.symbol.localeCompare(b.symbol));
  return { dimension, baseCurrency: input.baseCurrency, total: str(total), parts, unpriced, cashUnknown: input.cash === null };
}
