import { add, dec, div, mul, sub, ZERO, type Decimal } from '../portfolio/decimal.ts';
import type { ReturnsScope } from './external-cash-flows.ts';

/**
 * Realized P/L of the sells dated in a range (pure).
 *
 * Each account's trades in each security are replayed oldest first at **average cost**, as
 * `explainCost` (src/portfolio/purchase-cost.ts) does for the open lots: a buy adds units x price to
 * the cost, a sale of u of U units takes u/U of it. A sale dated in `(from, to]` realizes
 * proceeds - the cost it takes, u x price - cost x u / U, in the trades' currency (fees are left out
 * of both, as they are of the cost basis), worth that at the rate of the sale's day in the base
 * currency (`toBase`, which falls back to today's rate where no rate that old is stored).
 *
 * A sale whose cost cannot be known is counted in `notValued` and left out, never guessed: no
 * earlier buy or more units sold than bought (history older than what was fetched, a transfer in),
 * a trade without units or price, trades of one security in two currencies, a split or a transfer
 * of the security before it (they move units without a cost this rule could follow), or no rate to
 * the base currency. After a sale of more than was held, the units left are unknown too, so later
 * sales of that security in that account are not valued either.
 */

/** A buy, sell or other unit-moving activity (split, transfer) of one account in one security. */
export interface TradeForRealized {
  accountId: string;
  /** What the trades of one security share (SnapTrade's universal symbol id, else the ticker). */
  security: string;
  type: string;
  /** Units; a sell's may be reported negative, its size is what counts. */
  units: string | null;
  /** Price per unit in `currency`. */
  price: string | null;
  currency: string | null;
  at: Date;
  /** Tie-break for trades at the same time (the provider's id). */
  id: string;
}

export interface RealizedPl {
  /** Σ realized P/L of the valued sells in the base currency. */
  pl: Decimal;
  /** Sells dated in the range and in the scope, valued or not. */
  sells: number;
  /** Of those, sells whose cost or rate is unknown, left out of `pl`. */
  notValued: number;
}

type Position = { units: Decimal; cost: Decimal; currency: string | null } | 'unknown';

export function realizedPl(
  trades: readonly TradeForRealized[],
  scope: ReturnsScope,
  window: { from: Date; to: Date },
  toBase: (amount: Decimal, currency: string, at: Date) => Decimal | null,
): RealizedPl {
  const ordered = trades
    .filter((trade) => scope.kind === 'portfolio' || trade.accountId === scope.accountId)
    .sort((a, b) => a.at.getTime() - b.at.getTime() || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const positions = new Map<string, Position>();
  let pl = ZERO;
  let sells = 0;
  let notValued = 0;
  for (const trade of ordered) {
    if (trade.at.getTime() > window.to.getTime()) break;
    const key = `${trade.accountId}\u0000${trade.security}`;
    const held: Position = positions.get(key) ?? { units: ZERO, cost: ZERO, currency: null };
    const size = trade.units === null ? null : dec(trade.units).abs();
    const sameCurrency = held !== 'unknown' && (held.currency === null || held.currency === trade.currency);
    if (trade.type === 'buy') {
      if (held === 'unknown') continue;
      positions.set(
        key,
        size === null || trade.price === null || trade.currency === null || !sameCurrency
          ? 'unknown'
          : { units: add(held.units, size), cost: add(held.cost, mul(size, dec(trade.price))), currency: trade.currency },
      );
    } else if (trade.type === 'sell') {
      const inRange = trade.at.getTime() > window.from.getTime();
      if (inRange) sells++;
      if (held === 'unknown' || size === null || size.gt(held.units) || held.units.eq(0)) {
        positions.set(key, 'unknown');
        if (inRange) notValued++;
        continue;
      }
      // The cost the sale takes, multiplied first so a sale of a whole fraction stays exact.
      const taken = div(mul(held.cost, size), held.units)!;
      positions.set(key, { units: sub(held.units, size), cost: sub(held.cost, taken), currency: held.currency });
      if (!inRange) continue;
      const realized = trade.price === null || trade.currency === null || !sameCurrency ? null : toBase(sub(mul(size, dec(trade.price)), taken), trade.currency, trade.at);
      if (realized === null) notValued++;
      else pl = add(pl, realized);
    } else if (size !== null && !size.eq(0)) {
      positions.set(key, 'unknown');
    }
  }
  return { pl, sells, notValued };
}
