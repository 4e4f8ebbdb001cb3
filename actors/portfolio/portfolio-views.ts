import { dayChangeMissing, SoleAccountPriceText, type Holding, type HoldingPriceText, type PortfolioTotals, type PriceText } from '../../src/portfolio/index.ts';
import { assetClassOf } from '../../src/portfolio/asset-class.ts';
import { alpacaTicker } from './us-listings.ts';
import { PreparedRepricing, type HoldingRepricing, type HoldingView, type PortfolioTotals as TotalsView, type SoleAccountRepricingTuple } from '../../src/realtime/events.ts';
import type { PurchaseDateCost } from '../../src/portfolio/purchase-cost.ts';
import { writeJsonByte, writeJsonDecimal, writeJsonNullableString, writeJsonString } from '../../src/realtime/json-bytes.ts';
import type { RespWriter } from '../../src/runtime/resp-command.ts';
import { purchaseFxAt, type PurchaseFxView } from '../../src/realtime/purchase-fx.ts';

/**
 * The wire view of a holding (socket.io and `GET /api/portfolio` share it). `purchase`, when read
 * (snapshots and the API), becomes `purchaseFx`; the actor's deltas go without it.
 */
export function holdingView(h: Holding, purchase?: PurchaseDateCost): HoldingView {
  return {
    id: h.identityKey,
    symbol: h.security.ticker,
    description: h.security.description ?? null,
    currency: h.currency,
    assetClass: assetClassOf(h.security),
    quantity: h.quantity,
    price: h.price,
    priceAsOf: h.priceAsOf,
    priceSource: h.priceSource === null ? null : h.priceSource === 'quote' ? 'market' : 'brokerage',
    // No live feed (the market role subscribes US listings only): the price is the brokerage's.
    priceStale: h.price !== null && alpacaTicker(h) === undefined,
    marketValue: h.marketValue,
    marketValueBase: h.base.marketValue,
    costBasis: h.costBasis,
    unrealizedPl: h.unrealizedPnl,
    dayChange: h.dayChange,
    unrealizedPlBase: h.base.unrealizedPnl,
    dayChangeBase: h.base.dayChange,
    dayChangeMissing: dayChangeMissing(h),
    positionsAsOf: h.positionsAsOf || null,
    accounts: h.accounts.map((a) => ({
      accountId: a.accountId,
      institution: a.institution,
      quantity: a.quantity,
      marketValue: a.marketValue,
      marketValueBase: a.baseMarketValue,
    })),
    ...(purchase === undefined ? {} : { purchaseFx: purchaseFxView(purchase, h.base.unrealizedPnl) }),
  };
}

function purchaseFxView(cost: PurchaseDateCost, unrealizedPlBase: string | null): PurchaseFxView | null {
  if (cost.costBasisFx === null) return null;
  const atTodaysRate = Object.entries(cost.unexplained)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([accountId, reason]) => ({ accountId, reason }));
  const view = { costBasisFx: cost.costBasisFx, costBasisBase: cost.costBasisBase, currencyGainBase: cost.currencyGainBase, priceGainBase: null, plBase: null, atTodaysRate };
  return purchaseFxAt(view, unrealizedPlBase);
}

/** The wire form of a price-only change of a holding (after a tick). */
export function repricingView(t: HoldingPriceText): HoldingRepricing {
  return {
    id: t.identityKey,
    price: t.price,
    priceAsOf: t.priceAsOf,
    marketValue: t.marketValue,
    marketValueBase: t.baseMarketValue,
    unrealizedPl: t.unrealizedPnl,
    dayChange: t.dayChange,
    unrealizedPlBase: t.baseUnrealizedPnl,
    dayChangeBase: t.baseDayChange,
    dayChangeMissing: t.dayChangeMissing,
    accountValues: t.accountMarketValues,
    accountValuesBase: t.accountBaseMarketValues,
  };
}

/**
 * `PreparedRepricing.of(repricingView(holdingPriceTextOf(t)))`, the tick path's repricing: the usual
 * holding's own figures wait as the numbers they are, and are written in the wire's shortest form
 * when the delta is, without the view and the arrays it would otherwise make per repriced holding.
 * Like its text, it says the holding's latest tick when it is written.
 */
export function preparedRepricing(t: PriceText): PreparedRepricing {
  if (!(t instanceof SoleAccountPriceText)) return PreparedRepricing.of(repricingView(t));
  // One per text, as the text is one per holding: a tick makes neither.
  return (t.wire as SoleAccountRepricing | undefined) ?? (t.wire = new SoleAccountRepricing(t));
}

const OPEN = 91; // '['
const COMMA = 44;
const CLOSE = 93; // ']'

class SoleAccountRepricing extends PreparedRepricing {
  constructor(private readonly text: SoleAccountPriceText) {
    super();
  }

  get id(): string {
    return this.text.identityKey;
  }

  get json(): string {
    const t = this.text;
    const tuple: SoleAccountRepricingTuple = [t.identityKey, t.price, t.priceAsOf, t.marketValue, t.unrealizedPnl, t.dayChange, t.dayChangeMissing];
    return JSON.stringify(tuple);
  }

  /** `json`'s bytes, with each figure's digits written from its number (no string per figure, none for the tuple). */
  override writeJson(out: RespWriter): void {
    const t = this.text;
    writeJsonByte(out, OPEN);
    writeJsonString(out, t.identityKey);
    writeJsonByte(out, COMMA);
    writeJsonString(out, t.price);
    writeJsonByte(out, COMMA);
    writeJsonString(out, t.priceAsOf);
    writeJsonByte(out, COMMA);
    writeJsonDecimal(out, t.marketValueN, t.marketValueS);
    writeJsonByte(out, COMMA);
    writeJsonDecimal(out, t.unrealizedPnlN, t.unrealizedPnlS);
    writeJsonByte(out, COMMA);
    writeJsonDecimal(out, t.dayChangeN, t.dayChangeS);
    writeJsonByte(out, COMMA);
    writeJsonNullableString(out, t.dayChangeMissing);
    writeJsonByte(out, CLOSE);
  }
}

/** Totals in the base currency; a figure that could not be completed is still the sum of what was valued. */
export function totalsView(t: PortfolioTotals): TotalsView {
  return {
    totalValue: t.totalValue,
    cash: t.cash,
    invested: t.investedValue,
    costBasis: t.costBasis,
    unrealizedPl: t.unrealizedPnl,
    dayChange: t.dayChange,
    holdingsCount: t.holdingsCount,
    dayChangeHoldings: t.holdingsCount - t.holdingsWithoutDayChange,
  };
}
