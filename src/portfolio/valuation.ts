import { aggregateHoldings, type PortfolioState } from './aggregate-holdings.ts';
import type { FxTable } from './currency.ts';
import { canonical, dec } from './decimal.ts';
import { computeHolding, quotesFor, type Holding, type PriceQuote } from './holding.ts';
import { isoTimestamp } from './normalized.ts';
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
 * `applyPrice` touches one holding: it re-runs `computeHolding` for that security with the
 * new quote (work proportional to the number of accounts holding it, not to the portfolio)
 * and moves the totals by the difference of that holding's contributions. Because the
 * arithmetic is exact, the totals after any number of ticks are equal, digit for digit, to
 * `valuePortfolio` over the holdings and to a full `aggregateHoldings` with the same prices
 * (property-tested with 1,000 random ticks).
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
  const quote: PriceQuote = { price: canonical(tick.price), asOf: isoTimestamp(tick.asOf) };
  if (tick.previousClose !== undefined) quote.previousClose = canonical(tick.previousClose);
  if (tick.currency !== undefined) quote.currency = tick.currency.toUpperCase();
  if (dec(quote.price).lt(0)) throw new RangeError(`a price cannot be negative: ${tick.price}`);

  const stored = state.prices.get(identityKey);
  if (stored !== undefined && Date.parse(stored.asOf) > Date.parse(quote.asOf)) return null;
  state.prices.set(identityKey, quote);

  const key = state.keyByFacet.get(identityKey) ?? identityKey;
  const previous = state.holdings.get(key) ?? null;
  if (previous === null) return { holding: null, previous: null, delta: ZERO_DELTA, totals: state.totals };

  const holding = computeHolding(
    previous.security,
    previous.facets,
    previous.accounts,
    quotesFor(previous.facets, state.prices),
    { baseCurrency: state.baseCurrency, fx: state.fx },
  );
  const delta = combine(holdingContribution(holding), holdingContribution(previous), -1);
  state.holdings.set(key, holding);
  state.totals = totalsFrom(state.baseCurrency, combine(sumsOf(state.totals), delta));
  return { holding, previous, delta, totals: state.totals };
}

/** The same portfolio valued with a new FX table (a full recomputation: every base figure moves). */
export function revalueWithFx(state: PortfolioState, fx: FxTable): PortfolioState {
  return aggregateHoldings(state.accounts, { baseCurrency: state.baseCurrency, fx, prices: state.prices });
}
