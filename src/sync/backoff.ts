/**
 * Exponential backoff with "full jitter" (AWS architecture blog): the delay before retry n is a
 * uniform random value in [base, min(cap, base * 2^(n-1))]. Spreading retries keeps a fleet of
 * workers from hammering a recovering brokerage in lockstep. `random` is injectable for tests.
 */
export function jitteredBackoff(
  attemptsMade: number,
  options: { baseMs: number; capMs: number },
  random: () => number = Math.random,
): number {
  const exponential = Math.min(options.capMs, options.baseMs * 2 ** Math.max(0, attemptsMade - 1));
  return Math.round(options.baseMs + random() * Math.max(0, exponential - options.baseMs));
}
