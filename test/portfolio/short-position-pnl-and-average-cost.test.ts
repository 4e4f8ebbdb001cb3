import { describe, expect, it } from 'vitest';
import { aggregateHoldings } from '../../src/portfolio/aggregate-holdings.ts';
import { EMPTY_FX_TABLE } from '../../src/portfolio/currency.ts';
import { normalizeAlpacaPositions } from '../../src/portfolio/normalize-alpaca.ts';
import { alpacaPosition } from './provider-payloads.ts';

const asOf = '2026-06-02T15:00:00Z';
const fx = EMPTY_FX_TABLE;

describe('short position', () => {
  /*
   * Alpaca short: qty -10, avg entry 50, price 40, previous close 42.
   *   market value = -10 x 40            = -400
   *   cost basis   = -10 x 50            = -500
   *   average cost = -500 / -10          = 50
   *   unrealized   = -400 - (-500)       = +100  (the price fell: a short gains)
   *   day change   = -10 x (40 - 42)     = +20
   */
  it('is negative quantity and value, with a gain when the price falls', () => {
    const positions = normalizeAlpacaPositions([
      alpacaPosition({ symbol: 'TSLA', qty: '-10', side: 'short', avg_entry_price: '50', current_price: '40', lastday_price: '42', exchange: 'NASDAQ' }),
    ]);
    const state = aggregateHoldings(new Map([['alpaca', { institution: 'Alpaca', currency: 'USD', asOf, positions }]]), {
      baseCurrency: 'USD',
      fx,
    });
    expect(state.holdings.get('listing:TSLA@XNAS:USD')).toMatchObject({
      quantity: '-10',
      marketValue: '-400',
      costBasis: '-500',
      averageCost: '50',
      unrealizedPnl: '100',
      dayChange: '20',
    });
    expect(state.totals).toMatchObject({ investedValue: '-400', unrealizedPnl: '100' });
  });

  it('is negated when a provider reports a positive qty with side "short"', () => {
    const [position] = normalizeAlpacaPositions([
      alpacaPosition({ symbol: 'TSLA', qty: '10', side: 'short', avg_entry_price: '50', current_price: '40', lastday_price: '42', exchange: 'NASDAQ' }),
    ]);
    expect(position!.quantity).toBe('-10');
  });

  /*
   * Long 10 @ 100 in one account, short 10 @ 120 in another, price 110:
   *   quantity 0, market value 0, cost basis 1000 - 1200 = -200, average cost: none (0 units)
   *   unrealized = 0 x 110 - (-200) = 200 = long 10 x (110 - 100) + short -10 x (110 - 120) = 100 + 100
   */
  it('nets against a long position elsewhere without losing the P/L', () => {
    const long = normalizeAlpacaPositions([
      alpacaPosition({ symbol: 'TSLA', qty: '10', avg_entry_price: '100', current_price: '110', lastday_price: '110', exchange: 'NASDAQ' }),
    ]);
    const short = normalizeAlpacaPositions([
      alpacaPosition({ symbol: 'TSLA', qty: '-10', side: 'short', avg_entry_price: '120', current_price: '110', lastday_price: '110', exchange: 'NASDAQ' }),
    ]);
    const state = aggregateHoldings(
      new Map([
        ['long', { institution: 'Alpaca', currency: 'USD', asOf, positions: long }],
        ['short', { institution: 'Alpaca', currency: 'USD', asOf, positions: short }],
      ]),
      { baseCurrency: 'USD', fx },
    );
    expect(state.holdings.get('listing:TSLA@XNAS:USD')).toMatchObject({
      quantity: '0',
      marketValue: '0',
      costBasis: '-200',
      averageCost: null,
      unrealizedPnl: '200',
      accountCount: 2,
    });
  });
});
