/**
 * Per-security staleness: how long since the market role last had a tick for each subscribed
 * security (streamed, or confirmed by a REST refetch). A security that has had no tick since it
 * was subscribed counts from the subscription. Pure bookkeeping with an injectable clock; one
 * small record per security, updated in place per tick.
 */

interface Entry {
  /** Newest trade time seen, epoch ms (-Infinity before the first tick). */
  tradeAt: number;
  /** When the newest tick (or the subscription) was received, by our clock. */
  seenAt: number;
}

export class StalenessTracker {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly clock: () => number = Date.now) {}

  get size(): number {
    return this.entries.size;
  }

  has(symbol: string): boolean {
    return this.entries.has(symbol);
  }

  /** Start tracking a security (a no-op when already tracked). */
  track(symbol: string): void {
    if (!this.entries.has(symbol)) this.entries.set(symbol, { tradeAt: Number.NEGATIVE_INFINITY, seenAt: this.clock() });
  }

  untrack(symbol: string): void {
    this.entries.delete(symbol);
  }

  /**
   * Record a tick of a tracked security. Returns false, and changes nothing but the freshness,
   * when the trade is older than one already seen (a REST answer overtaken by the stream).
   * Untracked securities are ignored (false).
   */
  observe(symbol: string, tradeAt: number, receivedAt = this.clock()): boolean {
    const entry = this.entries.get(symbol);
    if (!entry) return false;
    entry.seenAt = receivedAt;
    if (tradeAt < entry.tradeAt) return false;
    entry.tradeAt = tradeAt;
    return true;
  }

  /** Newest trade time seen for a security, epoch ms; undefined before its first tick. */
  lastTradeAt(symbol: string): number | undefined {
    const at = this.entries.get(symbol)?.tradeAt;
    return at === undefined || at === Number.NEGATIVE_INFINITY ? undefined : at;
  }

  /** Milliseconds since the security's last tick; undefined when it is not tracked. */
  stalenessMs(symbol: string, now = this.clock()): number | undefined {
    const entry = this.entries.get(symbol);
    return entry ? Math.max(0, now - entry.seenAt) : undefined;
  }

  /** Tracked securities without a tick for longer than `thresholdMs`, stalest first. */
  staleSymbols(thresholdMs: number, now = this.clock()): string[] {
    const stale: Array<[string, number]> = [];
    for (const [symbol, entry] of this.entries) {
      const age = now - entry.seenAt;
      if (age > thresholdMs) stale.push([symbol, age]);
    }
    return stale.sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).map(([symbol]) => symbol);
  }

  /** How many tracked securities have had no tick for longer than `thresholdMs`. */
  staleCount(thresholdMs: number, now = this.clock()): number {
    let count = 0;
    for (const entry of this.entries.values()) if (now - entry.seenAt > thresholdMs) count++;
    return count;
  }

  /** The longest staleness of any tracked security (0 when none is tracked). */
  maxStalenessMs(now = this.clock()): number {
    let max = 0;
    for (const entry of this.entries.values()) max = Math.max(max, now - entry.seenAt);
    return max;
  }
}
