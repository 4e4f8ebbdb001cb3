import { describe, expect, it } from 'vitest';
import { convert, fxRate, fxTableFromSnapTrade } from '../../src/portfolio/currency.ts';
import { dec, str } from '../../src/portfolio/decimal.ts';
import { snapRate } from './provider-payloads.ts';

/*
 * Published: USD -> CAD 1.25, EUR -> USD 1.1, GBP -> USD 1.25.
 *   USD -> CAD direct   1.25             100 USD = 125 CAD
 *   CAD -> USD inverse  1 / 1.25 = 0.8    100 CAD = 80 USD
 *   EUR -> CAD cross    1.1 x 1.25 = 1.375   100 EUR = 137.5 CAD
 *   CAD -> EUR cross    0.8 x (1 / 1.1) = 0.8 x 0.90909090909090909091 = 0.727272727272727272728 (20 places per division)
 *   GBP -> EUR cross    1.25 x 0.90909090909090909091 = 1.1363636363636363636375   100 GBP = 113.63636363636363636375 EUR
 *   JPY -> anything     missing
 */
describe('currency conversion: direct, inverse, cross through USD', () => {
  const fx = fxTableFromSnapTrade([snapRate('USD', 'CAD', 1.25), snapRate('EUR', 'USD', 1.1), snapRate('GBP', 'USD', 1.25)]);

  it('finds each path', () => {
    expect([['USD', 'CAD'], ['CAD', 'USD'], ['EUR', 'CAD'], ['CAD', 'EUR'], ['USD', 'USD'], ['JPY', 'USD']].map(([a, b]) => fxRate(fx, a!, b!).path)).toEqual([
      'direct', 'inverse', 'cross', 'cross', 'identity', 'missing',
    ]);
  });

  it('converts exactly', () => {
    const hundred = dec('100');
    expect(str(convert(fx, hundred, 'USD', 'CAD').value!)).toBe('125');
    expect(str(convert(fx, hundred, 'CAD', 'USD').value!)).toBe('80');
    expect(str(convert(fx, hundred, 'EUR', 'CAD').value!)).toBe('137.5');
    expect(str(fxRate(fx, 'CAD', 'EUR').rate!)).toBe('0.727272727272727272728');
    expect(str(convert(fx, hundred, 'GBP', 'EUR').value!)).toBe('113.63636363636363636375');
  });
});
