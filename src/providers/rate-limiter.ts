import type { Redis } from 'ioredis';
import { randomUUID } from 'node:crypto';

/**
 * A rolling-window request budget shared by every process that uses the same Redis key (all
 * workers share SnapTrade's 250 requests/minute). Time comes from the Redis server, so workers
 * with skewed clocks still agree.
 *
 * KEYS[1]  sorted set of granted requests (score = grant time in ms)
 * ARGV[1]  window length in ms
 * ARGV[2]  budget: requests allowed per window
 * ARGV[3]  unique member id for this request
 * Returns  0 when granted (and recorded), else the ms to wait before the oldest grant leaves
 *          the window.
 */
const ACQUIRE_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) < limit then
  redis.call('ZADD', KEYS[1], now, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], window)
  return 0
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return math.max(1, tonumber(oldest[2]) + window - now)
`;

export interface RateLimiter {
  /** Waits until the budget grants one request (or the signal aborts). */
  acquire(signal?: AbortSignal): Promise<void>;
  /** Requests granted within the current window. */
  used(): Promise<number>;
}

type RedisWithAcquire = Redis & {
  foliostreamRateAcquire(key: string, windowMs: number, limit: number, member: string): Promise<number>;
};

export function createRateLimiter(
  redis: Redis,
  key: string,
  options: { limit: number; windowMs: number },
): RateLimiter {
  const client = redis as RedisWithAcquire;
  if (typeof client.foliostreamRateAcquire !== 'function') {
    redis.defineCommand('foliostreamRateAcquire', { numberOfKeys: 1, lua: ACQUIRE_SCRIPT });
  }
  return {
    async acquire(signal) {
      for (;;) {
        signal?.throwIfAborted();
        const wait = await client.foliostreamRateAcquire(key, options.windowMs, options.limit, randomUUID());
        if (wait === 0) return;
        // Jitter spreads the waiters so they do not all retry in the same millisecond.
        await sleep(wait + Math.floor(Math.random() * 50), signal);
      }
    },
    async used() {
      await redis.zremrangebyscore(key, '-inf', Date.now() - options.windowMs);
      return redis.zcard(key);
    },
  };
}

/** Sleeps `ms`, or less when `signal` aborts (it then rejects with the abort reason). */
function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason as Error);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason as Error);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
