import type { RedisClient as Redis } from '../runtime/redis-client.ts';

/**
 * Which users have a browser open, across every web node: a sorted set of user id -> expiry
 * (epoch ms). Web nodes refresh the users they hold sockets for; a node that dies stops
 * refreshing and its users expire. Workers read it to revalue, on a price tick, only the
 * portfolios someone is watching: an unwatched portfolio is valued from the last prices when it
 * is next read (snapshot, API), so skipping its ticks loses nothing.
 *
 * Presence is state, not history: it never goes to the durable partition streams. The set holds
 * one member per watched user (a reconnect only moves its score), members expire `ttlMs` after
 * their last refresh and every web node prunes expired ones, so a client reconnecting in a loop
 * costs nothing that stays. The worker owning a user's partition learns that the user became
 * watched from this set (it polls it) and activates the actor itself (`WorkerRuntime.activate`).
 */
export function presenceKey(namespace: string): string {
  return `${namespace}:rt:watched`;
}

export interface PresenceTracker {
  /** A socket of the user connected to this node; true when it is the user's first here. */
  connected(userId: string): Promise<boolean>;
  /** A socket of the user left this node. */
  disconnected(userId: string): void;
  close(): Promise<void>;
}

export function createPresenceTracker(redis: Redis, namespace: string, options: { ttlMs?: number } = {}): PresenceTracker {
  const ttlMs = options.ttlMs ?? 30_000;
  const key = presenceKey(namespace);
  const sockets = new Map<string, number>();
  const mark = (users: string[]) => {
    if (users.length === 0) return Promise.resolve(0);
    const expiry = Date.now() + ttlMs;
    return redis.zadd(key, ...users.flatMap((u) => [expiry, u]));
  };
  const timer = setInterval(() => {
    void mark([...sockets.keys()]).catch(() => undefined);
    void redis.zremrangebyscore(key, '-inf', Date.now()).catch(() => undefined);
  }, Math.max(1_000, Math.floor(ttlMs / 3)));
  timer.unref();
  return {
    async connected(userId) {
      const count = (sockets.get(userId) ?? 0) + 1;
      sockets.set(userId, count);
      await mark([userId]);
      return count === 1;
    },
    disconnected(userId) {
      const count = (sockets.get(userId) ?? 1) - 1;
      if (count > 0) sockets.set(userId, count);
      else sockets.delete(userId);
    },
    async close() {
      clearInterval(timer);
      // Let this node's users expire rather than removing them: another node may serve them too.
    },
  };
}

export interface PresenceView {
  isWatched(userId: string): boolean;
  /** The watched users as of the last refresh. */
  users(): Iterable<string>;
  /** Re-reads the set; returns the users who became watched since the last refresh. */
  refresh(): Promise<string[]>;
  readonly size: number;
}

/** The workers' view of the watched users, refreshed by polling (`refresh`). */
export function createPresenceView(redis: Redis, namespace: string): PresenceView {
  const key = presenceKey(namespace);
  let watched = new Set<string>();
  return {
    isWatched: (userId) => watched.has(userId),
    users: () => watched,
    get size() {
      return watched.size;
    },
    async refresh() {
      const users = await redis.zrangebyscore(key, Date.now(), '+inf');
      const next = new Set(users);
      const joined = users.filter((u) => !watched.has(u));
      watched = next;
      return joined;
    },
  };
}
