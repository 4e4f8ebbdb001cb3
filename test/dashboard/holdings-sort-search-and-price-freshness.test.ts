import { describe, expect, it } from 'vitest';
import type { HoldingView } from '../../src/realtime/events.ts';
import {
  basePrice,
  LIVE_WITHIN_MS,
  matchesSearch,
  nextSort,
  priceFreshness,
  sortHoldings,
} from '../../src/realtime/dashboard/browser/holdings-model.ts';

/** The holdings table's pure part (holdings-model.ts): what a header click sorts by, what the search keeps, how fresh a price is called. */

const NOW = Date.parse('2026-06-02T15:00:00Z');

function holding(symbol: string, fields: Partial<HoldingView> = {}): HoldingView {
  return {
    id: `listing:${symbol}`,
    symbol,
    description: null,
    currency: 'USD',
    assetClass: 'equity',
    quantity: '1',
    price: '1',
    priceAsOf: new Date(NOW).toISOString(),
    priceSource: 'market',
    priceStale: false,
    marketValue: '1',
    marketValueBase: '1',
    costBasis: null,
    unrealizedPl: null,
    dayChange: null,
    unrealizedPlBase: null,
    dayChangeBase: null,
    dayChangeMissing: null,
    positionsAsOf: null,
    accounts: [],
    ...fields,
  } as HoldingView;
}

// SHOP is listed in CAD: in the USD portfolio its value is 8,432 USD although its CAD value (10,540) is larger than MSFT's.
const SHOP = holding('SHOP', { description: 'Shopify Inc.', currency: 'CAD', quantity: '100', price: '105.40', marketValue: '10540', marketValueBase: '8432', unrealizedPlBase: '2032', dayChangeBase: '-40' });
const MSFT = holding('MSFT', { description: 'Microsoft Corporation', quantity: '20', price: '450', marketValue: '9000', marketValueBase: '9000', unrealizedPlBase: '1000', dayChangeBase: '12.5' });
const AAPL = holding('AAPL', { description: 'Apple Inc.', quantity: '5', price: '200', marketValue: '1000', marketValueBase: '1000', unrealizedPlBase: null, dayChangeBase: '3' });
// No rate CAD -> USD for this one: its base figures are unknown.
const TD = holding('TD', { description: 'Toronto-Dominion Bank', currency: 'CAD', marketValueBase: null, dayChangeMissing: 'no-fx-rate' });
const symbols = (list: HoldingView[]) => list.map((h) => h.symbol);

describe('sorting the holdings', () => {
  const all = [AAPL, TD, SHOP, MSFT];

  it('sorts amounts in the base currency, so a CAD holding ranks by its USD value; unknown values last both ways', () => {
    expect(symbols(sortHoldings(all, { key: 'value', direction: 'descending' }))).toEqual(['MSFT', 'SHOP', 'AAPL', 'TD']);
    expect(symbols(sortHoldings(all, { key: 'value', direction: 'ascending' }))).toEqual(['AAPL', 'SHOP', 'MSFT', 'TD']);
    expect(symbols(sortHoldings(all, { key: 'day', direction: 'ascending' }))).toEqual(['SHOP', 'AAPL', 'MSFT', 'TD']);
    expect(symbols(sortHoldings(all, { key: 'pl', direction: 'descending' }))).toEqual(['SHOP', 'MSFT', 'AAPL', 'TD']);
    // Price in USD: SHOP 84.32, MSFT 450, AAPL 200.
    expect(symbols(sortHoldings(all, { key: 'price', direction: 'descending' }))).toEqual(['MSFT', 'AAPL', 'SHOP', 'TD']);
    expect(basePrice(SHOP)).toBeCloseTo(84.32, 10);
  });

  it('sorts symbols A to Z first, amounts largest first, and a second click on a column flips it', () => {
    expect(symbols(sortHoldings(all, { key: 'symbol', direction: 'ascending' }))).toEqual(['AAPL', 'MSFT', 'SHOP', 'TD']);
    const byValue = nextSort({ key: 'symbol', direction: 'ascending' }, 'value');
    expect(byValue).toEqual({ key: 'value', direction: 'descending' });
    expect(nextSort(byValue, 'value')).toEqual({ key: 'value', direction: 'ascending' });
    expect(nextSort(byValue, 'symbol')).toEqual({ key: 'symbol', direction: 'ascending' });
  });

  it('leaves its input as it was', () => {
    const input = [AAPL, MSFT];
    sortHoldings(input, { key: 'value', direction: 'descending' });
    expect(symbols(input)).toEqual(['AAPL', 'MSFT']);
  });
});

describe('searching the holdings', () => {
  it('keeps holdings whose symbol or name has every word, whatever the case or accents', () => {
    expect(matchesSearch(SHOP, 'shop')).toBe(true);
    expect(matchesSearch(MSFT, 'micro')).toBe(true);
    expect(matchesSearch(MSFT, 'MICROSOFT corp')).toBe(true);
    expect(matchesSearch(MSFT, 'microsoft apple')).toBe(false);
    expect(matchesSearch(holding('BNP', { description: 'Société Générale' }), 'societe')).toBe(true);
    expect(matchesSearch(AAPL, '   ')).toBe(true);
    expect(matchesSearch(AAPL, 'shop')).toBe(false);
  });
});

describe("a price's freshness", () => {
  const at = (msAgo: number) => new Date(NOW - msAgo).toISOString();

  it('is live while the market feed ticked in the last two minutes, delayed after, with its time', () => {
    expect(priceFreshness(holding('A', { priceAsOf: at(5_000) }), NOW)).toEqual({ kind: 'live', at: at(5_000) });
    expect(priceFreshness(holding('A', { priceAsOf: at(LIVE_WITHIN_MS) }), NOW).kind).toBe('live');
    expect(priceFreshness(holding('A', { priceAsOf: at(LIVE_WITHIN_MS + 1) }), NOW)).toEqual({ kind: 'delayed', at: at(LIVE_WITHIN_MS + 1) });
  });

  it("calls the brokerage's price of a listing without a feed stale, a covered one not yet ticked delayed, and no price none", () => {
    expect(priceFreshness(holding('SHOP', { priceSource: 'brokerage', priceStale: true, priceAsOf: at(1_000) }), NOW)).toEqual({ kind: 'stale', at: at(1_000) });
    expect(priceFreshness(holding('MSFT', { priceSource: 'brokerage', priceAsOf: at(1_000) }), NOW).kind).toBe('delayed');
    expect(priceFreshness(holding('X', { price: null, priceSource: null, priceAsOf: null }), NOW)).toEqual({ kind: 'none', at: null });
  });
});
