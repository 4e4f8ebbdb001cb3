import type { RedisClient as Redis } from '../runtime/redis-client.ts';
import { randomUUID } from 'node:crypto';

/**
 * A rolling-window request budget shared by every process that uses the same Redis key (all
 * workers share SnapTrade's 250 requests/minute), with a fair share per user: no one user may take
 * more than `perUser` grants of a window, so a user with many connections (or one pressing
 * refresh) waits while everyone else's requests still go through. Time comes from the Redis
 * server, so workers with skewed clocks still agree.
 *
 * A request counts from its grant until one window after it *ended* (while in flight it is held
 * at grant + `maxInFlightMs`, which also covers a process that dies mid-request). SnapTrade sees
 * each request at some moment between our send and its answer, so for any window of SnapTrade's
 * the last request granted in it already counted every other one that arrived in it: the budget
 * holds at the brokerage whatever the network or event-loop delays, not only on our side.
 *
 * KEYS[1]  sorted set of requests (score = when the request ended, or grant + hold while in flight)
 * KEYS[2]  the same for one user (ignored when ARGV[4] is 0)
 * ARGV[1]  window length in ms
 * ARGV[2]  budget: requests allowed per window
 * ARGV[3]  unique member id for this request
 * ARGV[4]  the user's share: requests one user may have per window (0: no per-user share)
 * ARGV[5]  hold: the longest a request may be in flight, in ms
 * Returns  0 when granted (and recorded), else the ms to wait before checking again: until the
 *          oldest request leaves the window, at most one window (an in-flight one may end sooner).
 */
const ACQUIRE_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
local share = tonumber(ARGV[4])
local hold = tonumber(ARGV[5])
local function wait_for(key)
  local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
  return math.max(1, math.min(window, tonumber(oldest[2]) + window - now))
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if share > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - window)
  if redis.call('ZCARD', KEYS[2]) >= share then return wait_for(KEYS[2]) end
end
if redis.call('ZCARD', KEYS[1]) < limit then
  redis.call('ZADD', KEYS[1], now + hold, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], window + hold)
  if share > 0 then
    redis.call('ZADD', KEYS[2], now + hold, ARGV[3])
    redis.call('PEXPIRE', KEYS[2], window + hold)
  end
  return 0
end
return wait_for(KEYS[1])
`;

/** Marks a request ended (KEYS as above, ARGV[1] its member): it now leaves one window after this. */
const SETTLE_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', KEYS[1], 'XX', now, ARGV[1])
if KEYS[2] ~= KEYS[1] then redis.call('ZADD', KEYS[2], 'XX', now, ARGV[1]) end
return 0
`;

/** One granted request: call `settle()` once it has its answer (or failed). */
export interface RateGrant {
  settle(): Promise<void>;
}

export interface RateLimiter {
  /**
   * Waits until the budget grants one request (or the signal aborts). With `userId`, the request
   * also counts against that user's share of the window. The request counts until one window
   * after its grant is settled.
   */
  acquire(signal?: AbortSignal, userId?: string): Promise<RateGrant>;
  /** Requests granted within the current window (of one user, with `userId`). */
  used(userId?: string): Promise<number>;
}

type RedisWithAcquire = Redis & {
  foliostreamRateAcquire(key: string, userKey: string, windowMs: number, limit: number, member: string, share: number, holdMs: number): Promise<number>;
  foliostreamRateSettle(key: string, userKey: string, member: string): Promise<number>;
};

/**
 * The SnapTrade budget's key: one for every process of a deployment, tagged so that each user's
 * key (`<key>:user:<id>`) shares its slot on a Redis Cluster.
 */
export function snaptradeBudgetKey(namespace: string): string {
  return `${namespace}:{snaptrade-budget}`;
}

/**
 * `key` should carry a Redis Cluster hash tag (`{...}`): each user's key is `key` plus a suffix,
 * so both land in the same slot and the script may touch them together.
 */
export function createRateLimiter(
  redis: Redis,
  key: string,
  options: { limit: number; windowMs: number; perUser?: number; maxInFlightMs: number },
): RateLimiter {
  const client = redis as RedisWithAcquire;
  if (typeof client.foliostreamRateAcquire !== 'function') {
    redis.defineCommand('foliostreamRateAcquire', { numberOfKeys: 2, lua: ACQUIRE_SCRIPT });
    redis.defineCommand('foliostreamRateSettle', { numberOfKeys: 2, lua: SETTLE_SCRIPT });
  }
  const share = Math.max(0, Math.floor(options.perUser ?? 0));
  const userKey = (userId: string) => `${key}:user:${userId}`;
  return {
    async acquire(signal, userId) {
      const perUser = userId === undefined ? 0 : share;
      const ownKey = userId === undefined ? key : userKey(userId);
      const member = randomUUID();
      for (;;) {
        signal?.throwIfAborted();
        const wait = await client.foliostreamRateAcquire(key, ownKey, options.windowMs, options.limit, member, perUser, options.maxInFlightMs);
        if (wait === 0) {
          return {
            // A settle that fails leaves the request held until grant + hold: later, never sooner.
            settle: () => client.foliostreamRateSettle(key, ownKey, member).then(() => undefined, () => undefined),
          };
        }
        // Jitter spreads the waiters so they do not all retry in the same millisecond.
        await sleep(wait + Math.floor(Math.random() * 50), signal);
      }
    },
    async used(userId) {
      const counted = userId === undefined ? key : userKey(userId);
      await redis.zremrangebyscore(counted, '-inf', Date.now() - options.windowMs);
      return redis.zcard(counted);
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
