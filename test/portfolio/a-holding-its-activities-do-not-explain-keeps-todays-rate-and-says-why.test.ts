import { describe, expect, it } from 'vitest';
import { cadUsdOn, costOf, todayCadUsd, trade, xiuHolding } from './purchase-cost-scenarios.ts';

/*
 * XIU (CAD) in a USD portfolio, today CAD -> USD 0.70, price 33; stored: 0.80 on 2026-01-15.
 *
 *   tfsa   10 units, cost 30: one buy of 10 at 30 on 01-15      explained: 300 x 0.80 = 240 USD, currency gain 300 x 0.70 - 240 = -30
 *   margin  5 units, cost 30: one buy of 3 known (the rest was bought before the fetched history)
 *          not explained ('units-differ'): 150 CAD at today's 0.70 = 105 USD, no currency gain
 *
 *   holding: 'partial', cost 240 + 105 = 345 USD, currency gain -30 (the tfsa's only)
 *   margin alone: 'current', cost 105, currency gain null (unknown, not zero)
 *   a split of the security, a buy on a day before any stored rate, a sale of more than was held:
 *   each leaves the account at today's rate, with its reason.
 */
describe('a holding its activities do not explain keeps today’s rate and says why', () => {
  const fx = todayCadUsd('0.70');
  const daily = [cadUsdOn('2026-01-15', '0.80')];
  const tfsa = { accountId: 'tfsa', units: '10', price: '33', averageCost: '30' };
  const margin = { accountId: 'margin', units: '5', price: '33', averageCost: '30' };
  const trades = { tfsa: [trade('buy', '2026-01-15T15:00:00Z', '10', '30')], margin: [trade('buy', '2026-02-15T15:00:00Z', '3', '30')] };

  it('is partial across an explained account and one whose quantity the activities do not reach', () => {
    expect(costOf(xiuHolding([tfsa, margin], fx), trades, fx, daily)).toEqual({
      costBasisFx: 'partial',
      costBasisBase: '345',
      currencyGainBase: '-30',
      unexplained: { margin: 'units-differ' },
    });
  });

  it('is current, with no currency gain, when no account is explained', () => {
    expect(costOf(xiuHolding([margin], fx), trades, fx, daily)).toEqual({
      costBasisFx: 'current',
      costBasisBase: '105',
      currencyGainBase: null,
      unexplained: { margin: 'units-differ' },
    });
  });

  it('names a split, a purchase older than every stored rate and a sale of more than was held', () => {
    const holding = xiuHolding([tfsa], fx);
    const reason = (list: ReturnType<typeof trade>[]) => costOf(holding, { tfsa: list }, fx, daily).unexplained['tfsa'];
    expect(reason([trade('buy', '2026-01-15T15:00:00Z', '5', '60'), trade('split', '2026-03-01T12:00:00Z', '5')])).toBe('split-or-transfer');
    expect(reason([trade('buy', '2025-12-31T15:00:00Z', '10', '30')])).toBe('no-rate-on-trade-date');
    expect(reason([trade('buy', '2026-01-15T15:00:00Z', '10', '30'), trade('sell', '2026-01-16T15:00:00Z', '-11', '31')])).toBe('sold-more-than-held');
    expect(reason([])).toBe('no-buys');
  });
});
