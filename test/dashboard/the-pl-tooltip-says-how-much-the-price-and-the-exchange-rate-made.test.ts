import { describe, expect, it } from 'vitest';
import { money } from '../../src/realtime/dashboard/browser/format.ts';
import { sortHoldings } from '../../src/realtime/dashboard/browser/holdings-model.ts';
import { plShown, totalsAsShown } from '../../src/realtime/dashboard/browser/pl-split.ts';
import type { HoldingView, PortfolioTotals, PurchaseFxView } from '../../src/realtime/events.ts';

/*
 * The P/L cell of the holdings row and its tooltip (pl-split.ts). XIU (CAD) in a USD portfolio,
 * as in "a CAD stock bought when the CAD was stronger": cost 240 USD at the purchase day's rate,
 * price gain +21, currency gain -30, P/L -9 (-3.75 % of 240). The row shows -9, not the +21 a cost at
 * today's rate would give, and says why in words.
 */
function xiu(purchaseFx: PurchaseFxView | null | undefined): HoldingView {
  return {
    id: 'snaptrade:xiu',
    symbol: 'XIU',
    description: null,
    currency: 'CAD',
    assetClass: 'etf',
    quantity: '10',
    price: '33',
    priceAsOf: '2026-06-02T15:00:00.000Z',
    priceSource: 'brokerage',
    priceStale: true,
    marketValue: '330',
    marketValueBase: '231',
    costBasis: '300',
    unrealizedPl: '30',
    dayChange: null,
    unrealizedPlBase: '21',
    dayChangeBase: null,
    dayChangeMissing: 'no-previous-close',
    positionsAsOf: '2026-06-02T15:00:00.000Z',
    accounts: [],
    ...(purchaseFx === undefined ? {} : { purchaseFx }),
  };
}

const KNOWN: PurchaseFxView = { costBasisFx: 'purchase-date', costBasisBase: '240', currencyGainBase: '-30', priceGainBase: '21', plBase: '-9', atTodaysRate: [] };

describe('the P/L tooltip says how much the price and the exchange rate made', () => {
  it('shows the P/L against the purchase-date cost, and splits it in words', () => {
    const shown = plShown(xiu(KNOWN), 'USD');
    expect(shown.pl).toBe('-9');
    expect(shown.costBase).toBe('240');
    expect(shown.words).toBe(
      `Price gain +${money('21', 'USD')}: what XIU's price in CAD did, at today's CAD → USD rate. ` +
        `Currency gain ${money('-30', 'USD')}: what the CAD did against the USD since the purchases. ` +
        `Cost ${money('240', 'USD')} at the exchange rates of the purchase days.`,
    );
  });

  it('says when the cost is at today’s rate and why the currency gain is not separated', () => {
    const current: PurchaseFxView = {
      costBasisFx: 'current',
      costBasisBase: '210',
      currencyGainBase: null,
      priceGainBase: '21',
      plBase: '21',
      atTodaysRate: [{ accountId: 'tfsa', reason: 'no-rate-on-trade-date' }],
    };
    const shown = plShown(xiu(current), 'USD');
    expect(shown.pl).toBe('21');
    expect(shown.words).toContain(
      `Cost ${money('210', 'USD')} at today's rate, so the currency gain is not separated: no exchange rate is stored for the day of a purchase (rates are kept from the day the engine first ran).`,
    );
    expect(shown.words).not.toContain('Currency gain');
  });

  it('says nothing more without a split (a snapshot not yet read, no cost)', () => {
    expect(plShown(xiu(undefined), 'USD')).toEqual({ pl: '21', costBase: null, words: '' });
    expect(plShown(xiu(null), 'USD')).toEqual({ pl: '21', costBase: null, words: '' });
  });

  it('sorts by the P/L the row shows', () => {
    const other = { ...xiu(undefined), id: 'other', symbol: 'ZZZ', unrealizedPlBase: '0' };
    expect(sortHoldings([other, xiu(KNOWN)], { key: 'pl', direction: 'descending' }).map((h) => h.symbol)).toEqual(['ZZZ', 'XIU']);
  });

  it('makes the header sum what the rows show: cost at the purchase days, P/L with the currency gain', () => {
    // XIU as above beside 10 MSFT in USD (cost 1,000, worth 1,100). The server's totals: costs at
    // today's rate 210 + 1,000, price gains 21 + 100. The rows show -9 and +100; the header +91 on 1,240.
    const msft: HoldingView = { ...xiu(null), id: 'alpaca:msft', symbol: 'MSFT', currency: 'USD', marketValueBase: '1100', costBasis: '1000', unrealizedPlBase: '100' };
    const totals: PortfolioTotals = { totalValue: '1331', cash: '0', invested: '1331', costBasis: '1210', unrealizedPl: '121', dayChange: null, holdingsCount: 2, dayChangeHoldings: 0 };
    expect(totalsAsShown(totals, [xiu(KNOWN), msft])).toEqual({ costBasis: '1240', unrealizedPl: '91', currencyGain: '-30' });
    // Without a known purchase the totals are the server's, untouched.
    expect(totalsAsShown(totals, [xiu(null), msft])).toEqual({ costBasis: '1210', unrealizedPl: '121', currencyGain: '0' });
    expect(totalsAsShown({ ...totals, unrealizedPl: null }, [xiu(KNOWN)]).unrealizedPl).toBeNull();
  });
});
