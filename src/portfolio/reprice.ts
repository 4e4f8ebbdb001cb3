import { fxRate, type FxTable } from './currency.ts';
import { str } from './decimal.ts';
import { choosePrice, type Holding, type HoldingAccountShare, type PriceQuote, type ValuationContext } from './holding.ts';
import { addScaled, formatScaled, mulScaled, parseScaled, SCALED_ZERO, subScaled, type Scaled } from './scaled-decimal.ts';

/**
 * The price-tick fast path: a holding revalued with a new quote in scaled-integer arithmetic, with
 * everything that does not move with the price (quantities, cost, the base rate, the other price
 * candidates) parsed once per holding and kept beside it.
 *
 * It applies when the tick's quote wins the price choice outright: in the listing currency and
 * strictly newer than every other candidate (the quotes under the holding's other facets and the
 * prices its accounts reported), which is every live tick of a held security. The result is then
 * the same object `computeHolding` would build, digit for digit (property-tested); in any other case
 * `repriceHolding` returns `null` and the caller runs `computeHolding`.
 */

/** A holding's contribution to the totals' price-dependent sums (base currency; 0 when unknown). */
export interface PricedContribution {
  marketValue: Scaled;
  unrealizedPnl: Scaled;
  dayChange: Scaled;
}

export interface Repriced {
  holding: Holding;
  /** What the holding adds to the totals now, and what it added before the tick. */
  contribution: PricedContribution;
  previousContribution: PricedContribution;
}

/** What the other price candidates say, for ticks on one facet. */
interface OtherCandidates {
  /** The quote under each facet when this was read (`undefined` at the ticked facet and where none). */
  quotes: (PriceQuote | undefined)[];
  /** Newest time among the other candidates (-Infinity when there are none). */
  newestMs: number;
  /** The previous close a tick without one takes (the first other candidate with one, newest first). */
  previousClose: Scaled | null;
}

/** What does not move with the price, per holding (shared by the holdings a tick derives from it). */
interface Fixed {
  fx: FxTable;
  baseCurrency: string;
  quantity: Scaled;
  quantityWithCost: Scaled;
  costBasis: Scaled | null;
  shareQuantities: Scaled[];
  /** Listing -> base currency: `identity`, a rate, or `null` when there is none. */
  baseRate: Scaled | 'identity' | null;
  others: Map<string, OtherCandidates>;
}

interface Entry {
  /** The holding these numbers are of (an entry is only used for this very object). */
  holding: Holding;
  fixed: Fixed;
  contribution: PricedContribution;
}

/**
 * The numbers behind one portfolio's holdings (by holding key) and totals, kept beside its state
 * (plain maps rather than WeakMaps keyed by every new holding object, which cost the GC dearly).
 */
export class RepriceCache {
  readonly holdings = new Map<string, Entry>();
  totals: { of: object; sums: TotalsSums } | undefined;
}

/** The price-dependent sums of a portfolio's totals, and its cash. */
export interface TotalsSums {
  investedValue: Scaled;
  cashEquivalentValue: Scaled;
  unrealizedPnl: Scaled;
  dayChange: Scaled;
  cash: Scaled;
}

const scaledOrNull = (text: string | null): Scaled | null => (text === null ? null : parseScaled(text));
const orZero = (value: Scaled | null): Scaled => value ?? SCALED_ZERO;
const textOrNull = (value: Scaled | null): string | null => (value === null ? null : formatScaled(value));

function contributionOf(holding: Holding): PricedContribution {
  return {
    marketValue: orZero(scaledOrNull(holding.base.marketValue)),
    unrealizedPnl: orZero(scaledOrNull(holding.base.unrealizedPnl)),
    dayChange: orZero(scaledOrNull(holding.base.dayChange)),
  };
}

function entryFor(cache: RepriceCache, key: string, holding: Holding, context: ValuationContext): Entry {
  const known = cache.holdings.get(key);
  if (known && known.holding === holding && known.fixed.fx === context.fx && known.fixed.baseCurrency === context.baseCurrency) return known;
  const rate = fxRate(context.fx, holding.currency, context.baseCurrency);
  const entry: Entry = {
    holding,
    fixed: {
      fx: context.fx,
      baseCurrency: context.baseCurrency,
      quantity: parseScaled(holding.quantity),
      quantityWithCost: parseScaled(holding.quantityWithCost),
      costBasis: scaledOrNull(holding.costBasis),
      shareQuantities: holding.accounts.map((a) => parseScaled(a.quantity)),
      baseRate: rate.rate === null ? null : rate.path === 'identity' ? 'identity' : parseScaled(str(rate.rate)),
      others: new Map(),
    },
    contribution: contributionOf(holding),
  };
  cache.holdings.set(key, entry);
  return entry;
}

function sameOtherQuotes(facets: readonly string[], facet: string, prices: ReadonlyMap<string, PriceQuote>, quotes: readonly (PriceQuote | undefined)[]): boolean {
  for (let i = 0; i < facets.length; i++) {
    const f = facets[i]!;
    if (f !== facet && prices.get(f) !== quotes[i]) return false;
  }
  return true;
}

function othersFor(holding: Holding, fixed: Fixed, facet: string, prices: ReadonlyMap<string, PriceQuote>): OtherCandidates {
  const known = fixed.others.get(facet);
  if (known && sameOtherQuotes(holding.facets, facet, prices, known.quotes)) return known;
  const quotes = holding.facets.map((f) => (f === facet ? undefined : prices.get(f)));
  const present = quotes.filter((q): q is PriceQuote => q !== undefined);
  let newestMs = -Infinity;
  for (const quote of present) newestMs = Math.max(newestMs, quoteTime(quote));
  for (const share of holding.accounts) if (share.reportedPrice !== null) newestMs = Math.max(newestMs, Date.parse(share.positionsAsOf));
  const { previousClose } = choosePrice(holding.accounts, present, holding.currency, fixed.fx);
  const others: OtherCandidates = { quotes, newestMs, previousClose: previousClose === null ? null : parseScaled(str(previousClose)) };
  fixed.others.set(facet, others);
  return others;
}

/** Per quote object (one per tick, shared by every portfolio it is applied to): its time and price, parsed once. */
const parsedQuotes = new WeakMap<PriceQuote, { asOfMs: number; price: Scaled | undefined }>();

/** `Date.parse(quote.asOf)`, remembered per quote object. */
export function quoteTime(quote: PriceQuote): number {
  return parsedQuote(quote).asOfMs;
}

function parsedQuote(quote: PriceQuote): { asOfMs: number; price: Scaled | undefined } {
  let parsed = parsedQuotes.get(quote);
  if (!parsed) parsedQuotes.set(quote, (parsed = { asOfMs: Date.parse(quote.asOf), price: undefined }));
  return parsed;
}

function toBase(amount: Scaled | null, rate: Fixed['baseRate']): Scaled | null {
  if (amount === null || rate === null) return null;
  return rate === 'identity' ? amount : mulScaled(amount, rate);
}

/**
 * `previous` (the holding under `key`) revalued with `quote` stored under `facet` (one of its
 * facets), or `null` when the quote does not win the price choice outright and `computeHolding`
 * must decide. `prices` is the price book the quote was stored in; `cache` the portfolio's. The
 * quote must be canonical (as `applyPrice` makes it).
 */
export function repriceHolding(
  cache: RepriceCache,
  key: string,
  previous: Holding,
  facet: string,
  quote: PriceQuote,
  prices: ReadonlyMap<string, PriceQuote>,
  context: ValuationContext,
): Repriced | null {
  if (quote.currency !== undefined && quote.currency !== previous.currency) return null;
  const entry = entryFor(cache, key, previous, context);
  const { fixed } = entry;
  const others = othersFor(previous, fixed, facet, prices);
  const parsed = parsedQuote(quote);
  if (!(parsed.asOfMs > others.newestMs)) return null;
  const price = (parsed.price ??= parseScaled(quote.price));

  const previousClose = quote.previousClose === undefined ? others.previousClose : parseScaled(quote.previousClose);
  const marketValue = mulScaled(fixed.quantity, price);
  const unrealizedPnl = fixed.costBasis === null ? null : subScaled(mulScaled(fixed.quantityWithCost, price), fixed.costBasis);
  const dayChange = previousClose === null ? null : mulScaled(fixed.quantity, subScaled(price, previousClose));
  const baseValue = toBase(marketValue, fixed.baseRate);
  const basePnl = toBase(unrealizedPnl, fixed.baseRate);
  const baseDayChange = toBase(dayChange, fixed.baseRate);

  const priceText = formatScaled(price);
  // Literals with every field in a fixed order, not spreads: one hidden class for every object
  // made here, so the tick path stays monomorphic (spreads of holdings of varied origin were not).
  const accounts: HoldingAccountShare[] = [];
  for (let i = 0; i < previous.accounts.length; i++) {
    const share = previous.accounts[i]!;
    accounts.push({
      accountId: share.accountId,
      institution: share.institution,
      quantity: share.quantity,
      averageCost: share.averageCost,
      costBasis: share.costBasis,
      quantityWithCost: share.quantityWithCost,
      price: priceText,
      marketValue: formatScaled(mulScaled(fixed.shareQuantities[i]!, price)),
      reportedPrice: share.reportedPrice,
      reportedPreviousClose: share.reportedPreviousClose,
      positionsAsOf: share.positionsAsOf,
      missingFxRate: share.missingFxRate,
    });
  }
  const marketValueText = formatScaled(marketValue);
  const unrealizedPnlText = textOrNull(unrealizedPnl);
  const dayChangeText = textOrNull(dayChange);
  // In the listing currency the base figures are the same numbers: print them once.
  const sameInBase = fixed.baseRate === 'identity';
  const holding: Holding = {
    identityKey: previous.identityKey,
    security: previous.security,
    facets: previous.facets,
    currency: previous.currency,
    cashEquivalent: previous.cashEquivalent,
    quantity: previous.quantity,
    price: priceText,
    priceAsOf: quote.asOf,
    priceSource: 'quote',
    previousClose: textOrNull(previousClose),
    marketValue: marketValueText,
    costBasis: previous.costBasis,
    averageCost: previous.averageCost,
    quantityWithCost: previous.quantityWithCost,
    unrealizedPnl: unrealizedPnlText,
    dayChange: dayChangeText,
    accounts,
    accountCount: previous.accountCount,
    positionsAsOf: previous.positionsAsOf,
    base: {
      currency: previous.base.currency,
      marketValue: sameInBase ? marketValueText : textOrNull(baseValue),
      costBasis: previous.base.costBasis,
      unrealizedPnl: sameInBase ? unrealizedPnlText : textOrNull(basePnl),
      dayChange: sameInBase ? dayChangeText : textOrNull(baseDayChange),
      missingFxRate: previous.base.missingFxRate,
    },
    missingFxRate: previous.missingFxRate,
  };
  const contribution: PricedContribution = { marketValue: orZero(baseValue), unrealizedPnl: orZero(basePnl), dayChange: orZero(baseDayChange) };
  const previousContribution = entry.contribution;
  entry.holding = holding;
  entry.contribution = contribution;
  return { holding, contribution, previousContribution };
}

/** `total + (now - before)`, exactly. */
export function moveBy(total: Scaled, now: Scaled, before: Scaled): Scaled {
  return addScaled(total, subScaled(now, before));
}
