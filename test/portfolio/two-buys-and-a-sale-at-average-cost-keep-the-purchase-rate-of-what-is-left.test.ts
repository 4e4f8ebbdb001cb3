import { describe, expect, it } from 'vitest';
import { add, dec, str } from '../../src/portfolio/decimal.ts';
import { cadUsdOn, costOf, todayCadUsd, trade, xiuHolding } from './purchase-cost-scenarios.ts';

/*
 * A USD portfolio; XIU (CAD) in one account, CAD -> USD stored on each trade day.
 *
 *   01-10 buy 10 at 20 CAD   lot 200 CAD at 0.80 = 160 USD     open: 10 units, 200 CAD, 160 USD
 *   02-10 buy 10 at 30 CAD   lot 300 CAD at 0.75 = 225 USD     open: 20 units, 500 CAD, 385 USD
 *   03-10 sell 10            average cost: half of every lot   open: 10 units, 250 CAD, 192.5 USD
 *   04-10 buy 10 at 25 CAD   lot 250 CAD at 0.70 = 175 USD     open: 20 units, 500 CAD, 367.5 USD
 *
 * The brokerage reports 20 units at an average cost of 25 CAD (500 CAD, the lots' cost). Today:
 * price 28 CAD, CAD -> USD 0.72.
 *   cost at the purchase days' rates   367.5 USD   (FIFO would have sold the first lot: 400)
 *   value                               20 x 28 = 560 CAD x 0.72 = 403.2 USD
 *   price gain                          (560 - 500) x 0.72 = 43.2 USD
 *   currency gain                       500 x 0.72 - 367.5 = -7.5 USD
 *   P/L                                 403.2 - 367.5 = 35.7 = 43.2 - 7.5
 *
 * A brokerage that counts a fee in its cost (25.10 a unit: 502 CAD) gets its own cost at the lots'
 * purchase rate 367.5 / 500: 502 x 367.5 / 500 = 368.97 USD, currency gain 502 x 0.72 - 368.97 = -7.53.
 */
describe('two buys and a sale at average cost keep the purchase rate of what is left', () => {
  const fx = todayCadUsd('0.72');
  const trades = {
    rrsp: [
      trade('sell', '2026-03-10T15:00:00Z', '-10', '27'),
      trade('buy', '2026-02-10T15:00:00Z', '10', '30'),
      trade('buy', '2026-04-10T15:00:00Z', '10', '25'),
      trade('buy', '2026-01-10T15:00:00Z', '10', '20'),
    ],
  };
  const daily = [cadUsdOn('2026-01-10', '0.80'), cadUsdOn('2026-02-10', '0.75'), cadUsdOn('2026-04-10', '0.70'), cadUsdOn('2026-06-01', '0.72')];

  it('costs 367.5 USD: the sale took half of each earlier lot', () => {
    const holding = xiuHolding([{ accountId: 'rrsp', units: '20', price: '28', averageCost: '25' }], fx);
    const cost = costOf(holding, trades, fx, daily);
    expect(cost).toEqual({ costBasisFx: 'purchase-date', costBasisBase: '367.5', currencyGainBase: '-7.5', unexplained: {} });
    expect(holding.base).toMatchObject({ marketValue: '403.2', unrealizedPnl: '43.2' });
    expect(str(add(dec(holding.base.unrealizedPnl!), dec(cost.currencyGainBase!)))).toBe('35.7');
  });

  it('takes the brokerage’s cost at the lots’ purchase rate when the two differ', () => {
    const holding = xiuHolding([{ accountId: 'rrsp', units: '20', price: '28', averageCost: '25.10' }], fx);
    expect(costOf(holding, trades, fx, daily)).toMatchObject({ costBasisFx: 'purchase-date', costBasisBase: '368.97', currencyGainBase: '-7.53' });
  });
});
