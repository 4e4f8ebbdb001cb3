import { convert, fxRate, type FxTable } from './currency.ts';
import { add, dec, div, mul, str, strOrNull, sub, ZERO, type Decimal, type DecimalString } from './decimal.ts';
import type { NormalizedPosition } from './normalized.ts';
import { sameText } from './intern.ts';
import type { SecurityRef } from './security-identity.ts';

/**
 * One security across all of a user's accounts, and the function that values it.
 *
 * `computeHolding` is the single place where a holding's numbers are made; the full
 * aggregation, the incremental re-aggregation and the price-tick revaluation all call it, so
 * they cannot disagree.
 *
 * Rules (all amounts exact decimals):
 * - quantity = Σ account quantities (shorts negative). Positions of quantity 0 are ignored.
 * - price: one per security, in its listing currency. Candidates are the price quotes stored
 *   under any of the security's identity facets (market data ticks) and the prices the
 *   accounts reported with their positions (as of the account's `asOf`). The newest wins;
 *   on a tie a quote beats a reported price, then facet/account id order decides.
 *   Previous close: the winner's, else the first candidate in that order that has one.
 * - market value = quantity x price (null without a price).
 * - cost basis = Σ quantity x averageCost over positions whose cost is known (null if none);
 *   average cost = cost basis / quantity-with-cost (null if none or zero).
 *   unrealized P/L = quantity-with-cost x price - cost basis: only positions with a known cost.
 * - day change = quantity x (price - previous close) when both are known.
 * - A position in another currency than the listing (a CAD account holding a US listing)
 *   has its price and cost converted into the listing currency at the table's current rate;
 *   with no rate its cost is left out and `missingFxRate` is set.
 * - Base-currency figures (the holding's `base`, each account's `baseMarketValue`) are the
 *   listing-currency figures x the listing -> base rate; with no rate they are null and
 *   `base.missingFxRate` is true (never valued at 1.0).
 * - Freshness: `positionsAsOf` is the oldest account `asOf`, `priceAsOf` the winning price's.
 */

/** A market price for a security, keyed in the price book by an identity key (any facet). */
export interface PriceQuote {
  price: DecimalString;
  /** ISO 8601 time of the price. */
  asOf: string;
  previousClose?: DecimalString;
  /** Currency of `price`; the security's listing currency when absent. */
  currency?: string;
}

/** One account's part of a holding. */
export interface HoldingAccountShare {
  accountId: string;
  institution: string;
  quantity: DecimalString;
  /** Cost basis / quantity with cost, listing currency; null when no cost is known. */
  averageCost: DecimalString | null;
  /** Σ quantity x averageCost over positions with a known cost, listing currency. */
  costBasis: DecimalString | null;
  /** Quantity of the positions whose cost is known. */
  quantityWithCost: DecimalString;
  /** The holding's price (same for every account). */
  price: DecimalString | null;
  marketValue: DecimalString | null;
  /** `marketValue` in the portfolio's base currency (null without a price or a rate). */
  baseMarketValue: DecimalString | null;
  /** The price this account's provider reported, converted to the listing currency. */
  reportedPrice: DecimalString | null;
  reportedPreviousClose: DecimalString | null;
  positionsAsOf: string;
  /** A position currency could not be converted to the listing currency. */
  missingFxRate: boolean;
}

export interface HoldingBaseValues {
  currency: string;
  marketValue: DecimalString | null;
  costBasis: DecimalString | null;
  unrealizedPnl: DecimalString | null;
  dayChange: DecimalString | null;
  /** No rate from the listing currency to the base currency: the base figures are null. */
  missingFxRate: boolean;
}

export interface Holding {
  identityKey: string;
  security: SecurityRef;
  /** Every identity key of this security (price quotes are looked up under all of them). */
  facets: readonly string[];
  /** Listing currency: every figure below except `base` is in it. */
  currency: string;
  cashEquivalent: boolean;
  quantity: DecimalString;
  price: DecimalString | null;
  priceAsOf: string | null;
  priceSource: 'quote' | 'position' | null;
  previousClose: DecimalString | null;
  marketValue: DecimalString | null;
  costBasis: DecimalString | null;
  averageCost: DecimalString | null;
  quantityWithCost: DecimalString;
  unrealizedPnl: DecimalString | null;
  dayChange: DecimalString | null;
  accounts: readonly HoldingAccountShare[];
  accountCount: number;
  /** Oldest positions as-of across the accounts. */
  positionsAsOf: string;
  base: HoldingBaseValues;
  /** Some account's position currency could not be converted (its cost is left out). */
  missingFxRate: boolean;
}

export interface ValuationContext {
  baseCurrency: string;
  fx: FxTable;
}

export interface AccountInfo {
  institution: string;
  asOf: string;
}

/** Build one account's share from its positions in one security (quantity 0 positions already removed). */
export function accountShare(
  accountId: string,
  account: AccountInfo,
  positions: readonly NormalizedPosition[],
  currency: string,
  fx: FxTable,
): HoldingAccountShare {
  let quantity = ZERO;
  let costBasis: Decimal | null = null;
  let quantityWithCost = ZERO;
  let reportedPrice: Decimal | null = null;
  let reportedPreviousClose: Decimal | null = null;
  let missingFxRate = false;
  for (const position of positions) {
    const qty = dec(position.quantity);
    quantity = add(quantity, qty);
    const rate = fxRate(fx, position.currency, currency).rate;
    if (rate === null) {
      missingFxRate = true;
      continue;
    }
    if (position.averageCost !== undefined) {
      costBasis = add(costBasis ?? ZERO, mul(mul(qty, dec(position.averageCost)), rate));
      quantityWithCost = add(quantityWithCost, qty);
    }
    if (reportedPrice === null && position.price !== undefined) reportedPrice = mul(dec(position.price), rate);
    if (reportedPreviousClose === null && position.previousClose !== undefined) {
      reportedPreviousClose = mul(dec(position.previousClose), rate);
    }
  }
  // One position's canonical quantity is this text: keep its string.
  const quantityText = sameText(str(quantity), positions.length === 1 ? positions[0]!.quantity : null);
  return {
    accountId,
    institution: account.institution,
    quantity: quantityText,
    averageCost: costBasis === null ? null : strOrNull(div(costBasis, quantityWithCost)),
    costBasis: strOrNull(costBasis),
    // Equal figures share one string: every position with a cost makes these the same text.
    quantityWithCost: sameText(str(quantityWithCost), quantityText),
    price: null,
    marketValue: null,
    baseMarketValue: null,
    reportedPrice: strOrNull(reportedPrice),
    reportedPreviousClose: strOrNull(reportedPreviousClose),
    positionsAsOf: account.asOf,
    missingFxRate,
  };
}

interface PriceCandidate {
  price: Decimal;
  previousClose: Decimal | null;
  asOfMs: number;
  asOf: string;
  source: 'quote' | 'position';
}

/** Quotes stored under any of `facets` (in facet order). */
export function quotesFor(facets: readonly string[], prices: ReadonlyMap<string, PriceQuote>): PriceQuote[] {
  const out: PriceQuote[] = [];
  for (const facet of facets) {
    const quote = prices.get(facet);
    if (quote !== undefined) out.push(quote);
  }
  return out;
}

/**
 * The winning price among the quotes and the accounts' reported prices, and the previous close that
 * goes with it (see the module comment). Exported for reprice.ts, which asks it about the candidates
 * other than a tick's.
 */
export function choosePrice(
  shares: readonly HoldingAccountShare[],
  quotes: readonly PriceQuote[],
  currency: string,
  fx: FxTable,
): { chosen: PriceCandidate | null; previousClose: Decimal | null } {
  const candidates: PriceCandidate[] = [];
  for (const quote of quotes) {
    const rate = fxRate(fx, quote.currency ?? currency, currency).rate;
    if (rate === null) continue;
    candidates.push({
      price: mul(dec(quote.price), rate),
      previousClose: quote.previousClose === undefined ? null : mul(dec(quote.previousClose), rate),
      asOfMs: Date.parse(quote.asOf),
      asOf: quote.asOf,
      source: 'quote',
    });
  }
  for (const share of shares) {
    if (share.reportedPrice === null) continue;
    candidates.push({
      price: dec(share.reportedPrice),
      previousClose: share.reportedPreviousClose === null ? null : dec(share.reportedPreviousClose),
      asOfMs: Date.parse(share.positionsAsOf),
      asOf: share.positionsAsOf,
      source: 'position',
    });
  }
  if (candidates.length === 0) return { chosen: null, previousClose: null };
  // Stable sort: newest first; equal times keep the insertion order (quotes, then accounts).
  const ordered = candidates.map((c, i) => ({ c, i })).sort((a, b) => b.c.asOfMs - a.c.asOfMs || a.i - b.i);
  const chosen = ordered[0]!.c;
  const previousClose = chosen.previousClose ?? ordered.find((o) => o.c.previousClose !== null)?.c.previousClose ?? null;
  return { chosen, previousClose };
}

function convertOrNull(fx: FxTable, amount: Decimal | null, from: string, to: string): Decimal | null {
  if (amount === null) return null;
  return convert(fx, amount, from, to).value;
}

/**
 * Value one security from its account shares (sorted by account id) and the quotes found
 * under its facets. See the module comment for the rules.
 */
export function computeHolding(
  security: SecurityRef,
  facets: readonly string[],
  shares: readonly HoldingAccountShare[],
  quotes: readonly PriceQuote[],
  context: ValuationContext,
): Holding {
  const currency = security.currency;
  const { chosen, previousClose } = choosePrice(shares, quotes, currency, context.fx);
  const price = chosen?.price ?? null;

  const baseRate = fxRate(context.fx, currency, context.baseCurrency).rate;
  const toBase = (amount: Decimal | null): DecimalString | null =>
    baseRate === null ? null : strOrNull(convertOrNull(context.fx, amount, currency, context.baseCurrency));

  let quantity = ZERO;
  let costBasis: Decimal | null = null;
  let quantityWithCost = ZERO;
  let positionsAsOf: string | null = null;
  let missingFxRate = false;
  // Sized up front: an array grown by push keeps room for 17 elements, and each holding keeps its
  // accounts for as long as its portfolio is in memory.
  const accounts: HoldingAccountShare[] = new Array<HoldingAccountShare>(shares.length);
  for (let i = 0; i < shares.length; i++) {
    const share = shares[i]!;
    const qty = dec(share.quantity);
    quantity = add(quantity, qty);
    if (share.costBasis !== null) {
      costBasis = add(costBasis ?? ZERO, dec(share.costBasis));
      quantityWithCost = add(quantityWithCost, dec(share.quantityWithCost));
    }
    if (positionsAsOf === null || share.positionsAsOf < positionsAsOf) positionsAsOf = share.positionsAsOf;
    missingFxRate ||= share.missingFxRate;
    const shareValue = price === null ? null : mul(qty, price);
    const shareValueText = strOrNull(shareValue);
    accounts[i] = {
      ...share,
      price: strOrNull(price),
      marketValue: shareValueText,
      baseMarketValue: sameText(toBase(shareValue), shareValueText),
    };
  }

  const marketValue = price === null ? null : mul(quantity, price);
  const averageCost = costBasis === null ? null : div(costBasis, quantityWithCost);
  const unrealizedPnl = price === null || costBasis === null ? null : sub(mul(quantityWithCost, price), costBasis);
  const dayChange = price === null || previousClose === null ? null : mul(quantity, sub(price, previousClose));
  // A holding in one account has that account's quantity and cost: it keeps the share's strings
  // rather than equal copies (10,000 portfolios in memory hold 250,000 holdings).
  const sole = shares.length === 1 ? shares[0]! : undefined;
  const quantityText = sameText(str(quantity), sole?.quantity ?? null);
  const quantityWithCostText = sameText(str(quantityWithCost), sole?.quantityWithCost ?? quantityText);
  const costBasisText = sameText(strOrNull(costBasis), sole?.costBasis ?? null);
  const marketValueText = sameText(strOrNull(marketValue), sole ? accounts[0]!.marketValue : null);
  const unrealizedPnlText = strOrNull(unrealizedPnl);
  const dayChangeText = strOrNull(dayChange);

  return {
    identityKey: security.identityKey,
    security,
    facets,
    currency,
    cashEquivalent: security.cashEquivalent,
    quantity: quantityText,
    price: strOrNull(price),
    priceAsOf: chosen?.asOf ?? null,
    priceSource: chosen?.source ?? null,
    previousClose: strOrNull(previousClose),
    marketValue: marketValueText,
    costBasis: costBasisText,
    averageCost: sameText(strOrNull(averageCost), sole?.averageCost),
    quantityWithCost: quantityWithCostText,
    unrealizedPnl: unrealizedPnlText,
    dayChange: dayChangeText,
    accounts,
    accountCount: accounts.length,
    positionsAsOf: positionsAsOf ?? '',
    base: {
      currency: context.baseCurrency,
      // In the listing currency these are the same texts: kept once.
      marketValue: sameText(toBase(marketValue), marketValueText),
      costBasis: sameText(toBase(costBasis), costBasisText),
      unrealizedPnl: sameText(toBase(unrealizedPnl), unrealizedPnlText),
      dayChange: sameText(toBase(dayChange), dayChangeText),
      missingFxRate: baseRate === null,
    },
    missingFxRate,
  };
}

/** Why a holding has no day change in the base currency (what the totals count it out for). */
export type DayChangeMissing = 'no-price' | 'no-previous-close' | 'no-fx-rate';

/** `null` when the holding's day change is known in the base currency. */
export function dayChangeMissing(holding: Pick<Holding, 'price' | 'dayChange' | 'base'>): DayChangeMissing | null {
  if (holding.price === null) return 'no-price';
  if (holding.dayChange === null) return 'no-previous-close';
  if (holding.base.dayChange === null) return 'no-fx-rate';
  return null;
}
