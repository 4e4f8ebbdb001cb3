import type { HoldingView } from '../../events.ts';
import { money } from './format.ts';

/**
 * What the holdings row shows as a holding's unrealized P/L, and the words of its tooltip: the P/L
 * against the cost at the purchase days' rates (`purchaseFx`) split into the gain from the price
 * and the gain from the exchange rate. Pure, for the table and its Node tests.
 */
export interface PlShown {
  /** The P/L in the base currency: against the purchase-date cost when known, else at today's rate. */
  pl: string | null;
  /** The cost that P/L is measured against, in the base currency (null: use the listing cost). */
  costBase: string | null;
  /** The split in words; empty when there is nothing to split (no cost, or all in the base currency). */
  words: string;
}

function signed(value: string, currency: string): string {
  return Number(value) > 0 ? `+${money(value, currency)}` : money(value, currency);
}

export function plShown(h: HoldingView, base: string): PlShown {
  const split = h.purchaseFx;
  if (!split) return { pl: h.unrealizedPlBase, costBase: null, words: '' };
  const pl = split.plBase ?? h.unrealizedPlBase;
  const inBase = h.currency === base && (split.currencyGainBase === null || Number(split.currencyGainBase) === 0);
  if (inBase || split.priceGainBase === null) return { pl, costBase: split.costBasisBase, words: '' };
  const price = `Price gain ${signed(split.priceGainBase, base)}: what ${h.symbol}'s price in ${h.currency} did, at today's ${h.currency} → ${base} rate.`;
  const cost = split.costBasisBase === null ? '' : money(split.costBasisBase, base);
  if (split.costBasisFx === 'current' || split.currencyGainBase === null) {
    return {
      pl,
      costBase: split.costBasisBase,
      words: `${price} Cost ${cost} at today's rate: the purchases behind this holding are not known (bought before the activity history fetched, moved in by a transfer, or split), so the currency gain is not separated.`,
    };
  }
  const currency = `Currency gain ${signed(split.currencyGainBase, base)}: what the ${h.currency} did against the ${base} since the purchases.`;
  const costWords =
    split.costBasisFx === 'purchase-date'
      ? `Cost ${cost} at the exchange rates of the purchase days.`
      : `Cost ${cost}: at the exchange rates of the purchase days for the accounts whose purchases are known, at today's rate for the others (their currency gain is not separated).`;
  return { pl, costBase: split.costBasisBase, words: `${price} ${currency} ${costWords}` };
}
