/**
 * Pure portfolio logic: identity of a security, normalisation of provider payloads, exact
 * decimals, currency conversion, aggregation and valuation. No I/O: the user actor and the
 * admin replay call these with data they loaded, and get data back.
 *
 * Typical use by the actor:
 *
 *   const data = normalizeSnapTradeAccount({ positions: body1, balances: body2 }); // in the sync job
 *   let state = aggregateHoldings(accounts, { baseCurrency: 'USD', fx, prices });  // on activation
 *   const { state: next, changes } = reaggregateSymbols(state, new Map([[accountId, account]])); // positions.synced
 *   const change = applyPrice(state, identityKey, { price, asOf });                 // price tick (in place)
 */
export {
  aggregateHoldings,
  reaggregateSymbols,
  type AccountPositions,
  type AccountsById,
  type AggregationContext,
  type HoldingsChange,
  type PortfolioState,
} from './aggregate-holdings.ts';
export {
  convert,
  convertibleCurrencies,
  createFxTable,
  EMPTY_FX_TABLE,
  fxRate,
  fxTableFromSnapTrade,
  type Conversion,
  type FxLookup,
  type FxPath,
  type FxRateInput,
  type FxTable,
} from './currency.ts';
export { canonical, dec, formatMoney, str, toFixedPlaces, type Decimal, type DecimalString } from './decimal.ts';
export type { DayChangeMissing, Holding, HoldingAccountShare, HoldingBaseValues, PriceQuote } from './holding.ts';
export { dayChangeMissing } from './holding.ts';
export { normalizeAlpacaAccount, normalizeAlpacaBalances, normalizeAlpacaPositions } from './normalize-alpaca.ts';
export { normalizeSnapTradeAccount, normalizeSnapTradeBalances, normalizeSnapTradePositions } from './normalize-snaptrade.ts';
export type { NormalizedAccountData, NormalizedBalance, NormalizedPosition } from './normalized.ts';
export { PayloadValidationError, type PayloadIssue } from './payload-error.ts';
export type { CashLine, PortfolioTotals, TotalsDelta } from './portfolio-totals.ts';
export {
  exchangeToMic,
  listingKey,
  normalizeTicker,
  SecurityIndex,
  securityRef,
  type SecurityRef,
  type SecurityRefInput,
} from './security-identity.ts';
export {
  applyLiveQuote,
  applyLiveQuoteAt,
  liveSlot,
  applyPrice,
  applyQuote,
  liveTotals,
  priceQuote,
  quoteAt,
  revalueWithFx,
  settlePrices,
  valuePortfolio,
  type LiveSlot,
  type PriceChange,
  type PriceTick,
} from './valuation.ts';
export { holdingPriceText, holdingPriceTextOf, quoteTime, SoleAccountPriceText, type HoldingPriceText, type PriceText } from './reprice.ts';
