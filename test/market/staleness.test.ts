import { describe, expect, it } from 'vitest';
import { StalenessTracker } from '../../src/market/staleness.ts';

function trackerAt(start: number) {
  let now = start;
  const tracker = new StalenessTracker(() => now);
  return { tracker, advance: (ms: number) => (now += ms) };
}

describe('staleness tracker', () => {
  it('counts staleness from the last tick, or from the subscription before the first one', () => {
    const { tracker, advance } = trackerAt(1_000);
    tracker.track('AAPL');
    tracker.track('MSFT');
    advance(500);
    expect(tracker.observe('AAPL', 900)).toBe(true);
    advance(2_000);
    expect(tracker.stalenessMs('AAPL')).toBe(2_000);
    expect(tracker.stalenessMs('MSFT')).toBe(2_500);
    expect(tracker.staleSymbols(1_000)).toEqual(['MSFT', 'AAPL']);
    expect(tracker.staleSymbols(2_200)).toEqual(['MSFT']);
    expect(tracker.staleCount(2_200)).toBe(1);
    expect(tracker.maxStalenessMs()).toBe(2_500);
    expect(tracker.lastTradeAt('AAPL')).toBe(900);
    expect(tracker.lastTradeAt('MSFT')).toBeUndefined();
  });

  it('refuses a trade older than one already seen but still counts it as a sign of life', () => {
    const { tracker, advance } = trackerAt(0);
    tracker.track('NVDA');
    expect(tracker.observe('NVDA', 5_000)).toBe(true);
    advance(10_000);
    expect(tracker.observe('NVDA', 4_000)).toBe(false);
    expect(tracker.lastTradeAt('NVDA')).toBe(5_000);
    expect(tracker.stalenessMs('NVDA')).toBe(0);
    // The same trade again (a REST answer matching the stream) is not older.
    expect(tracker.observe('NVDA', 5_000)).toBe(true);
  });

  it('ignores ticks of untracked securities and forgets untracked ones', () => {
    const { tracker, advance } = trackerAt(0);
    expect(tracker.observe('TSLA', 1)).toBe(false);
    tracker.track('TSLA');
    advance(100);
    tracker.untrack('TSLA');
    expect(tracker.size).toBe(0);
    expect(tracker.stalenessMs('TSLA')).toBeUndefined();
    expect(tracker.maxStalenessMs()).toBe(0);
    expect(tracker.staleSymbols(0)).toEqual([]);
  });
});
