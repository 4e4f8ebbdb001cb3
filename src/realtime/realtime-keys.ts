/**
 * Redis names used by the realtime layer, under the deployment's namespace (the same one as the
 * stream keys), so deployments and tests sharing a Redis never hear each other.
 */
export interface RealtimeKeys {
  /** Prefix of the socket.io adapter's pub/sub channels (`<prefix>#/#user:<id>#`). */
  readonly channelPrefix: string;
  /** The user's sequence counter, shared by deltas (INCR) and snapshots (GET). */
  seq(userId: string): string;
}

export function realtimeKeys(namespace = 'fs'): RealtimeKeys {
  return {
    channelPrefix: `${namespace}:socket.io`,
    seq: (userId) => `${namespace}:rt:seq:${userId}`,
  };
}
