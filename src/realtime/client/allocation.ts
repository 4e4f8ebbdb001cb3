import type { AssetClass } from '../../portfolio/asset-class.ts';
import { add, compare, dec, div, isZero, mul, str, sub, ZERO, type Decimal, type DecimalString } from '../../portfolio/decimal.ts';
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
 * - by account, a holding's base value is split over its accounts in proportion to their
 *   listing-currency values, each rounded to the cent and the last account taking the remainder,
 *   so the split adds up to the holding's base value exactly (in the base currency it is the
 *   accounts' own values, unrounded);
 * - the cash in the state is the portfolio's total, not per account or currency: by account and
 *   by currency it is one part named for that;
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
  accounts: readonly Pick<AccountSummary, 'id' | 'institution' | 'name'>[];
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
  account: 'Cash (all accounts)',
  currency: 'Cash (all currencies)',
  security: 'Cash',
};

/** The base value of each of `holding`'s accounts (see the module's rules); `value` is the holding's base value. */
export function accountShares(holding: HoldingView, value: Decimal, baseCurrency: string): { accountId: string; value: Decimal }[] {
  const shares = holding.accounts;
  if (shares.length === 0) return [];
  const listingValue = holding.marketValue === null ? null : dec(holding.marketValue);
  const out: { accountId: string; value: Decimal }[] = [];
  let given = ZERO;
  shares.forEach((share, index) => {
    let part: Decimal;
    if (index === shares.length - 1) {
      part = sub(value, given);
    } else if (holding.currency === baseCurrency && share.marketValue !== null) {
      part = dec(share.marketValue);
    } else {
      const ratio = listingValue === null || isZero(listingValue) || share.marketValue === null ? null : div(dec(share.marketValue), listingValue);
      // Without listing values to go by, the quantities (a holding without them has no base value either).
      const byQuantity = div(dec(share.quantity), dec(holding.quantity));
      part = mul(value, ratio ?? byQuantity ?? ZERO).round(2, 1);
    }
    given = add(given, part);
    out.push({ accountId: share.accountId, value: part });
  });
  return out;
}

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
        for (const share of accountShares(holding, value, input.baseCurrency)) {
          const institution = holding.accounts.find((a) => a.accountId === share.accountId)?.institution ?? share.accountId;
          addTo(share.accountId, accountLabel(share.accountId, institution), share.value);
        }
        break;
    }
  }
  if (input.cash !== null) addTo('cash', CASH_LABELS[dimension], dec(input.cash));
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
