import { aggregateHoldings, type PortfolioState } from './aggregate-holdings.ts';
import type { FxTable } from './currency.ts';
import { canonical } from './decimal.ts';
import { computeHolding, quotesFor, type Holding, type PriceQuote } from './holding.ts';
import { isoTimestamp } from './normalized.ts';
import { entryFor, holdingPriceText, LiveTotals, priceEntry, quoteTime, RepriceCache, settleHolding, TickQuote, type Entry, type HoldingPriceText, type PriceText } from './reprice.ts';
import { addScaled, formatScaled } from './scaled-decimal.ts';
import {
  combine,
  computeTotals,
  holdingContribution,
  sumsOf,
  totalsFrom,
  ZERO_DELTA,
  type PortfolioTotals,
  type TotalsDelta,
} from './portfolio-totals.ts';

/**
 * Valuation: portfolio totals, and the incremental revaluation on a price tick.
 *
 * `applyPrice` touches one holding: it revalues that security with the new quote (work
 * proportional to the number of accounts holding it, not to the portfolio) and moves the totals
 * by the difference of that holding's contributions. A live tick (newer than every other price of
 * the security) takes the scaled-integer fast path of reprice.ts; anything else re-runs
 * `computeHolding`. Because the arithmetic is exact, the totals after any number of ticks are
 * equal, digit for digit, to `valuePortfolio` over the holdings and to a full `aggregateHoldings`
 * with the same prices (property-tested with 1,000 random ticks, on both paths).
 */

/** A price from the market-data stream (or any other price source). */
export interface PriceTick {
  price: string;
  /** ISO 8601 time of the trade/quote; time is passed in, never read from the clock. */
  asOf: string;
  previousClose?: string;
  /** Currency of `price`; the security's listing currency when absent. */
  currency?: string;
}

export interface PriceChange {
  /** The holding after the tick (`null` when the key is not held: the quote is still stored). */
  holding: Holding | null;
  previous: Holding | null;
  /** What the tick added to the totals' additive fields. */
  delta: TotalsDelta;
  totals: PortfolioTotals;
}

/** Totals recomputed from every holding and cash line of the state. */
export function valuePortfolio(state: Pick<PortfolioState, 'baseCurrency' | 'holdings' | 'cash'>): PortfolioTotals {
  return computeTotals(state.baseCurrency, state.holdings.values(), state.cash.values());
}

/**
 * Apply a price to the security known under `identityKey` (canonical key or any facet, e.g. its
 * listing key). Updates `state.prices`, `state.holdings` and `state.totals` in place and
 * returns what changed; `null` when the tick is older than the quote already stored under that
 * key (out-of-order ticks are ignored). Throws RangeError on a malformed price or time.
 */
export function applyPrice(state: PortfolioState, identityKey: string, tick: PriceTick): PriceChange | null {
  return applyQuote(state, identityKey, priceQuote(tick));
}

/** A tick as the canonical quote `applyQuote` takes (validated; throws RangeError). */
export function priceQuote(tick: PriceTick): PriceQuote {
  const quote: PriceQuote = { price: canonical(tick.price), asOf: isoTimestamp(tick.asOf) };
  if (tick.previousClose !== undefined) quote.previousClose = canonical(tick.previousClose);
  if (tick.currency !== undefined) quote.currency = tick.currency.toUpperCase();
  if (quote.price.startsWith('-')) throw new RangeError(`a price cannot be negative: ${tick.price}`);
  return quote;
}

/**
 * The quote of a market-data tick: a price as a JS number (its shortest round-trip text is the
 * decimal meant) at `atMs` (epoch ms), with the security's previous close when known. Cheaper
 * than `priceQuote` for the tick path; throws RangeError on a negative or non-finite price or time.
 */
export function quoteAt(price: number, atMs: number, previousClose?: number): PriceQuote {
  return new TickQuote(numberText(price), new Date(atMs), previousClose === undefined ? undefined : numberText(previousClose));
}

function numberText(value: number): string {
  if (!Number.isFinite(value) || value < 0) throw new RangeError(`not a price: ${value}`);
  const text = String(value);
  return text.includes('e') ? canonical(text) : text;
}

/**
 * `applyPrice` with a quote already made by `priceQuote` or `quoteAt` (one quote object can be
 * applied to many portfolios: quotes are never mutated). A quote that wins its holding's price
 * outright (a live tick) takes the scaled-integer fast path of reprice.ts; any other goes through
 * `computeHolding`. Both give the same numbers.
 */
export function applyQuote(state: PortfolioState, identityKey: string, quote: PriceQuote): PriceChange | null {
  const stored = state.prices.get(identityKey);
  if (stored !== undefined && quoteTime(stored) > quoteTime(quote)) return null;
  settlePrices(state);
  const key = state.keyByFacet.get(identityKey) ?? identityKey;
  const previous = state.holdings.get(key) ?? null;
  applyLiveQuote(state, identityKey, quote);
  if (previous === null) return { holding: null, previous: null, delta: ZERO_DELTA, totals: state.totals };
  settlePrices(state);
  return new HoldingPriceChange(state.holdings.get(key)!, previous, state.totals);
}

/**
 * The tick path: `applyQuote` without building objects. A live tick moves the holding's figures
 * and the totals' sums as numbers; `state.holdings` and `state.totals` keep their objects until
 * `settlePrices` (call it before reading them; `liveTotals` reads the totals meanwhile). Any other
 * quote settles the state and is applied in full. Returns what moved with the price, as text;
 * `null` when nothing held changed (an older quote, or a security not held).
 */
export function applyLiveQuote(state: PortfolioState, identityKey: string, quote: PriceQuote): PriceText | null {
  if (!storeQuote(state, identityKey, quote)) return null;
  const key = state.keyByFacet.get(identityKey) ?? identityKey;
  const holding = state.holdings.get(key);
  if (holding === undefined) return null;
  const cache = repriceCacheOf(state);
  const entry = entryFor(cache, key, holding, { baseCurrency: state.baseCurrency, fx: state.fx });
  return repriceAt(state, identityKey, key, entry, cache, quote);
}

/**
 * Where a holding's live ticks land in one portfolio state (see `liveSlot`): the price key they
 * are stored under, the holding's key and its reprice entry, which always describes the holding
 * object `state.holdings` has under that key (every in-place change of a state's holdings goes
 * through this module and rebinds the entry).
 */
export interface LiveSlot {
  readonly state: PortfolioState;
  readonly facet: string;
  readonly key: string;
  readonly entry: Entry;
  readonly cache: RepriceCache;
}

/**
 * The slot of the security known under `identityKey` in `state` (`null` when it is not held), for
 * `applyLiveQuoteAt`. A tick then reaches the holding through the slot instead of four lookups in
 * the portfolio's maps (facet -> key, key -> holding, state -> cache, key -> entry), which are cold
 * when ticks spread over many portfolios (bench:tick-locality: 0.91-0.98 of the per-holding cost).
 */
export function liveSlot(state: PortfolioState, identityKey: string): LiveSlot | null {
  const key = state.keyByFacet.get(identityKey) ?? identityKey;
  const holding = state.holdings.get(key);
  if (holding === undefined) return null;
  const cache = repriceCacheOf(state);
  const entry = entryFor(cache, key, holding, { baseCurrency: state.baseCurrency, fx: state.fx });
  return { state, facet: identityKey, key, entry, cache };
}

/** `applyLiveQuote(slot.state, slot.facet, quote)`, reaching the holding through its slot. */
export function applyLiveQuoteAt(slot: LiveSlot, quote: PriceQuote): PriceText | null {
  const { state, facet, entry } = slot;
  return storeQuote(state, facet, quote, entry) ? repriceAt(state, facet, slot.key, entry, slot.cache, quote) : null;
}

/**
 * Stores `quote` under `facet` unless the quote stored there is newer (out-of-order ticks are
 * ignored). The stored quote is usually the live quote of `entry` (the holding's), whose time the
 * entry keeps: reading it from the quote would reach an object no longer in the CPU's caches.
 */
function storeQuote(state: PortfolioState, facet: string, quote: PriceQuote, entry?: Entry): boolean {
  const stored = state.prices.get(facet);
  if (stored !== undefined && (stored === entry?.liveQuote ? entry.liveAsOfMs : quoteTime(stored)) > quoteTime(quote)) return false;
  state.prices.set(facet, quote);
  return true;
}

/**
 * The holding under `key` (its entry) at the quote just stored under `facet`: in numbers when the
 * quote wins outright, else recomputed. Parameters rather than a slot: `applyLiveQuote` makes none.
 */
function repriceAt(state: PortfolioState, facet: string, key: string, entry: Entry, cache: RepriceCache, quote: PriceQuote): PriceText {
  return priceEntry(entry, facet, quote, state.prices, liveTotalsOf(cache, state.totals)) ?? recomputeHolding(state, key);
}

/** The holding under `key` recomputed from its positions and the stored quotes (the slow path of a tick). */
function recomputeHolding(state: PortfolioState, key: string): HoldingPriceText {
  settlePrices(state);
  const previous = state.holdings.get(key)!;
  const context = { baseCurrency: state.baseCurrency, fx: state.fx };
  const holding = computeHolding(previous.security, previous.facets, previous.accounts, quotesFor(previous.facets, state.prices), context);
  const delta = combine(holdingContribution(holding), holdingContribution(previous), -1);
  state.totals = totalsFrom(state.baseCurrency, combine(sumsOf(state.totals), delta));
  state.holdings.set(key, holding);
  // Keeps the entry describing the holding `state.holdings` has (a live slot holds the entry).
  const cache = repriceCaches.get(state);
  if (cache?.holdings.has(key)) entryFor(cache, key, holding, context);
  return holdingPriceText(holding);
}

/** Builds the holdings and totals objects the live ticks since the last call moved (see `applyLiveQuote`). */
export function settlePrices(state: PortfolioState): void {
  const cache = repriceCaches.get(state);
  if (!cache) return;
  for (const [key, entry] of cache.holdings) {
    if (entry.liveQuote === undefined) continue;
    const holding = settleHolding(cache, key);
    if (holding) state.holdings.set(key, holding);
  }
  const totals = cache.totals;
  if (totals?.moved && totals.of === state.totals) {
    // The sums are the settled totals' own: they go on from the new object.
    state.totals = liveTotals(state);
    totals.of = state.totals;
    totals.moved = false;
    totals.view = undefined;
  }
}

/** The totals as the live ticks left them (`state.totals` once settled). */
export function liveTotals(state: PortfolioState): PortfolioTotals {
  const moved = repriceCaches.get(state)?.totals;
  if (!moved?.moved || moved.of !== state.totals) return state.totals;
  const totals = state.totals;
  const { unpricedHoldings, holdingsWithoutDayChange } = moved;
  moved.view ??= {
    baseCurrency: totals.baseCurrency,
    totalValue: formatScaled(addScaled(moved.investedValue, moved.cash)),
    investedValue: formatScaled(moved.investedValue),
    cash: totals.cash,
    cashEquivalentValue: formatScaled(moved.cashEquivalentValue),
    costBasis: totals.costBasis,
    unrealizedPnl: formatScaled(moved.unrealizedPnl),
    dayChange: formatScaled(moved.dayChange),
    holdingsCount: totals.holdingsCount,
    unpricedHoldings,
    holdingsWithoutDayChange,
    holdingsMissingFx: totals.holdingsMissingFx,
    cashLinesMissingFx: totals.cashLinesMissingFx,
    complete: unpricedHoldings === 0 && totals.holdingsMissingFx === 0 && totals.cashLinesMissingFx === 0,
  };
  return moved.view;
}

/** A change with its `delta` computed only when asked for (the tick path never asks). */
class HoldingPriceChange implements PriceChange {
  constructor(
    readonly holding: Holding,
    readonly previous: Holding,
    readonly totals: PortfolioTotals,
  ) {}

  get delta(): TotalsDelta {
    return combine(holdingContribution(this.holding), holdingContribution(this.previous), -1);
  }
}

const repriceCaches = new WeakMap<PortfolioState, RepriceCache>();

/** The fast path's numbers for one portfolio state (they live as long as the state). */
function repriceCacheOf(state: PortfolioState): RepriceCache {
  let cache = repriceCaches.get(state);
  if (!cache) repriceCaches.set(state, (cache = new RepriceCache()));
  return cache;
}

/** The live totals of `totals`, the state's settled object (new ones when the state has new totals). */
function liveTotalsOf(cache: RepriceCache, totals: PortfolioTotals): LiveTotals {
  let live = cache.totals;
  if (!live || live.of !== totals) live = cache.totals = new LiveTotals(totals);
  return live;
}

/** The same portfolio valued with a new FX table (a full recomputation: every base figure moves). */
export function revalueWithFx(state: PortfolioState, fx: FxTable): PortfolioState {
  return aggregateHoldings(state.accounts, { baseCurrency: state.baseCurrency, fx, prices: state.prices });
}
