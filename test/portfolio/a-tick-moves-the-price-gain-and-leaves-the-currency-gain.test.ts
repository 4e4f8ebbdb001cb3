import { describe, expect, it } from 'vitest';
import { holdingView, repricingView } from '../../actors/portfolio/portfolio-views.ts';
import { aggregateHoldings } from '../../src/portfolio/aggregate-holdings.ts';
import { holdingPriceText, holdingPriceTextOf } from '../../src/portfolio/reprice.ts';
import { applyLiveQuote, quoteAt } from '../../src/portfolio/valuation.ts';
import { applyRepricing } from '../../src/realtime/events.ts';
import { cadUsdOn, costOf, todayCadUsd, trade, XIU } from './purchase-cost-scenarios.ts';
import { normalizeSnapTradeAccount } from '../../src/portfolio/normalize-snaptrade.ts';
import { snapPosition, snapPositionsBody } from './provider-payloads.ts';

/*
 * The XIU of "a CAD stock bought when the CAD was stronger" on the wire: 10 units bought at 30 CAD
 * when CAD -> USD was 0.80, today 0.70, price 33.
 *   purchaseFx: purchase-date, cost 240 USD, currency gain -30, price gain 21, P/L -9
 * A live tick to 34 CAD: price gain (340 - 300) x 0.70 = 28; the currency gain stays -30 (the cost
 * and the rates did not move); P/L 28 - 30 = -2 = 340 x 0.70 - 240.
 */
describe('a tick moves the price gain and leaves the currency gain', () => {
  const fx = todayCadUsd('0.70');
  const data = normalizeSnapTradeAccount({
    positions: snapPositionsBody('2026-06-02T15:00:00Z', [snapPosition(XIU, { units: '10', price: '33', cost_basis: '30' })]),
    balances: [],
  });
  const state = aggregateHoldings(new Map([['tfsa', { institution: 'Questrade', currency: 'CAD', ...data }]]), { baseCurrency: 'USD', fx });
  const key = [...state.holdings.keys()][0]!;
  const cost = costOf(state.holdings.get(key)!, { tfsa: [trade('buy', '2026-01-15T15:00:00Z', '10', '30')] }, fx, [cadUsdOn('2026-01-15', '0.80')]);
  const view = holdingView(state.holdings.get(key)!, cost);

  it('sends the cost at the purchase day’s rate and the split of the P/L', () => {
    expect(view.unrealizedPlBase).toBe('21');
    expect(view.purchaseFx).toEqual({ costBasisFx: 'purchase-date', costBasisBase: '240', currencyGainBase: '-30', priceGainBase: '21', plBase: '-9', atTodaysRate: [] });
  });

  it('moves the price gain and the P/L with a repricing, not the currency gain', () => {
    const text = applyLiveQuote(state, key, quoteAt(34, Date.parse('2026-06-02T15:01:00Z')))!;
    const repriced = applyRepricing(view, repricingView(holdingPriceTextOf(text ?? holdingPriceText(state.holdings.get(key)!))))!;
    expect(repriced.unrealizedPlBase).toBe('28');
    expect(repriced.purchaseFx).toEqual({ costBasisFx: 'purchase-date', costBasisBase: '240', currencyGainBase: '-30', priceGainBase: '28', plBase: '-2', atTodaysRate: [] });
  });

  it('goes without it when the actor sends the holding (no activities read there)', () => {
    expect(holdingView(state.holdings.get(key)!)).not.toHaveProperty('purchaseFx');
  });
});
