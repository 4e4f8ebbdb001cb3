import { describe, expect, it } from 'vitest';
import { createFxTable } from '../../src/portfolio/currency.ts';
import { convertAtDayRate, createDatedFx } from '../../src/portfolio/dated-fx.ts';
import { realizedIn, trade } from './return-scenarios.ts';

/*
 * A USD portfolio with a CAD account holding XIU (listed in CAD). Stored rates USD -> CAD: 1.25 on
 * 03-02, 1.60 on 03-04, 2.00 on 03-05 (today).
 *
 *   03-02  buy 10 XIU @ 30 CAD     cost 300 CAD
 *   03-04  sell 10 XIU @ 34 CAD    realized 340 - 300 = 40 CAD, at that day's 1.60 = 25 USD
 *
 * At the purchase day's 1.25 it would be 32 USD, at today's 2.00 20 USD. A sale older than every
 * stored day (02-27) goes at today's rate, as a deposit does: 40 CAD / 2.00 = 20 USD.
 */
describe('a CAD sale counts at the rate of its day', () => {
  const dated = createDatedFx([
    { day: '2026-03-02', from: 'USD', to: 'CAD', rate: '1.25' },
    { day: '2026-03-04', from: 'USD', to: 'CAD', rate: '1.60' },
    { day: '2026-03-05', from: 'USD', to: 'CAD', rate: '2.00' },
  ]);
  const today = createFxTable([{ from: 'USD', to: 'CAD', rate: '2.00' }]);
  const toBase = convertAtDayRate(dated, 'USD', today);

  it('40 CAD realized on 03-04 is 40 / 1.60 = 25 USD', () => {
    const trades = [trade('cad', 'buy', 'XIU', '2026-03-02T15:00:00Z', '10', '30', 'CAD'), trade('cad', 'sell', 'XIU', '2026-03-04T15:00:00Z', '10', '34', 'CAD')];
    expect(realizedIn(trades, { from: '2026-03-01T00:00:00Z', to: '2026-03-05T21:00:00Z' }, { toBase })).toEqual({ pl: '25', sells: 1, notValued: 0 });
  });

  it('a sale older than every stored rate counts at today’s: 40 / 2.00 = 20 USD', () => {
    const trades = [trade('cad', 'buy', 'XIU', '2026-02-20T15:00:00Z', '10', '30', 'CAD'), trade('cad', 'sell', 'XIU', '2026-02-27T15:00:00Z', '10', '34', 'CAD')];
    expect(realizedIn(trades, { from: '2026-02-01T00:00:00Z', to: '2026-03-05T21:00:00Z' }, { toBase })).toEqual({ pl: '20', sells: 1, notValued: 0 });
  });

  it('without any rate to the base currency the sale is counted in notValued, not guessed at 1.0', () => {
    const trades = [trade('cad', 'buy', 'XIU', '2026-03-02T15:00:00Z', '10', '30', 'CAD'), trade('cad', 'sell', 'XIU', '2026-03-04T15:00:00Z', '10', '34', 'CAD')];
    expect(realizedIn(trades, { from: '2026-03-01T00:00:00Z', to: '2026-03-05T21:00:00Z' })).toEqual({ pl: '0', sells: 1, notValued: 1 });
  });
});
