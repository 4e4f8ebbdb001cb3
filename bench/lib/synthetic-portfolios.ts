import { tickersOf, type UserPortfolioState } from '../../actors/portfolio/user-portfolio-behavior.ts';
import { aggregateHoldings, type AccountPositions } from '../../src/portfolio/aggregate-holdings.ts';
import { EMPTY_FX_TABLE } from '../../src/portfolio/currency.ts';
import type { PriceQuote } from '../../src/portfolio/holding.ts';
import { securityRef, type SecurityRef } from '../../src/portfolio/security-identity.ts';

/**
 * The live-price benchmarks' synthetic market, built in memory as a worker holds it after loading
 * (bench:tick-path, bench:tick-locality; bench:ticks seeds the same tickers as rows).
 */

/** Ticker of synthetic security `i` (0-based): SYN00001, SYN00002, ... */
export const symbolOf = (i: number): string => `SYN${String(i + 1).padStart(5, '0')}`;

export interface SyntheticSecurities {
  refs: SecurityRef[];
  /** Each security's current price (a benchmark moves them as it ticks). */
  prices: Float64Array;
}

/** `count` US listings on XNAS in USD, each priced between 5 and 505 (cents), drawn from `rand`. */
export function syntheticSecurities(count: number, rand: () => number): SyntheticSecurities {
  const prices = new Float64Array(count);
  const refs = Array.from({ length: count }, (_, i) => {
    prices[i] = Math.round((5 + rand() * 500) * 100) / 100;
    return securityRef({ ticker: symbolOf(i), exchange: 'XNAS', currency: 'USD', description: `Synthetic ${i + 1}`, type: 'cs' });
  });
  return { refs, prices };
}

/**
 * A user's loaded state: one USD account holding `holdings` distinct securities (random quantities
 * and costs), priced with the last prices of what it holds, as an actor's load applies them (its
 * own, not the whole book: a map of every security's quote per portfolio made each lookup slower).
 */
export function syntheticPortfolio(userId: string, market: SyntheticSecurities, holdings: number, rand: () => number, asOf: string): UserPortfolioState {
  const { refs, prices } = market;
  const held = new Set<number>();
  while (held.size < holdings) held.add(Math.floor(rand() * refs.length));
  const account: AccountPositions = {
    institution: 'Bench Brokerage',
    currency: 'USD',
    asOf,
    positions: [...held].map((s) => ({
      security: refs[s]!,
      quantity: (1 + Math.floor(rand() * 50000) / 100).toFixed(2),
      averageCost: (prices[s]! * (0.5 + rand())).toFixed(4),
      currency: 'USD',
      cashEquivalent: false,
    })),
  };
  const lastPrices = new Map<string, PriceQuote>([...held].map((s) => [refs[s]!.identityKey, { price: String(prices[s]), asOf, previousClose: String(prices[s]) }]));
  const portfolio = aggregateHoldings(new Map([[`acct-${userId}`, account]]), { baseCurrency: 'USD', fx: EMPTY_FX_TABLE, prices: lastPrices });
  return {
    userId,
    userExists: true,
    baseCurrency: 'USD',
    connections: new Map(),
    accounts: new Map(),
    portfolio,
    tickers: tickersOf(portfolio.holdings.values()),
    outbox: [],
  };
}
