import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import { keySlot } from './key-slot.ts';

/**
 * Where Redis is: one server (`REDIS_URL`), or a Redis Cluster reached through one or more of its
 * nodes (`REDIS_CLUSTER=true` with `REDIS_URL`, or `REDIS_NODES`). Plain data, so it crosses into
 * worker threads as is. This module imports ioredis only: a thread that reads streams loads it
 * without the database layer.
 */
export interface RedisTarget {
  /** `redis://` URLs of the server, or of the cluster nodes to discover the cluster from. */
  readonly urls: readonly string[];
  readonly cluster: boolean;
}

/** A connection to either: both answer the same commands; multi-key ones must stay in one slot. */
export type RedisClient = Redis | Cluster;

export interface RedisClientOptions {
  /** `CLIENT SETNAME` of each connection, so `CLIENT LIST` tells who holds what. */
  name: string;
  /**
   * Retries of a command over reconnections: 1 fails fast while Redis is down (webhooks answer
   * 503); `null` waits, which BullMQ requires of connections that block.
   * @default 1
   */
  maxRetriesPerRequest?: number | null;
  /** @default false */
  enableAutoPipelining?: boolean;
  /** @default true */
  enableOfflineQueue?: boolean;
  /** @default false */
  lazyConnect?: boolean;
  /**
   * On a cluster, SSUBSCRIBE through a subscriber per master, each channel on the node serving its
   * slot (the socket.io sharded adapter's subscriber). Ignored on one server.
   * @default false
   */
  shardedSubscriber?: boolean;
}

export function singleRedis(url: string): RedisTarget {
  return { urls: [url], cluster: false };
}

/**
 * The target the configuration names: a cluster when `REDIS_CLUSTER` is set or `REDIS_NODES`
 * lists nodes (then those are the seeds, else `url`), one server otherwise.
 */
export function redisTarget(url: string, cluster: { REDIS_CLUSTER: boolean; REDIS_NODES?: readonly string[] | undefined }): RedisTarget {
  const nodes = cluster.REDIS_NODES ?? [];
  if (nodes.length > 0) return { urls: nodes, cluster: true };
  return { urls: [url], cluster: cluster.REDIS_CLUSTER };
}

/** Reconnect backoff of every connection: quick at first, then every 2 s while Redis is away. */
const retryStrategy = (attempt: number) => Math.min(50 * 2 ** attempt, 2_000);

function connectionOptions(options: RedisClientOptions): RedisOptions {
  return {
    connectionName: options.name,
    maxRetriesPerRequest: options.maxRetriesPerRequest === undefined ? 1 : options.maxRetriesPerRequest,
    enableOfflineQueue: options.enableOfflineQueue ?? true,
    retryStrategy,
  };
}

/**
 * The one place a Redis connection is made (roles, BullMQ, the socket.io adapter, threads).
 * On a cluster, ioredis follows MOVED/ASK and the slot map, and reads go to masters only: a
 * replica may lag, and the engine reads what it has just written (leases, dedupe markers).
 */
export function createRedisClient(target: RedisTarget, options: RedisClientOptions): RedisClient {
  const redisOptions = connectionOptions(options);
  if (!target.cluster) {
    return new Redis(target.urls[0]!, {
      ...redisOptions,
      enableAutoPipelining: options.enableAutoPipelining ?? false,
      lazyConnect: options.lazyConnect ?? false,
    });
  }
  const clusterOptions: ClusterOptions = {
    redisOptions,
    scaleReads: 'master',
    enableAutoPipelining: options.enableAutoPipelining ?? false,
    enableOfflineQueue: options.enableOfflineQueue ?? true,
    lazyConnect: options.lazyConnect ?? false,
    clusterRetryStrategy: retryStrategy,
    shardedSubscribers: options.shardedSubscriber ?? false,
  };
  return new Cluster(target.urls.map(seed), clusterOptions);
}

function seed(url: string): { host: string; port: number } {
  const parsed = new URL(url.includes('://') ? url : `redis://${url}`);
  return { host: parsed.hostname, port: Number(parsed.port || 6379) };
}

/**
 * A second connection like `client` (for blocking reads such as XREAD BLOCK, which would hold up
 * every other command on a shared connection). `Redis.duplicate` and `Cluster.duplicate` take
 * different arguments; this hides the difference.
 */
export function duplicateClient(client: RedisClient, name: string): RedisClient {
  if (client instanceof Cluster) {
    return client.duplicate([], { redisOptions: { ...client.options.redisOptions, connectionName: name } });
  }
  return client.duplicate({ connectionName: name });
}

export function isCluster(client: RedisClient): client is Cluster {
  return client instanceof Cluster;
}

/**
 * Runs one command per item in pipelines that each stay within one hash slot (ioredis refuses a
 * pipeline whose keys a cluster serves from several nodes), and answers in the items' order as
 * `pipeline.exec()` does. On one server every slot is the same node: one pipeline, as before.
 */
export async function execPerSlot<T>(
  redis: RedisClient,
  items: readonly T[],
  keyOf: (item: T) => string,
  add: (pipeline: ReturnType<RedisClient['pipeline']>, item: T) => void,
): Promise<[Error | null, unknown][]> {
  const groups = new Map<number, number[]>();
  items.forEach((item, i) => {
    const slot = isCluster(redis) ? keySlot(keyOf(item)) : 0;
    const group = groups.get(slot);
    if (group) group.push(i);
    else groups.set(slot, [i]);
  });
  const replies: [Error | null, unknown][] = new Array(items.length);
  await Promise.all(
    [...groups.values()].map(async (indexes) => {
      const pipeline = redis.pipeline();
      for (const i of indexes) add(pipeline, items[i]!);
      const results = (await pipeline.exec()) ?? [];
      indexes.forEach((i, n) => (replies[i] = results[n] ?? [new Error('no reply from Redis'), null]));
    }),
  );
  return replies;
}
