import { describe, expect, it } from 'vitest';
import { fxTableFromSnapTrade } from '../../src/portfolio/currency.ts';
import { normalizeAlpacaAccount, normalizeAlpacaPositions } from '../../src/portfolio/normalize-alpaca.ts';
import { normalizeSnapTradeBalances, normalizeSnapTradePositions } from '../../src/portfolio/normalize-snaptrade.ts';
import { PayloadValidationError } from '../../src/portfolio/payload-error.ts';
import { AAPL, alpacaPosition, snapPosition, snapPositionsBody } from './provider-payloads.ts';

function rejection(run: () => unknown): PayloadValidationError {
  try {
    run();
  } catch (error) {
    if (error instanceof PayloadValidationError) return error;
    throw error;
  }
  throw new Error('expected a PayloadValidationError');
}

describe('bad provider payloads are rejected with reasons', () => {
  it('names the position whose units are missing', () => {
    const error = rejection(() =>
      normalizeSnapTradePositions(snapPositionsBody('2026-06-02T14:30:00Z', [snapPosition(AAPL, { units: '1' }), snapPosition(AAPL, { units: null })])),
    );
    expect(error.code).toBe('PORTFOLIO_BAD_PAYLOAD');
    expect(error.source).toBe('snaptrade.positions');
    expect(error.issues).toEqual([{ path: 'results[1].units', message: 'units is missing: a position without a quantity cannot be valued' }]);
  });

  it('lists every bad field: a non-decimal price, a missing instrument, a bad as-of', () => {
    const body = {
      results: [snapPosition(AAPL, { units: '1', price: 'twelve' }), { units: '3' }],
      data_freshness: { as_of: 'yesterday' },
    };
    const error = rejection(() => normalizeSnapTradePositions(body));
    expect(error.issues.map((i) => i.path)).toEqual(['results[0].price', 'results[1]', 'data_freshness.as_of']);
    expect(error.message).toMatch(/^invalid snaptrade\.positions payload: results\[0\]\.price: expected a decimal number/);
  });

  it('rejects a body that is not the expected shape at all', () => {
    expect(rejection(() => normalizeSnapTradePositions([])).issues[0]!.path).toBe('');
    expect(rejection(() => normalizeSnapTradeBalances({ currency: 'USD' }, [])).source).toBe('snaptrade.balances');
    expect(rejection(() => fxTableFromSnapTrade([{ src: { code: 'USD' }, dst: { code: 'CAD' }, exchange_rate: 0 }])).issues).toEqual([
      { path: '[0].exchange_rate', message: 'expected a positive rate' },
    ]);
  });

  it('rejects Alpaca positions with a float-mangled or missing qty and a bad side', () => {
    const good = alpacaPosition({ symbol: 'AAPL', qty: '1', avg_entry_price: '1', current_price: '1', lastday_price: '1', exchange: 'NASDAQ' });
    const error = rejection(() => normalizeAlpacaPositions([{ ...good, qty: 'NaN' }, { ...good, qty: undefined, side: 'sideways' }]));
    expect(error.issues.map((i) => i.path)).toEqual(['[0].qty', '[1].qty', '[1].side']);
    // A bad fetch time is the caller's bug, not bad provider data.
    expect(() => normalizeAlpacaAccount({ positions: [], account: { cash: '1' } }, 'not a time')).toThrow(RangeError);
    expect(rejection(() => normalizeAlpacaAccount({ positions: [], account: { cash: 12.5 + 'x' } }, '2026-06-02T15:00:00Z')).issues).toEqual([
      { path: 'cash', message: 'expected a decimal number' },
    ]);
  });

  it('accepts the legacy Position shape (symbol.symbol, average_purchase_price, numbers)', () => {
    const legacy = {
      symbol: {
        symbol: {
          id: '2bcd7cc3-e922-4976-bce1-9858296801c3',
          symbol: 'VAB.TO',
          raw_symbol: 'VAB',
          currency: { code: 'CAD' },
          exchange: { code: 'TSX', mic_code: 'XTSE' },
          type: { code: 'et' },
          figi_code: 'BBG000TEST01',
        },
      },
      units: 40,
      price: 113.15,
      average_purchase_price: 108.3353,
      currency: { code: 'CAD' },
      cash_equivalent: null,
    };
    const { positions } = normalizeSnapTradePositions({ results: [legacy], data_freshness: { as_of: '2026-06-02T14:30:00Z' } });
    expect(positions).toEqual([
      {
        security: {
          identityKey: 'figi:BBG000TEST01',
          figi: 'BBG000TEST01',
          snaptradeSymbolId: '2bcd7cc3-e922-4976-bce1-9858296801c3',
          ticker: 'VAB',
          exchangeMic: 'XTSE',
          currency: 'CAD',
          type: 'et',
          cashEquivalent: false,
        },
        quantity: '40',
        averageCost: '108.3353',
        price: '113.15',
        currency: 'CAD',
        cashEquivalent: false,
      },
    ]);
  });
});
