import { describe, expect, it } from 'vitest';
import { isTradeOf } from '../../src/portfolio/purchase-cost.ts';
import { todayCadUsd, XIU, xiuHolding } from './purchase-cost-scenarios.ts';

/*
 * XIU on the TSX, as SnapTrade reports it: the position's instrument has a FIGI (so the holding's
 * key is figi:BBG00MMY7GT8) and the universal symbol id 5b0d3c7e-...; its ticker is XIU. Its BUY
 * activity names the same universal symbol id and the ticker with the exchange's suffix, XIU.TO.
 *   id of the holding (any case), ticker XRB       the holding's trade (by the id, a facet of the holding)
 *   an id the holding lost (read from Postgres under its FIGI), ticker XIU.TO
 *                                                  the holding's trade (XTSE's suffix .TO)
 *   no id, ticker XIU (an Alpaca-style activity)   the holding's trade (by the ticker)
 *   no id, ticker XIU.V or XIUX                    not matched: another venue's suffix, another ticker
 */
describe('a SnapTrade buy is matched to its holding by symbol id or its venue’s suffixed ticker', () => {
  const holding = xiuHolding([{ accountId: 'tfsa', units: '10', price: '33', averageCost: '30' }], todayCadUsd('0.70'));

  it('finds the holding by the universal symbol id even when its key is the FIGI', () => {
    expect(holding.identityKey).toBe('figi:BBG00MMY7GT8');
    expect(isTradeOf({ universalSymbolId: XIU.id.toUpperCase(), symbol: 'XRB' }, holding)).toBe(true);
  });

  it('finds it by its ticker with the venue’s suffix when the id is not one of its facets', () => {
    const fromPostgres = { ...holding, facets: holding.facets.filter((f) => !f.startsWith('snaptrade:')) };
    expect(isTradeOf({ universalSymbolId: XIU.id, symbol: 'XIU.TO' }, fromPostgres)).toBe(true);
    expect(isTradeOf({ universalSymbolId: null, symbol: 'xiu' }, fromPostgres)).toBe(true);
    expect(isTradeOf({ universalSymbolId: null, symbol: 'XIU.V' }, fromPostgres)).toBe(false);
    expect(isTradeOf({ universalSymbolId: null, symbol: 'XIUX' }, fromPostgres)).toBe(false);
  });
});
