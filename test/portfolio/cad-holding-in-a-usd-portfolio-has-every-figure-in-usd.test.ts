import { describe, expect, it } from 'vitest';
import { holdingView, repricingView } from '../../actors/portfolio/portfolio-views.ts';
import { aggregateHoldings } from '../../src/portfolio/aggregate-holdings.ts';
import { fxTableFromSnapTrade } from '../../src/portfolio/currency.ts';
import { normalizeSnapTradeAccount } from '../../src/portfolio/normalize-snaptrade.ts';
import { accountCashBase } from '../../src/portfolio/portfolio-totals.ts';
import { applyLiveQuote, quoteAt, settlePrices } from '../../src/portfolio/valuation.ts';
import { applyRepricing } from '../../src/realtime/events.ts';
import { holdingPriceTextOf } from '../../src/portfolio/reprice.ts';
import { snapBalance, snapPosition, snapPositionsBody, snapRate } from './provider-payloads.ts';

/*
 * SHOP on the TSX (listed in CAD) held in two CAD accounts; the user's base currency is USD.
 * Only USD -> CAD 1.25 is published, so CAD -> USD is 1 / 1.25 = 0.8 exactly.
 *
 * TFSA 100 units at a cost of 80 CAD, RRSP 60 units at 90 CAD. A live tick: 110 CAD, previous close 100 CAD.
 *   market value  CAD 160 x 110            = 17600 -> USD 14080
 *   cost basis    CAD 100 x 80 + 60 x 90   = 13400 -> USD 10720
 *   unrealized    CAD 17600 - 13400        =  4200 -> USD  3360
 *   day change    CAD 160 x (110 - 100)    =  1600 -> USD  1280
 *   TFSA's share  CAD 100 x 110 = 11000 -> USD 8800;  RRSP's CAD 60 x 110 = 6600 -> USD 5280
 * Cash: TFSA 1000 CAD -> 800 USD; RRSP 250 CAD + 40 USD -> 200 + 40 = 240 USD; a EUR balance with no rate -> unknown.
 */
const SHOP = { id: '7c1f6a1e-3c49-4f0e-9d7e-2b0b9a5f0c01', symbol: 'SHOP.TO', raw_symbol: 'SHOP', currency: 'CAD', exchange: 'XTSE' };
const ASOF = '2026-06-02T15:00:00Z';

function account(units: string, cost: string, balances: Record<string, unknown>[]) {
  const data = normalizeSnapTradeAccount({
    positions: snapPositionsBody(ASOF, [snapPosition(SHOP, { units, price: '105.40', cost_basis: cost })]),
    balances,
  });
  return { institution: 'Wealthsimple', currency: 'CAD', ...data };
}

describe('a CAD holding in a USD portfolio', () => {
  const state = aggregateHoldings(
    new Map([
      ['acc-rrsp', account('60', '90', [snapBalance('CAD', 250), snapBalance('USD', 40)])],
      ['acc-tfsa', account('100', '80', [snapBalance('CAD', 1000)])],
    ]),
    { baseCurrency: 'USD', fx: fxTableFromSnapTrade([snapRate('USD', 'CAD', 1.25)]) },
  );
  const key = [...state.holdings.keys()][0]!;
  const before = holdingView(state.holdings.get(key)!);
  // The tick takes the fast path (newer than every other price, in the listing currency).
  const text = applyLiveQuote(state, key, quoteAt(110, Date.parse('2026-06-02T15:01:00Z'), 100))!;
  settlePrices(state);
  const view = holdingView(state.holdings.get(key)!);

  it('sends value, P/L and day change in USD beside the CAD listing figures', () => {
    expect(view).toMatchObject({
      currency: 'CAD',
      price: '110',
      marketValue: '17600',
      unrealizedPl: '4200',
      dayChange: '1600',
      marketValueBase: '14080',
      unrealizedPlBase: '3360',
      dayChangeBase: '1280',
      dayChangeMissing: null,
    });
  });

  it("values each account's share in USD", () => {
    expect(view.accounts.map((a) => [a.accountId, a.marketValue, a.marketValueBase])).toEqual([
      ['acc-rrsp', '6600', '5280'],
      ['acc-tfsa', '11000', '8800'],
    ]);
  });

  it('a tick sent as a repricing gives the client the same holding as the full view', () => {
    // (A repricing comes from the market feed, so it marks the price live; the feed has no TSX
    // listings, so the full view calls SHOP's price stale: the one field this made-up tick cannot agree on.)
    expect({ ...applyRepricing(before, repricingView(holdingPriceTextOf(text)))!, priceStale: view.priceStale }).toEqual(view);
  });

  it("sums each account's cash in USD, and says unknown rather than a partial sum", () => {
    expect(accountCashBase(state.cash.get('acc-tfsa'))).toBe('800');
    expect(accountCashBase(state.cash.get('acc-rrsp'))).toBe('240');
    expect(accountCashBase([{ accountId: 'x', currency: 'EUR', amount: '10', baseAmount: null, buyingPower: null }, ...state.cash.get('acc-tfsa')!])).toBeNull();
    expect(accountCashBase(undefined)).toBeNull();
  });
});
