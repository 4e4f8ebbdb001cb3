import type { RedisClient as Redis } from '../src/runtime/redis-client.ts';
import type { StreamKeys } from '../streams/keys.ts';

/**
 * The live worker list: a sorted set of worker ids scored by the (Redis clock) time their
 * heartbeat expires. A heartbeat prunes the expired ones and returns who is alive, so every
 * worker sees the same list without a coordinator. Redis' clock is used on purpose: workers on
 * machines with skewed clocks still agree on who expired.
 */

const HEARTBEAT = `--[[
  Record a worker heartbeat and return the live workers.
    Input:
      KEYS[1] workers sorted set (member = worker id, score = heartbeat expiry, ms, Redis clock)
      ARGV[1] worker id
      ARGV[2] heartbeat lifetime in ms
    Output:
      array of live worker ids (expired members are removed first)
]]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
return redis.call('ZRANGEBYSCORE', KEYS[1], now, '+inf')
`;

const LIVE = `--[[
  List live workers without joining.
    Input:
      KEYS[1] workers sorted set
    Output:
      array of worker ids whose heartbeat has not expired
]]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
return redis.call('ZRANGEBYSCORE', KEYS[1], now, '+inf')
`;

type ScriptFn = (...args: (string | number)[]) => Promise<unknown>;

export interface Membership {
  /** Announces this worker alive for `ttlMs`; returns the live workers, sorted. */
  heartbeat(): Promise<string[]>;
  /** The live workers, sorted, without announcing this one. */
  live(): Promise<string[]>;
  /** Leaves at once (graceful shutdown), so the others rebalance without waiting for expiry. */
  leave(): Promise<void>;
}

export function workerMembership(redis: Redis, keys: StreamKeys, workerId: string, ttlMs: number): Membership {
  const client = redis as unknown as Record<string, ScriptFn | undefined>;
  if (typeof client.fsHeartbeat !== 'function') {
    redis.defineCommand('fsHeartbeat', { lua: HEARTBEAT, numberOfKeys: 1 });
    redis.defineCommand('fsLiveWorkers', { lua: LIVE, numberOfKeys: 1 });
  }
  return {
    async heartbeat() {
      const ids = (await client.fsHeartbeat!.call(redis, keys.workers(), workerId, ttlMs)) as string[];
      return ids.sort();
    },
    async live() {
      return ((await client.fsLiveWorkers!.call(redis, keys.workers())) as string[]).sort();
    },
    async leave() {
      await redis.zrem(keys.workers(), workerId);
    },
  };
}
