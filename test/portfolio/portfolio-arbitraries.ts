/**
 * fast-check generators for random portfolios: accounts at several providers holding securities
 * that are seen through different identities (FIGI, SnapTrade id only, listing only), in several
 * currencies, with and without costs and prices, plus FX tables with and without rates.
 */
import fc from 'fast-check';
import type { AccountPositions } from '../../src/portfolio/aggregate-holdings.ts';
import { createFxTable, type FxTable } from '../../src/portfolio/currency.ts';
import type { PriceQuote } from '../../src/portfolio/holding.ts';
import type { NormalizedPosition } from '../../src/portfolio/normalized.ts';
import { securityRef, type SecurityRefInput } from '../../src/portfolio/security-identity.ts';

interface View {
  ref: SecurityRefInput;
  positionCurrency: string;
}

/** Provider views of a handful of securities; several views denote the same security. */
export const VIEWS: readonly View[] = [
  // AAPL: SnapTrade with FIGI, SnapTrade without FIGI, Alpaca listing, and a CAD-currency position.
  { ref: { figi: 'BBG000B9XRY4', snaptradeSymbolId: 'u-aapl', ticker: 'AAPL', exchange: 'XNAS', currency: 'USD' }, positionCurrency: 'USD' },
  { ref: { snaptradeSymbolId: 'u-aapl', ticker: 'AAPL', exchange: 'NASDAQ', currency: 'USD' }, positionCurrency: 'USD' },
  { ref: { ticker: 'AAPL', exchange: 'NASDAQ', currency: 'USD' }, positionCurrency: 'USD' },
  { ref: { figi: 'BBG000B9XRY4', snaptradeSymbolId: 'u-aapl', ticker: 'AAPL', exchange: 'XNAS', currency: 'USD' }, positionCurrency: 'CAD' },
  // SPY: SnapTrade with FIGI, Alpaca listing on ARCA.
  { ref: { figi: 'BBG000BDTBL9', snaptradeSymbolId: 'u-spy', ticker: 'SPY', exchange: 'ARCX', currency: 'USD' }, positionCurrency: 'USD' },
  { ref: { ticker: 'SPY', exchange: 'ARCA', currency: 'USD' }, positionCurrency: 'USD' },
  // SHOP on the TSX (CAD) and SHOP on the NYSE (USD): same ticker, two securities.
  { ref: { snaptradeSymbolId: 'u-shop-to', ticker: 'SHOP', exchange: 'XTSE', currency: 'CAD' }, positionCurrency: 'CAD' },
  { ref: { figi: 'BBG008HBD923', snaptradeSymbolId: 'u-shop', ticker: 'SHOP', exchange: 'XNYS', currency: 'USD' }, positionCurrency: 'USD' },
  { ref: { ticker: 'SHOP', exchange: 'NYSE', currency: 'USD' }, positionCurrency: 'USD' },
  // A EUR listing (FX to base may be missing).
  { ref: { figi: 'BBG000BG7DY8', snaptradeSymbolId: 'u-sap', ticker: 'SAP', exchange: 'XETR', currency: 'EUR' }, positionCurrency: 'EUR' },
  // A money-market fund.
  { ref: { snaptradeSymbolId: 'u-swvxx', ticker: 'SWVXX', exchange: 'XNAS', currency: 'USD', cashEquivalent: true }, positionCurrency: 'USD' },
  // MSFT reported with two different FIGIs on the same listing (merged through the listing).
  { ref: { figi: 'BBG000BPH459', snaptradeSymbolId: 'u-msft', ticker: 'MSFT', exchange: 'XNAS', currency: 'USD' }, positionCurrency: 'USD' },
  { ref: { figi: 'BBG000BPHFS9', snaptradeSymbolId: 'u-msft-2', ticker: 'MSFT', exchange: 'XNAS', currency: 'USD' }, positionCurrency: 'USD' },
  // A listing with an unknown exchange.
  { ref: { ticker: 'BTC/USD', exchange: 'CRYPTO', currency: 'USD', type: 'crypto' }, positionCurrency: 'USD' },
];

/** Keys a price can be published under: facets of the securities above, and keys nobody holds. */
export const PRICE_KEYS: readonly string[] = [
  'figi:BBG000B9XRY4',
  'snaptrade:u-aapl',
  'listing:AAPL@XNAS:USD',
  'figi:BBG000BDTBL9',
  'listing:SPY@ARCX:USD',
  'snaptrade:u-shop-to',
  'listing:SHOP@XTSE:CAD',
  'listing:SHOP@XNYS:USD',
  'figi:BBG000BG7DY8',
  'snaptrade:u-swvxx',
  'figi:BBG000BPHFS9',
  'listing:MSFT@XNAS:USD',
  'listing:BTC/USD@~CRYPTO:USD',
  'listing:NOTHELD@XNAS:USD',
];

export const TIMES: readonly string[] = [
  '2026-06-02T13:30:00.000Z',
  '2026-06-02T14:00:00.000Z',
  '2026-06-02T14:30:00.000Z',
  '2026-06-02T15:00:00.000Z',
  '2026-06-02T15:30:00.000Z',
];

export const ACCOUNT_IDS = ['acc-a', 'acc-b', 'acc-c', 'acc-d', 'acc-e'] as const;

const quantity = fc.constantFrom('0', '1', '10', '-5', '2.5', '0.000000001', '1000000', '3.333333333', '-0.5');
const money = fc.constantFrom('0.01', '1', '105.4', '227.5', '1.37', '99999.9999', '0', '12.345678');
const maybe = <T>(arb: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> => fc.option(arb, { nil: undefined });

export const positionArb: fc.Arbitrary<NormalizedPosition> = fc
  .record({
    view: fc.integer({ min: 0, max: VIEWS.length - 1 }),
    quantity,
    averageCost: maybe(money),
    price: maybe(money),
    previousClose: maybe(money),
  })
  .map(({ view, quantity, averageCost, price, previousClose }) => {
    const v = VIEWS[view]!;
    const security = securityRef(v.ref);
    const position: NormalizedPosition = { security, quantity, currency: v.positionCurrency, cashEquivalent: security.cashEquivalent };
    if (averageCost !== undefined) position.averageCost = averageCost;
    if (price !== undefined) position.price = price;
    if (previousClose !== undefined) position.previousClose = previousClose;
    return position;
  });

export const accountArb: fc.Arbitrary<AccountPositions> = fc.record({
  institution: fc.constantFrom('Questrade', 'Wealthsimple', 'Alpaca', 'Schwab'),
  currency: fc.constantFrom('USD', 'CAD'),
  asOf: fc.constantFrom(...TIMES),
  positions: fc.array(positionArb, { maxLength: 6 }),
  balances: fc.uniqueArray(
    fc.record({ currency: fc.constantFrom('USD', 'CAD', 'EUR'), cash: money }),
    { maxLength: 3, selector: (b) => b.currency },
  ),
});

export const accountsArb: fc.Arbitrary<Map<string, AccountPositions>> = fc
  .uniqueArray(fc.tuple(fc.constantFrom(...ACCOUNT_IDS), accountArb), { maxLength: 4, selector: ([id]) => id })
  .map((entries) => new Map(entries));

export const quoteArb: fc.Arbitrary<PriceQuote> = fc
  .record({ price: money, asOf: fc.constantFrom(...TIMES), previousClose: maybe(money) })
  .map(({ price, asOf, previousClose }) => (previousClose === undefined ? { price, asOf } : { price, asOf, previousClose }));

export const pricesArb: fc.Arbitrary<Map<string, PriceQuote>> = fc
  .uniqueArray(fc.tuple(fc.constantFrom(...PRICE_KEYS), quoteArb), { maxLength: 6, selector: ([key]) => key })
  .map((entries) => new Map(entries));

/** FX tables: complete, without EUR, only cross through USD, or empty. */
export const fxArb: fc.Arbitrary<FxTable> = fc.constantFrom(
  createFxTable([
    { from: 'USD', to: 'CAD', rate: '1.37' },
    { from: 'EUR', to: 'USD', rate: '1.08' },
  ]),
  createFxTable([{ from: 'USD', to: 'CAD', rate: '1.25' }]),
  createFxTable([
    { from: 'CAD', to: 'USD', rate: '0.73' },
    { from: 'USD', to: 'EUR', rate: '0.92' },
    { from: 'CAD', to: 'EUR', rate: '0.67' },
  ]),
  createFxTable([]),
);

export const baseCurrencyArb = fc.constantFrom('USD', 'CAD', 'EUR');
