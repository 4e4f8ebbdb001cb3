import type { UnexplainedReason } from '../../../portfolio/purchase-cost.ts';
import { add, dec, isZero, str, sub } from '../../../portfolio/decimal.ts';
import type { HoldingView, PortfolioTotals, PurchaseFxView } from '../../events.ts';
import { currencyGainOf } from '../../purchase-fx.ts';
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

/** Why an account's purchases do not explain its position, in words. */
const REASON_WORDS: Record<UnexplainedReason, string> = {
  'no-buys': 'no purchase of it is in the activity history the brokerage gave',
  'units-differ': 'the purchases and sales in the activity history do not add up to the quantity held (older history, or units moved in)',
  'split-or-transfer': 'a split or a transfer moved units',
  'short-position': 'it is a short position',
  'sold-more-than-held': 'the activity history sells more than it bought',
  'no-rate-on-trade-date': 'no exchange rate is stored for the day of a purchase (rates are kept from the day the engine first ran)',
  'no-price': 'a purchase has no price',
};

function reasons(split: PurchaseFxView): string {
  const words = [...new Set(split.atTodaysRate.map((a) => REASON_WORDS[a.reason]))];
  return words.length === 0 ? 'the purchases behind this holding are not known' : words.join('; ');
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
      words: `${price} Cost ${cost} at today's rate, so the currency gain is not separated: ${reasons(split)}.`,
    };
  }
  const currency = `Currency gain ${signed(split.currencyGainBase, base)}: what the ${h.currency} did against the ${base} since the purchases.`;
  const costWords =
    split.costBasisFx === 'purchase-date'
      ? `Cost ${cost} at the exchange rates of the purchase days.`
      : `Cost ${cost}: at the exchange rates of the purchase days for the accounts whose purchases are known, at today's rate for the others (their currency gain is not separated: ${reasons(split)}).`;
  return { pl, costBase: split.costBasisBase, words: `${price} ${currency} ${costWords}` };
}

/**
 * The header's cost basis and unrealized P/L, measured like the rows: the server's totals hold the
 * costs at today's rate and the price gains (they move with each tick); the holdings' currency
 * gains (from the last snapshot, they do not move with prices) turn them into the cost at the
 * purchase days' rates and the P/L against it, so the header sums what the rows show.
 */
export function totalsAsShown(totals: PortfolioTotals, holdings: readonly HoldingView[]): { costBasis: string | null; unrealizedPl: string | null; currencyGain: string } {
  const gain = dec(currencyGainOf(holdings));
  if (isZero(gain)) return { costBasis: totals.costBasis, unrealizedPl: totals.unrealizedPl, currencyGain: '0' };
  return {
    costBasis: totals.costBasis === null ? null : str(sub(dec(totals.costBasis), gain)),
    unrealizedPl: totals.unrealizedPl === null ? null : str(add(dec(totals.unrealizedPl), gain)),
    currencyGain: str(gain),
  };
}
