/**
 * SnapTrade's request budget: a rolling window per clientId (250 requests per 60 s by
 * default). Each request that passes authentication takes one slot; a full window answers 429.
 * `resetSeconds` is the time until the oldest request in the window leaves it.
 */
export interface RateLimitDecision {
  allowed: boolean;
  limit: number;
  remaining: number;
  resetSeconds: number;
}

export interface RateLimitConfig {
  /** Requests per window. @default 250 */
  limit: number;
  /** Window length in milliseconds. @default 60000 */
  windowMs: number;
}

export class RollingRateLimiter {
  private readonly windows = new Map<string, number[]>();

  constructor(private config: RateLimitConfig = { limit: 250, windowMs: 60_000 }) {}

  settings(): RateLimitConfig {
    return { ...this.config };
  }

  configure(changes: Partial<RateLimitConfig>): void {
    this.config = { ...this.config, ...changes };
  }

  take(key: string, now = Date.now()): RateLimitDecision {
    const { limit, windowMs } = this.config;
    const stamps = (this.windows.get(key) ?? []).filter((t) => t > now - windowMs);
    const allowed = stamps.length < limit;
    if (allowed) stamps.push(now);
    this.windows.set(key, stamps);
    const oldest = stamps[0] ?? now;
    return {
      allowed,
      limit,
      remaining: Math.max(0, limit - stamps.length),
      resetSeconds: Math.max(0, Math.ceil((oldest + windowMs - now) / 1000)),
    };
  }

  reset(): void {
    this.windows.clear();
  }
}
