import type { UnexplainedReason } from '../portfolio/purchase-cost.ts';
import { addScaled, formatScaled, parseScaled, SCALED_ZERO } from '../portfolio/scaled-decimal.ts';

/**
 * A holding's cost at the rates of its purchase days, on the wire (`src/portfolio/purchase-cost.ts`
 * computes it). Browser-safe: no Node imports.
 *
 * The currency gain does not move with the price; the price gain is the holding's
 * `unrealizedPlBase` (the gain in the listing currency at today's rate), which every tick moves. So
 * a client that holds `currencyGainBase` follows `priceGainBase` and `plBase` from ticks alone:
 * `purchaseFxAt(purchaseFx, unrealizedPlBase)`.
 */
export interface PurchaseFxView {
  /**
   * `purchase-date`: every account's cost is converted at the rates of its purchases' days;
   * `partial`: some accounts' are, the others' at today's rate; `current`: all at today's rate
   * (no activity explains the position, see `purchase-cost.ts`).
   */
  costBasisFx: 'purchase-date' | 'partial' | 'current';
  /** The cost in the base currency so converted; null without today's rate for an account converted at it. */
  costBasisBase: string | null;
  /** Cost at today's rate less cost at the purchase days' rates, over the accounts so converted; null when none is. */
  currencyGainBase: string | null;
  /** The gain from the price: the holding's `unrealizedPlBase`. */
  priceGainBase: string | null;
  /** The P/L against `costBasisBase`: price gain + currency gain. */
  plBase: string | null;
  /** The accounts whose cost is at today's rate, and why their activities do not explain the position. */
  atTodaysRate: { accountId: string; reason: UnexplainedReason }[];
}

/** `purchaseFx` with the price gain of a new `unrealizedPlBase` (after a tick); the cost and the currency gain stay. */
export function purchaseFxAt(purchaseFx: PurchaseFxView, unrealizedPlBase: string | null): PurchaseFxView {
  return {
    costBasisFx: purchaseFx.costBasisFx,
    costBasisBase: purchaseFx.costBasisBase,
    currencyGainBase: purchaseFx.currencyGainBase,
    atTodaysRate: purchaseFx.atTodaysRate,
    priceGainBase: unrealizedPlBase,
    plBase:
      unrealizedPlBase === null
        ? null
        : purchaseFx.currencyGainBase === null
          ? unrealizedPlBase
          : formatScaled(addScaled(parseScaled(unrealizedPlBase), parseScaled(purchaseFx.currencyGainBase))),
  };
}

/**
 * The holdings' currency gains summed (`'0'` when none is known): added to P/L totals at today's
 * rate (the API's `totals`, moved by ticks) it gives the P/L against the purchase days' costs, the
 * sum of what the holdings rows show.
 */
export function currencyGainOf(holdings: readonly { purchaseFx?: PurchaseFxView | null }[]): string {
  let gain = SCALED_ZERO;
  for (const h of holdings) if (h.purchaseFx?.currencyGainBase) gain = addScaled(gain, parseScaled(h.purchaseFx.currencyGainBase));
  return formatScaled(gain);
}
