import { fxRate, type FxTable } from './currency.ts';
import { utcDay, type Day } from './dated-fx.ts';
import { add, dec, div, mul, str, sub, ZERO, type Decimal, type DecimalString } from './decimal.ts';
import type { Holding } from './holding.ts';
import { normalizeTicker } from './security-identity.ts';

/**
 * A holding's cost in the base currency at the rates of its purchase days, and the part of its
 * unrealized P/L that the exchange rate made (pure).
 *
 * An account's position in a security is explained by its activities when they are known: the
 * buys and sells of that account and that security, oldest first, leave exactly the position's
 * quantity. Each buy is a lot: its cost is units x price in the activity's currency (fees are not
 * part of it), worth `lot x rate(currency -> listing)` and `lot x rate(currency -> base)` at the
 * rates of its trade's UTC day (`fxTableOn`). Sells reduce the lots at **average cost**: a sale of
 * u of U units takes u/U of every open lot, so it leaves the average purchase rate of what remains
 * unchanged (FIFO would not; no brokerage here reports lot identities).
 *
 * What is left is a listing-currency cost L and a base cost P at the purchase days' rates, so the
 * purchase rate of the position is P / L. The position's cost in the base currency is the cost the
 * brokerage reports (C, listing currency, what the rest of the holding uses) at that rate,
 * C x P / L: when the brokerage's cost is the lots' (C = L) that is P, the sum of each lot's cost at
 * its day's rate, exactly. The currency gain is what the cost is worth at today's rate less that:
 * C x R - C x P / L. It does not move with the price; the price gain is the rest of the P/L, the
 * gain in the listing currency at today's rate (the holding's `base.unrealizedPnl`). Their sum is
 * the P/L against the purchase-date cost.
 *
 * Not explained, the position's cost stays at today's rate (`costBasisFx: 'current'`) and has no
 * currency gain: no buy known, the activities leave another quantity (history older than what was
 * fetched, a transfer in), a split or a transfer of the security (they move units without a cost
 * this rule could follow), a short position, or no rate on or before a trade's day. A holding some
 * of whose accounts are explained and others not is `'partial'`.
 */

/** A trade of one account in one security, as stored (`activities` rows of type buy, sell, split, transfer, other). */
export interface TradeActivity {
  type: string;
  /** Units; a sell's may be reported negative, its size is what counts. */
  units: DecimalString | null;
  /** Price per unit in `currency`. */
  price: DecimalString | null;
  currency: string | null;
  /** ISO 8601. */
  tradeDate: string;
  /** Tie-break for trades at the same time (the provider's id). */
  id: string;
}

/** Why an account's position is not explained by its activities (its cost then stays at today's rate). */
export const UNEXPLAINED_REASONS = [
  'no-buys',
  'units-differ',
  'split-or-transfer',
  'short-position',
  'sold-more-than-held',
  'no-rate-on-trade-date',
  'no-price',
] as const;
export type UnexplainedReason = (typeof UNEXPLAINED_REASONS)[number];

export type ExplainedCost =
  | { explained: true; units: Decimal; listingCost: Decimal; baseCost: Decimal }
  | { explained: false; reason: UnexplainedReason };

/**
 * The open lots of one account's trades in one security, at average cost, in the listing and the
 * base currency at each trade day's rates; explained only when they leave `heldQuantity`.
 */
export function explainCost(
  trades: readonly TradeActivity[],
  heldQuantity: Decimal,
  listingCurrency: string,
  baseCurrency: string,
  ratesOn: (day: Day) => FxTable,
): ExplainedCost {
  if (heldQuantity.lte(0)) return { explained: false, reason: 'short-position' };
  const ordered = [...trades].sort((a, b) => Date.parse(a.tradeDate) - Date.parse(b.tradeDate) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  let units = ZERO;
  let listingCost = ZERO;
  let baseCost = ZERO;
  let buys = 0;
  for (const trade of ordered) {
    const size = trade.units === null ? null : dec(trade.units).abs();
    if (trade.type === 'buy') {
      if (size === null || trade.price === null || trade.currency === null) return { explained: false, reason: 'no-price' };
      const lot = mul(size, dec(trade.price));
      const table = ratesOn(utcDay(trade.tradeDate));
      const toListing = fxRate(table, trade.currency, listingCurrency).rate;
      const toBase = fxRate(table, trade.currency, baseCurrency).rate;
      if (toListing === null || toBase === null) return { explained: false, reason: 'no-rate-on-trade-date' };
      units = add(units, size);
      listingCost = add(listingCost, mul(lot, toListing));
      baseCost = add(baseCost, mul(lot, toBase));
      buys++;
    } else if (trade.type === 'sell') {
      if (size === null || size.gt(units)) return { explained: false, reason: 'sold-more-than-held' };
      // Average cost: the sale takes size/units of every open lot (multiplied first, so a sale of a
      // whole fraction stays exact).
      listingCost = sub(listingCost, div(mul(listingCost, size), units)!);
      baseCost = sub(baseCost, div(mul(baseCost, size), units)!);
      units = sub(units, size);
    } else if (size !== null && !size.eq(0)) {
      // A split, a transfer of the security, or anything else that moves units.
      return { explained: false, reason: 'split-or-transfer' };
    }
  }
  if (buys === 0) return { explained: false, reason: 'no-buys' };
  if (!units.eq(heldQuantity)) return { explained: false, reason: 'units-differ' };
  return { explained: true, units, listingCost, baseCost };
}

/**
 * The suffix SnapTrade writes after a ticker of these venues (`XIU.TO`), where a position's
 * `raw_symbol`, the holding's ticker, has none.
 */
const VENUE_SUFFIX: Readonly<Record<string, string>> = { XTSE: '.TO', XTSX: '.V', XCNQ: '.CN', NEOE: '.NE' };

/**
 * Whether a stored trade (of the same account) is of `holding`'s security: SnapTrade's universal
 * symbol id when it is one of the holding's identity facets (`snaptrade:<id>`; a holding read from
 * Postgres under its FIGI has lost that facet, the securities row keeps one identifier), else the
 * ticker: the holding's exactly, or with its venue's suffix (`XIU.TO` for XIU on XTSE).
 */
export function isTradeOf(
  trade: { universalSymbolId: string | null; symbol: string | null },
  holding: Pick<Holding, 'facets' | 'security'>,
): boolean {
  if (trade.universalSymbolId !== null && holding.facets.includes(`snaptrade:${trade.universalSymbolId.trim().toLowerCase()}`)) return true;
  if (trade.symbol === null) return false;
  const symbol = normalizeTicker(trade.symbol);
  const { ticker, exchangeMic } = holding.security;
  const suffix = exchangeMic === undefined ? undefined : VENUE_SUFFIX[exchangeMic];
  return symbol === ticker || (suffix !== undefined && symbol === `${ticker}${suffix}`);
}

export type CostBasisFx = 'purchase-date' | 'current' | 'partial';

export interface PurchaseDateCost {
  /** How the base cost was converted; null when no account's cost is known. */
  costBasisFx: CostBasisFx | null;
  /** Σ over the accounts with a cost: at the purchase dates' rates where explained, today's elsewhere; null without today's rate. */
  costBasisBase: DecimalString | null;
  /** Σ over the explained accounts of cost at today's rate - cost at the purchase dates' rates; null when none is explained. */
  currencyGainBase: DecimalString | null;
  /** Per account with a cost, why it is not explained (absent when it is). */
  unexplained: Record<string, UnexplainedReason>;
}

/**
 * The holding's cost in its base currency at the purchase dates' rates (see the module comment).
 * `tradesOf(accountId)` gives that account's trades in this security; `todayFx` is the table the
 * holding was valued with.
 */
export function purchaseDateCost(
  holding: Pick<Holding, 'currency' | 'accounts' | 'base'>,
  tradesOf: (accountId: string) => readonly TradeActivity[],
  todayFx: FxTable,
  ratesOn: (day: Day) => FxTable,
): PurchaseDateCost {
  const baseCurrency = holding.base.currency;
  const todayRate = fxRate(todayFx, holding.currency, baseCurrency).rate;
  let costBase: Decimal | null = ZERO;
  let currencyGain: Decimal | null = null;
  let withCost = 0;
  let explained = 0;
  const unexplained: Record<string, UnexplainedReason> = {};
  for (const share of holding.accounts) {
    if (share.costBasis === null) continue;
    withCost++;
    const cost = dec(share.costBasis);
    const atToday = todayRate === null ? null : mul(cost, todayRate);
    const lots = explainCost(tradesOf(share.accountId), dec(share.quantityWithCost), holding.currency, baseCurrency, ratesOn);
    if (!lots.explained || lots.listingCost.eq(0)) {
      unexplained[share.accountId] = lots.explained ? 'no-price' : lots.reason;
      costBase = costBase === null || atToday === null ? null : add(costBase, atToday);
      continue;
    }
    explained++;
    // C x P / L, multiplied first: exactly P when the brokerage's cost is the lots'.
    const atPurchase = div(mul(cost, lots.baseCost), lots.listingCost)!;
    costBase = costBase === null ? null : add(costBase, atPurchase);
    if (atToday !== null) currencyGain = add(currencyGain ?? ZERO, sub(atToday, atPurchase));
  }
  return {
    costBasisFx: withCost === 0 ? null : explained === withCost ? 'purchase-date' : explained === 0 ? 'current' : 'partial',
    costBasisBase: withCost === 0 || costBase === null ? null : str(costBase),
    currencyGainBase: currencyGain === null ? null : str(currencyGain),
    unexplained,
  };
}
