import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { exchangeToMic, normalizeTicker, SecurityIndex, securityRef } from '../../src/portfolio/security-identity.ts';

const snapAapl = securityRef({ figi: 'BBG000B9XRY4', snaptradeSymbolId: 'U-AAPL', ticker: 'AAPL', exchange: 'XNAS', currency: 'USD' });
const snapAaplNoFigi = securityRef({ snaptradeSymbolId: 'u-aapl', ticker: 'AAPL', exchange: 'NASDAQ', currency: 'USD' });
const alpacaAapl = securityRef({ ticker: 'aapl', exchange: 'NASDAQ', currency: 'USD' });

describe('security identity', () => {
  it('keys a ref by FIGI, else SnapTrade id, else listing', () => {
    expect(snapAapl.identityKey).toBe('figi:BBG000B9XRY4');
    expect(snapAaplNoFigi.identityKey).toBe('snaptrade:u-aapl');
    expect(alpacaAapl.identityKey).toBe('listing:AAPL@XNAS:USD');
  });

  it('maps Alpaca exchange names to MICs and keeps MICs', () => {
    expect(['NASDAQ', 'NYSE', 'ARCA', 'AMEX', 'BATS', 'XTSE', 'TSX', 'arcx'].map(exchangeToMic)).toEqual([
      'XNAS', 'XNYS', 'ARCX', 'XASE', 'BATS', 'XTSE', 'XTSE', 'ARCX',
    ]);
    expect(exchangeToMic('CRYPTO')).toBeUndefined();
    expect(exchangeToMic('')).toBeUndefined();
  });

  it('writes share classes with a dot', () => {
    expect(['BRK-B', 'BRK/B', 'brk.b', 'BTC/USD'].map(normalizeTicker)).toEqual(['BRK.B', 'BRK.B', 'BRK.B', 'BTC/USD']);
  });

  it('merges refs that agree on the listing or SnapTrade id, under the FIGI', () => {
    const index = SecurityIndex.from([alpacaAapl, snapAaplNoFigi, snapAapl]);
    for (const ref of [alpacaAapl, snapAaplNoFigi, snapAapl]) expect(index.resolve(ref).identityKey).toBe('figi:BBG000B9XRY4');
    expect(index.securities()).toHaveLength(1);
    expect(index.facets('listing:AAPL@XNAS:USD')).toEqual(['figi:BBG000B9XRY4', 'snaptrade:u-aapl', 'listing:AAPL@XNAS:USD']);
  });

  it('prefers the SnapTrade id when no member has a FIGI', () => {
    const index = SecurityIndex.from([alpacaAapl, snapAaplNoFigi]);
    expect(index.resolve(alpacaAapl).identityKey).toBe('snaptrade:u-aapl');
  });

  it('keeps the same ticker on two exchanges or in two currencies apart', () => {
    const shopUs = securityRef({ ticker: 'SHOP', exchange: 'NYSE', currency: 'USD' });
    const shopTo = securityRef({ snaptradeSymbolId: 'u-shop-to', ticker: 'SHOP', exchange: 'XTSE', currency: 'CAD' });
    const shopToUsd = securityRef({ ticker: 'SHOP', exchange: 'XTSE', currency: 'USD' });
    const index = SecurityIndex.from([shopUs, shopTo, shopToUsd]);
    expect(index.securities().map((s) => s.identityKey)).toEqual([
      'snaptrade:u-shop-to',
      'listing:SHOP@XNYS:USD',
      'listing:SHOP@XTSE:USD',
    ]);
  });

  it('does not merge on a ticker without an exchange', () => {
    const a = securityRef({ ticker: 'XYZ', currency: 'USD' });
    const b = securityRef({ ticker: 'XYZ', exchange: 'NYSE', currency: 'USD' });
    expect(a.identityKey).toBe('listing:XYZ@~:USD');
    expect(SecurityIndex.from([a, b]).securities()).toHaveLength(2);
  });

  it('reports two FIGIs merged through one listing, choosing the smaller', () => {
    const a = securityRef({ figi: 'BBG000BPHFS9', ticker: 'MSFT', exchange: 'XNAS', currency: 'USD' });
    const b = securityRef({ figi: 'BBG000BPH459', ticker: 'MSFT', exchange: 'XNAS', currency: 'USD' });
    const index = SecurityIndex.from([a, b]);
    expect(index.resolve(a).identityKey).toBe('figi:BBG000BPH459');
    expect(index.conflicts()).toEqual([{ identityKey: 'figi:BBG000BPH459', figis: ['BBG000BPH459', 'BBG000BPHFS9'] }]);
  });

  it('resolves the same way whatever the order refs are added in', () => {
    const refs = [
      alpacaAapl,
      snapAaplNoFigi,
      snapAapl,
      securityRef({ ticker: 'SPY', exchange: 'ARCA', currency: 'USD', description: 'SPDR' }),
      securityRef({ figi: 'BBG000BDTBL9', ticker: 'SPY', exchange: 'ARCX', currency: 'USD', description: 'SPDR S&P 500 ETF Trust' }),
      securityRef({ snaptradeSymbolId: 'u-swvxx', ticker: 'SWVXX', exchange: 'XNAS', currency: 'USD', cashEquivalent: true }),
    ];
    const expected = SecurityIndex.from(refs).securities();
    fc.assert(
      fc.property(fc.shuffledSubarray(refs, { minLength: refs.length, maxLength: refs.length }), (shuffled) => {
        expect(SecurityIndex.from(shuffled).securities()).toEqual(expected);
      }),
    );
    expect(expected.find((s) => s.ticker === 'SPY')).toMatchObject({ identityKey: 'figi:BBG000BDTBL9', description: 'SPDR S&P 500 ETF Trust' });
  });
});
