import { describe, expect, it } from 'vitest';
import { realizedIn, trade } from './return-scenarios.ts';

/*
 * One USD account. MSFT: bought 10 @ 200 on 03-02, sold 4 @ 250 on 03-04: realized 4 x 50 = 200,
 * known. Each case adds a sale whose cost cannot be known; it is counted in `notValued` and the
 * realized P/L stays 200 (its proceeds are never taken as gain, nor its cost guessed).
 */
describe('a sale without a known cost is counted and left out', () => {
  const known = [trade('a', 'buy', 'MSFT', '2026-03-02T15:00:00Z', '10', '200'), trade('a', 'sell', 'MSFT', '2026-03-04T15:00:00Z', '4', '250')];
  const range = { from: '2026-03-01T00:00:00Z', to: '2026-03-06T21:00:00Z' };

  it('a sale of a security never bought (NVDA 5 @ 900)', () => {
    expect(realizedIn([...known, trade('a', 'sell', 'NVDA', '2026-03-05T15:00:00Z', '5', '900')], range)).toEqual({ pl: '200', sells: 2, notValued: 1 });
  });

  it('a sale of more than was bought (MSFT 10 when 6 are left), and every later sale of it', () => {
    const oversold = [...known, trade('a', 'sell', 'MSFT', '2026-03-05T15:00:00Z', '10', '260'), trade('a', 'buy', 'MSFT', '2026-03-05T16:00:00Z', '1', '260'), trade('a', 'sell', 'MSFT', '2026-03-06T15:00:00Z', '1', '270')];
    expect(realizedIn(oversold, range)).toEqual({ pl: '200', sells: 3, notValued: 2 });
  });

  it('a sale without a price', () => {
    expect(realizedIn([...known, trade('a', 'sell', 'MSFT', '2026-03-05T15:00:00Z', '2', null)], range)).toEqual({ pl: '200', sells: 2, notValued: 1 });
  });

  it('a sale after a split, which moved units without a cost', () => {
    expect(realizedIn([...known, trade('a', 'split', 'MSFT', '2026-03-05T00:00:00Z', '6', null), trade('a', 'sell', 'MSFT', '2026-03-06T15:00:00Z', '12', '130')], range)).toEqual({ pl: '200', sells: 2, notValued: 1 });
  });
});
