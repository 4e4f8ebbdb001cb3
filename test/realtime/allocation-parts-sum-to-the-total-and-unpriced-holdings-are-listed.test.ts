import { describe, expect, it } from 'vitest';
import { holdingView, totalsView } from '../../actors/portfolio/portfolio-views.ts';
import { aggregateHoldings } from '../../src/portfolio/aggregate-holdings.ts';
import { fxTableFromSnapTrade } from '../../src/portfolio/currency.ts';
import { accountCashBase } from '../../src/portfolio/portfolio-totals.ts';
import { normalizeSnapTradeAccount } from '../../src/portfolio/normalize-snaptrade.ts';
import { computeAllocation, type Allocation, type AllocationDimension } from '../../src/realtime/client/allocation.ts';
import { snapBalance, snapPosition, snapPositionsBody, snapRate } from '../portfolio/provider-payloads.ts';

/*
 * Base USD; only USD -> CAD 1.25 is published, so CAD -> USD is 0.8; no rate for EUR.
 *
 * TFSA (Wealthsimple, CAD): SHOP.TO 50 @ 105.41 CAD; cash 1,000 CAD -> 800 USD
 * Margin (Questrade, USD): SHOP.TO 71 @ 105.41 CAD, AAPL 10 @ 190.25, VTI (an ETF) 5 @ 250,
 *   SWVXX (a money-market fund, cash equivalent) 1,000 @ 1, XYZ 10 without a price,
 *   SAP 10 @ 120 EUR (no EUR rate); cash 1,500 USD of which the fund is 1,000 -> 500 USD, and
 *   100 EUR (no rate: the account has no cash in the base, the totals count its 500 USD)
 *
 * SHOP  121 x 105.41 = 12,754.61 CAD x 0.8 = 10,203.688 USD; by account 71 x 105.41 x 0.8 =
 *       5,987.288 (Margin) and 50 x 105.41 x 0.8 = 4,216.4 (TFSA), summing to it exactly
 * AAPL  1,902.50    VTI 1,250    SWVXX 1,000    cash 800 + 500 = 1,300
 * total 10,203.688 + 1,902.5 + 1,250 + 1,000 + 1,300 = 15,656.188
 *
 * by asset class: stocks 10,203.688 + 1,902.5 = 12,106.188; ETFs 1,250; cash equivalents 1,000; cash 1,300
 * by account:     Margin 5,987.288 + 1,902.5 + 1,250 + 1,000 = 10,139.788 (its cash unknown in USD);
 *                 TFSA 4,216.4 + its cash 800 = 5,016.4; the cash no account accounts for 1,300 - 800 = 500
 * by currency:    CAD 10,203.688; USD 1,902.5 + 1,250 + 1,000 = 4,152.50; cash 1,300
 * XYZ (no price) and SAP (no rate) are in no part, listed as unpriced with why.
 */
const fx = fxTableFromSnapTrade([snapRate('USD', 'CAD', 1.25)]);
const shop = { id: '7c1f6a1e-3c49-4f0e-9d7e-2b0b9a5f0c01', symbol: 'SHOP.TO', raw_symbol: 'SHOP', currency: 'CAD', exchange: 'XTSE', description: 'Shopify Inc.' };
const tfsa = normalizeSnapTradeAccount({
  positions: snapPositionsBody('2026-06-02T15:00:00Z', [snapPosition(shop, { units: '50', price: '105.41' })]),
  balances: [snapBalance('CAD', 1000)],
});
const margin = normalizeSnapTradeAccount({
  positions: snapPositionsBody('2026-06-02T15:00:00Z', [
    snapPosition(shop, { units: '71', price: '105.41' }),
    snapPosition({ id: '1ef3a5d3-4a9b-40b2-b8d1-cc35f74d6324', symbol: 'AAPL', currency: 'USD', exchange: 'XNAS', description: 'Apple Inc.' }, { units: '10', price: '190.25' }),
    snapPosition({ id: '2b1c5e0a-9d7e-4c1b-8a4f-0c2e6f1d3a55', symbol: 'VTI', currency: 'USD', exchange: 'ARCX', kind: 'etf' }, { units: '5', price: '250' }),
    snapPosition({ id: '3c2d6f1b-0e8f-4d2c-9b5a-1d3f7a2e4b66', symbol: 'SWVXX', currency: 'USD', exchange: 'XNAS', kind: 'mutualfund' }, { units: '1000', price: '1', cash_equivalent: true }),
    snapPosition({ id: '4d3e7a2c-1f9a-4e3d-8c6b-2e4a8b3f5c77', symbol: 'XYZ', currency: 'USD', exchange: 'XNYS' }, { units: '10', price: null }),
    snapPosition({ id: '5e4f8b3d-2a0b-4f4e-9d7c-3f5b9c4a6d88', symbol: 'SAP', currency: 'EUR', exchange: 'XETR' }, { units: '10', price: '120' }),
  ]),
  balances: [snapBalance('USD', 1500), snapBalance('EUR', 100)],
});
const state = aggregateHoldings(
  new Map([
    ['acc-tfsa', { institution: 'Wealthsimple', currency: 'CAD', ...tfsa }],
    ['acc-margin', { institution: 'Questrade', currency: 'USD', ...margin }],
  ]),
  { baseCurrency: 'USD', fx },
);
const totals = totalsView(state.totals);
const input = {
  baseCurrency: 'USD',
  holdings: [...state.holdings.values()].map((h) => holdingView(h)),
  cash: totals.cash,
  accounts: [
    { id: 'acc-tfsa', institution: 'Wealthsimple', name: 'TFSA', cashBase: accountCashBase(state.cash.get('acc-tfsa')) },
    { id: 'acc-margin', institution: 'Questrade', name: 'Margin', cashBase: accountCashBase(state.cash.get('acc-margin')) },
  ],
};
const parts = (allocation: Allocation) => allocation.parts.map((p) => [p.label, p.value]);

describe('allocation of a portfolio in USD with a CAD holding in two accounts, cash, a fund, an unpriced and an unconvertible holding', () => {
  it('by asset class, account, currency and security, the parts sum to the total value of the totals', () => {
    expect(totals.totalValue).toBe('15656.188');
    for (const dimension of ['assetClass', 'account', 'currency', 'security'] satisfies AllocationDimension[]) {
      const allocation = computeAllocation(input, dimension);
      expect(allocation.total, dimension).toBe(totals.totalValue);
    }
    expect(parts(computeAllocation(input, 'assetClass'))).toEqual([
      ['Stocks', '12106.188'],
      ['Cash', '1300'],
      ['ETFs', '1250'],
      ['Cash equivalents', '1000'],
    ]);
    expect(parts(computeAllocation(input, 'account'))).toEqual([
      ['Questrade · Margin', '10139.788'],
      ['Wealthsimple · TFSA', '5016.4'],
      ['Cash of accounts with an unconverted balance', '500'],
    ]);
    expect(parts(computeAllocation(input, 'currency'))).toEqual([
      ['CAD', '10203.688'],
      ['USD', '4152.5'],
      ['Cash (all currencies)', '1300'],
    ]);
    expect(parts(computeAllocation(input, 'security')).map(([label]) => label)).toEqual(['SHOP · Shopify Inc.', 'AAPL · Apple Inc.', 'Cash', 'VTI', 'SWVXX']);
  });

  it('lists the holding without a price and the one without a rate as unpriced, in no part', () => {
    for (const dimension of ['assetClass', 'account', 'currency', 'security'] satisfies AllocationDimension[]) {
      const allocation = computeAllocation(input, dimension);
      expect(allocation.unpriced, dimension).toEqual([
        { id: expect.any(String), symbol: 'SAP', reason: 'no-fx-rate' },
        { id: expect.any(String), symbol: 'XYZ', reason: 'no-price' },
      ]);
      expect(allocation.parts.some((p) => /SAP|XYZ/.test(p.label))).toBe(false);
    }
  });

  it("gives each part its share of the total, and says when the state has no cash figure", () => {
    const byClass = computeAllocation(input, 'assetClass');
    // 1,250 / 15,656.188 = 0.079840635536568671760... (Python's decimal), kept to 20 places.
    expect(byClass.parts.find((p) => p.key === 'etf')?.fraction).toBe('0.07984063553656867176');
    const withoutCash = computeAllocation({ ...input, cash: null }, 'currency');
    expect(withoutCash.cashUnknown).toBe(true);
    expect(withoutCash.total).toBe('14356.188');
    expect(withoutCash.parts.map((p) => p.key)).toEqual(['CAD', 'USD']);
  });
});
