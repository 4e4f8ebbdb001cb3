import { createRandom, type Random } from '../market/seeded-random.ts';

/**
 * What stands between a REST request and its handler in the Alpaca sandbox: Alpaca's per-key
 * rate limit (with `X-RateLimit-*` headers), injected faults for resilience tests, and
 * request counters for the control API.
 */

export interface RateLimitDecision {
  allowed: boolean;
  limit: number;
  remaining: number;
  /** Unix seconds when the window resets. */
  reset: number;
}

/** Fixed one-minute windows per key id, as Alpaca counts (200 requests/minute by default). */
export class KeyRateLimiter {
  private windows = new Map<string, { start: number; used: number }>();

  constructor(
    private perMinute: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Requests per minute per key; 0 disables the limit. */
  setLimit(perMinute: number): void {
    if (!Number.isInteger(perMinute) || perMinute < 0) throw new RangeError('rate limit must be a non-negative integer');
    this.perMinute = perMinute;
    this.windows.clear();
  }

  get limit(): number {
    return this.perMinute;
  }

  take(key: string): RateLimitDecision {
    const now = this.now();
    const start = Math.floor(now / 60_000) * 60_000;
    let window = this.windows.get(key);
    if (!window || window.start !== start) {
      window = { start, used: 0 };
      this.windows.set(key, window);
    }
    const reset = Math.ceil((start + 60_000) / 1000);
    if (this.perMinute === 0) return { allowed: true, limit: 0, remaining: 0, reset };
    if (window.used >= this.perMinute) return { allowed: false, limit: this.perMinute, remaining: 0, reset };
    window.used += 1;
    return { allowed: true, limit: this.perMinute, remaining: this.perMinute - window.used, reset };
  }
}

export interface FaultConfig {
  /** Chance in [0, 1] that a REST request fails instead of being served. */
  probability: number;
  /** HTTP statuses to fail with (picked at random). @default [500] */
  statuses?: number[];
  /** Only requests whose path starts with one of these prefixes fail. @default every path */
  pathPrefixes?: string[];
  /** Stop after this many injected failures. @default unlimited */
  maxFaults?: number;
}

/** Seeded fault injection: the same seed and request sequence fail the same requests. */
export class FaultInjector {
  private config: FaultConfig | undefined;
  private injected = 0;
  private readonly random: Random;

  constructor(seed: number) {
    this.random = createRandom(seed, 'alpaca-faults');
  }

  set(config: FaultConfig | undefined): void {
    if (config) {
      if (!(config.probability >= 0 && config.probability <= 1)) throw new RangeError('probability must be within [0, 1]');
      for (const status of config.statuses ?? []) {
        if (!Number.isInteger(status) || status < 400 || status > 599) throw new RangeError(`fault status ${status} is not a 4xx/5xx`);
      }
    }
    this.config = config;
    this.injected = 0;
  }

  get current(): FaultConfig | undefined {
    return this.config;
  }

  /** The status to fail this request with, or undefined to serve it. */
  pick(path: string): number | undefined {
    const config = this.config;
    if (!config || config.probability === 0) return undefined;
    if (config.maxFaults !== undefined && this.injected >= config.maxFaults) return undefined;
    if (config.pathPrefixes && !config.pathPrefixes.some((prefix) => path.startsWith(prefix))) return undefined;
    if (this.random() >= config.probability) return undefined;
    const statuses = config.statuses && config.statuses.length > 0 ? config.statuses : [500];
    this.injected += 1;
    return statuses[Math.floor(this.random() * statuses.length)]!;
  }
}

export interface RequestCounts {
  total: number;
  /** By route, e.g. `GET /v2/positions`. */
  byRoute: Record<string, number>;
  byStatus: Record<string, number>;
  /** Requests per authenticated account id. */
  byAccount: Record<string, number>;
}

export class RequestCounter {
  private counts: RequestCounts = { total: 0, byRoute: {}, byStatus: {}, byAccount: {} };

  record(route: string, status: number, accountId: string | undefined): void {
    this.counts.total += 1;
    this.counts.byRoute[route] = (this.counts.byRoute[route] ?? 0) + 1;
    this.counts.byStatus[String(status)] = (this.counts.byStatus[String(status)] ?? 0) + 1;
    if (accountId) this.counts.byAccount[accountId] = (this.counts.byAccount[accountId] ?? 0) + 1;
  }

  snapshot(): RequestCounts {
    return structuredClone(this.counts);
  }

  reset(): void {
    this.counts = { total: 0, byRoute: {}, byStatus: {}, byAccount: {} };
  }
}
