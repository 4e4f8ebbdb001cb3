import type { RedisClient as Redis } from '../runtime/redis-client.ts';

/**
 * One refresh per user at a time, and at most one started per cooldown: connection refreshes
 * are billed by SnapTrade and every user draws on one shared budget. The key holds the id of the
 * user's latest refresh job for the cooldown. A second request while that job runs joins it; one
 * after it finished, still inside the cooldown, is told when it may try again.
 */
export type RefreshClaim = { claimed: true } | { claimed: false; jobId: string; retryAfterMs: number };

export interface RefreshGate {
  /** Claims the user's next refresh for `jobId`, or names the refresh that holds it. */
  claim(userId: string, jobId: string): Promise<RefreshClaim>;
}

export function createRefreshGate(redis: Redis, namespace: string, cooldownMs: number): RefreshGate {
  const key = (userId: string) => `${namespace}:refresh:${userId}`;
  return {
    async claim(userId, jobId) {
      if (cooldownMs <= 0) return { claimed: true };
      for (;;) {
        if ((await redis.set(key(userId), jobId, 'PX', cooldownMs, 'NX')) === 'OK') return { claimed: true };
        const [[, holder], [, ttl]] = (await redis.multi().get(key(userId)).pttl(key(userId)).exec()) as [
          [unknown, string | null],
          [unknown, number],
        ];
        // The holder expired between the two commands: try to claim again.
        if (holder !== null && ttl > 0) return { claimed: false, jobId: holder, retryAfterMs: ttl };
      }
    },
  };
}
