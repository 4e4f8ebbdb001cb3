import { describe, expect, it } from 'vitest';
import { add, dec, str } from '../../src/portfolio/decimal.ts';
import { cadUsdOn, costOf, todayCadUsd, trade, xiuHolding } from './purchase-cost-scenarios.ts';

/*
 * A USD portfolio. 10 XIU (TSX, CAD) bought on 2026-01-15 at 30 CAD, when a Canadian dollar was
 * worth 0.80 USD; today it is worth 0.70 and XIU trades at 33 CAD.
 *
 *   cost          10 x 30 = 300 CAD; at the purchase day's 0.80 = 240 USD (at today's 0.70: 210)
 *   value today   10 x 33 = 330 CAD x 0.70 = 231 USD
 *   P/L           231 - 240 = -9 USD, of which
 *     price gain     (330 - 300) CAD x 0.70 = +21 USD  (XIU rose 10 %)
 *     currency gain  300 x 0.70 - 240       = -30 USD  (the CAD fell 12.5 %)
 * Valued at today's rate alone the cost would be 210 and the P/L +21: the fall of the CAD hidden.
 */
describe('a CAD stock bought when the CAD was stronger shows a currency loss', () => {
  const fx = todayCadUsd('0.70');
  const holding = xiuHolding([{ accountId: 'tfsa', units: '10', price: '33', averageCost: '30' }], fx);
  const cost = costOf(holding, { tfsa: [trade('buy', '2026-01-15T15:00:00Z', '10', '30')] }, fx, [cadUsdOn('2026-01-15', '0.80'), cadUsdOn('2026-06-01', '0.70')]);

  it('costs 240 USD at the rate of its purchase day, not 210 at today’s', () => {
    expect(holding.base).toMatchObject({ marketValue: '231', costBasis: '210', unrealizedPnl: '21' });
    expect(cost).toEqual({ costBasisFx: 'purchase-date', costBasisBase: '240', currencyGainBase: '-30', unexplained: {} });
  });

  it('splits the -9 USD P/L into +21 of price and -30 of currency', () => {
    const total = add(dec(holding.base.unrealizedPnl!), dec(cost.currencyGainBase!));
    expect(str(total)).toBe('-9');
    expect(str(dec(holding.base.marketValue!).minus(dec(cost.costBasisBase!)))).toBe('-9');
  });
});
