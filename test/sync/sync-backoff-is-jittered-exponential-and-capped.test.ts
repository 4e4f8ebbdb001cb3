import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { jitteredBackoff } from '../../src/sync/backoff.ts';

/**
 * The wait before retry n of a failed sync job (src/sync/backoff.ts, BullMQ's backoffStrategy):
 * a uniform random value in [base, min(cap, base x 2^(n-1))], as the README documents for
 * `SYNC_BACKOFF_BASE_MS` with the 5-minute cap the worker uses.
 */
const BASE = 1_000;
const CAP = 5 * 60_000;
const options = { baseMs: BASE, capMs: CAP };
/** The largest value Math.random can return. */
const ALMOST_ONE = 1 - Number.EPSILON / 2;

describe('jittered exponential backoff', () => {
  it('never waits less than the base, whatever the attempt', () => {
    for (const attempt of [0, 1, 2, 3, 10, 20, 100]) expect(jitteredBackoff(attempt, options, () => 0)).toBe(BASE);
  });

  it('doubles its upper bound with each attempt, from the base, until the cap', () => {
    const uppers = Array.from({ length: 12 }, (_, i) => jitteredBackoff(i + 1, options, () => ALMOST_ONE));
    expect(uppers).toEqual([1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 64_000, 128_000, 256_000, CAP, CAP, CAP]);
  });

  it('stays at the cap for any number of attempts (no overflow to Infinity or NaN)', () => {
    for (const attempt of [10, 50, 1_023, 1_024, 5_000, Number.MAX_SAFE_INTEGER]) {
      const wait = jitteredBackoff(attempt, options, () => ALMOST_ONE);
      expect(wait).toBe(CAP);
    }
  });

  it('is the first attempt for attempt 0 (BullMQ may report none made yet)', () => {
    expect(jitteredBackoff(0, options, () => ALMOST_ONE)).toBe(jitteredBackoff(1, options, () => ALMOST_ONE));
  });

  it('draws uniformly across the whole range, not at its ends only', () => {
    // Attempt 6: [1 s, 32 s]. 4,000 draws of Math.random: each tenth of the range gets some.
    const low = BASE;
    const high = BASE * 2 ** 5;
    const tenths = Array.from({ length: 10 }, () => 0);
    for (let i = 0; i < 4_000; i++) {
      const wait = jitteredBackoff(6, options);
      expect(Number.isInteger(wait)).toBe(true);
      expect(wait).toBeGreaterThanOrEqual(low);
      expect(wait).toBeLessThanOrEqual(high);
      tenths[Math.min(9, Math.floor(((wait - low) / (high - low)) * 10))]! += 1;
    }
    // Expected 400 each; below 250 happens with a probability far under 1e-12.
    for (const count of tenths) expect(count).toBeGreaterThan(250);
  });

  it('is an integer in [base, min(cap, base x 2^(n-1))], growing with the draw, for any base, cap and attempt', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 60_000 }),
        fc.integer({ min: 0, max: 10_000_000 }),
        fc.integer({ min: 0, max: 80 }),
        fc.double({ min: 0, max: ALMOST_ONE, noNaN: true }),
        fc.double({ min: 0, max: ALMOST_ONE, noNaN: true }),
        (baseMs, extra, attempt, r1, r2) => {
          const capMs = baseMs + extra;
          const upper = Math.min(capMs, baseMs * 2 ** Math.max(0, attempt - 1));
          const a = jitteredBackoff(attempt, { baseMs, capMs }, () => Math.min(r1, r2));
          const b = jitteredBackoff(attempt, { baseMs, capMs }, () => Math.max(r1, r2));
          expect(Number.isInteger(a)).toBe(true);
          expect(a).toBeGreaterThanOrEqual(baseMs);
          expect(b).toBeLessThanOrEqual(Math.round(upper));
          expect(a).toBeLessThanOrEqual(b);
        },
      ),
      { numRuns: 2_000 },
    );
  });
});
