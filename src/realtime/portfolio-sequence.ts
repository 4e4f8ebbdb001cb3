import type { RedisClient as Redis } from '../runtime/redis-client.ts';
import type { RealtimeKeys } from './realtime-keys.ts';

/**
 * The per-user sequence number, kept in Redis so that every worker that emits deltas and every web
 * node that builds snapshots agree on it.
 *
 * - A delta takes `next()` (INCR) AFTER the changes it carries were committed.
 * - A snapshot reads `current()` (GET) BEFORE it reads the portfolio, and carries that value.
 *
 * So every delta with `seq <= snapshot.seq` was committed before the snapshot read the state, and
 * the snapshot includes it: a client drops those deltas and applies the later ones. A delta with a
 * larger seq may also be in the snapshot already; deltas carry absolute values, so applying it
 * again is harmless. Snapshots never take a number, so one tab asking for a snapshot does not make
 * another tab of the same user see a gap.
 *
 * The counter has no expiry: it must never go backwards while a client holds a seq from it.
 */
export interface PortfolioSequence {
  /** Reserves the next delta number of the user (1, 2, ...). */
  next(userId: string): Promise<number>;
  /** The last delta number handed out (0 before the first); a snapshot's `seq`. */
  current(userId: string): Promise<number>;
}

export function createPortfolioSequence(redis: Redis, keys: RealtimeKeys): PortfolioSequence {
  return {
    async next(userId) {
      return redis.incr(keys.seq(userId));
    },
    async current(userId) {
      const value = await redis.get(keys.seq(userId));
      return value === null ? 0 : Number(value);
    },
  };
}
