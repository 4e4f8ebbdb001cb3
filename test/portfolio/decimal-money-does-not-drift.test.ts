import { describe, expect, it } from 'vitest';
import { add, canonical, dec, div, mul, str, sum, toFixedPlaces, ZERO } from '../../src/portfolio/decimal.ts';

describe('decimal money does not drift', () => {
  it('adds tenths exactly where floats drift', () => {
    expect(0.1 + 0.2).not.toBe(0.3);
    expect(str(add(dec('0.1'), dec('0.2')))).toBe('0.3');
    let total = ZERO;
    for (let i = 0; i < 10_000; i++) total = add(total, dec('0.01'));
    expect(str(total)).toBe('100');
  });

  it('multiplies fractional shares by prices exactly', () => {
    expect(str(mul(dec('0.123456789'), dec('227.51')))).toBe('28.08765406539');
    expect(str(sum(['1e-7', '1e21', '-1e21'].map(dec)))).toBe('0.0000001');
  });

  it('canonicalises strings and divides to 20 places', () => {
    expect(['1.50', '-0', '+3', '1e3', '0012.3400'].map((s) => canonical(s))).toEqual(['1.5', '0', '3', '1000', '12.34']);
    expect(str(div(dec('1'), dec('3'))!)).toBe('0.33333333333333333333');
    expect(div(dec('1'), ZERO)).toBeNull();
    expect(toFixedPlaces(dec('2.345'), 2)).toBe('2.35');
  });

  it('refuses what is not a decimal', () => {
    for (const bad of ['', 'abc', '1,5', 'NaN', 'Infinity', '0x1f']) expect(() => dec(bad)).toThrow(/not a decimal number/);
    expect(() => dec(Number.NaN)).toThrow(/not a finite number/);
  });
});
