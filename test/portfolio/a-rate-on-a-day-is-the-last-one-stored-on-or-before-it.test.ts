import { describe, expect, it } from 'vitest';
import { createDatedFx, fxRateOn, utcDay } from '../../src/portfolio/dated-fx.ts';
import { str } from '../../src/portfolio/decimal.ts';

/*
 * Stored (UTC days): USD -> CAD 1.25 on 2026-03-02, 1.40 on 2026-03-05 (nothing on 03-03, 03-04);
 *                    EUR -> USD 1.10 on 2026-03-04.
 *   USD -> CAD on 03-01  none stored on or before: missing (never the later 1.25)
 *   USD -> CAD on 03-02  1.25 (that day's)
 *   USD -> CAD on 03-04  1.25 (the last before: 03-03 and 03-04 had no refresh)
 *   USD -> CAD on 03-05  1.40
 *   CAD -> USD on 03-05  1 / 1.40 = 0.71428571428571428571 (inverse, 20 places)
 *   EUR -> CAD on 03-03  missing (EUR -> USD has no rate yet), on 03-04 1.10 x 1.25 = 1.375,
 *                        on 03-06 1.10 x 1.40 = 1.54 (each leg at its own last rate)
 */
describe('a rate on a day is the last one stored on or before it', () => {
  const dated = createDatedFx([
    { day: '2026-03-05', from: 'USD', to: 'CAD', rate: '1.40' },
    { day: '2026-03-02', from: 'USD', to: 'CAD', rate: '1.25' },
    { day: '2026-03-04', from: 'EUR', to: 'USD', rate: '1.10' },
  ]);
  const rate = (from: string, to: string, day: string) => {
    const found = fxRateOn(dated, from, to, day);
    return found.rate === null ? null : str(found.rate);
  };

  it('takes the day itself, else the last day before it, never a later one', () => {
    expect(fxRateOn(dated, 'USD', 'CAD', '2026-03-01')).toEqual({ rate: null, path: 'missing' });
    expect(rate('USD', 'CAD', '2026-03-02')).toBe('1.25');
    expect(rate('USD', 'CAD', '2026-03-04')).toBe('1.25');
    expect(rate('USD', 'CAD', '2026-03-05')).toBe('1.4');
    expect(rate('USD', 'CAD', '2027-01-01')).toBe('1.4');
  });

  it('inverts and crosses with each leg at its own rate of the day', () => {
    expect(rate('CAD', 'USD', '2026-03-05')).toBe('0.71428571428571428571');
    expect(rate('EUR', 'CAD', '2026-03-03')).toBeNull();
    expect(rate('EUR', 'CAD', '2026-03-04')).toBe('1.375');
    expect(rate('EUR', 'CAD', '2026-03-06')).toBe('1.54');
  });

  it('puts an instant on its UTC day', () => {
    expect(utcDay('2026-03-04T23:30:00-05:00')).toBe('2026-03-05');
    expect(utcDay(new Date('2026-03-04T00:00:00Z'))).toBe('2026-03-04');
  });
});
