/**
 * Redis key names. Every key of one partition carries the same Redis Cluster hash tag
 * (`{p<n>}`), so a Lua script can dedupe, append and fence within a partition on one node.
 * `namespace` isolates deployments sharing a Redis, and tests from each other.
 */
export interface StreamKeys {
  readonly namespace: string;
  /** The partition's event stream: every event of the users hashed to it, in order. */
  partitionStream(partition: number): string;
  /** Poison events of the partition, with the reason each was parked. */
  deadLetterStream(partition: number): string;
  /**
   * Marks a parked entry (by its partition stream id) as retried or discarded by an operator, for
   * a week: a late copy of the same dead letter cannot be retried a second time.
   */
  deadLetterSettled(partition: number, entryId: string): string;
  /** Marks a SnapTrade webhookId as seen (dedupe), in the partition of the webhook's user. */
  webhookSeen(partition: number, webhookId: string): string;
  /** The partition's ownership lease (worker id + fencing token). */
  partitionLease(partition: number): string;
  /** Monotonic fencing-token counter of the partition. */
  partitionFence(partition: number): string;
  /** Live worker registry (sorted set of heartbeats). */
  workers(): string;
  /** Price ticks, sharded by security (all shards under the `{prices}` tag). */
  priceStream(shard: number): string;
  /** Last price per security (hash). */
  lastPrices(): string;
  /**
   * The highest market-lease token that wrote to a price stream (or, `lastPricesFence`, to the
   * last-price hash), in the same hash slot as what it guards: the price-write scripts refuse a
   * lower token, so a market process that lost its lease cannot publish.
   */
  priceStreamFence(shard: number): string;
  lastPricesFence(): string;
  /** The market role's lease: who holds the one Alpaca data connection (`<token>:<holder>`, TTL). */
  marketLease(): string;
  /** Monotonic fencing-token counter of the market lease. */
  marketFence(): string;
  /**
   * Previous session's close per security (hash, JSON `{c, t}`), written by the market role from
   * Alpaca snapshots; `previousClosesVersion()` counts its rewrites so readers reload on change.
   */
  previousCloses(): string;
  previousClosesVersion(): string;
  /**
   * Symbol collector, one hash tag (`{symbols}`) for all three keys so its Lua script is
   * cluster-safe: the securities one user holds (set), as the collector last stored them.
   */
  userSymbols(userId: string): string;
  /** Symbol collector: holder count per security across all users (hash: symbol -> count). */
  symbolHolders(): string;
  /** Symbol collector: `{op: add|remove, symbol}` whenever a security's holder count goes 0->1 or 1->0. */
  symbolChanges(): string;
}

export const CONSUMER_GROUP = 'actors';

function tag(partition: number): string {
  if (!Number.isInteger(partition) || partition < 0) throw new RangeError(`bad partition ${partition}`);
  return `{p${partition}}`;
}

export function streamKeys(namespace = 'fs'): StreamKeys {
  return {
    namespace,
    partitionStream: (p) => `${namespace}:${tag(p)}:events`,
    deadLetterStream: (p) => `${namespace}:${tag(p)}:dead`,
    deadLetterSettled: (p, entryId) => `${namespace}:${tag(p)}:dead:settled:${entryId}`,
    webhookSeen: (p, webhookId) => `${namespace}:${tag(p)}:webhook:${webhookId}`,
    partitionLease: (p) => `${namespace}:${tag(p)}:lease`,
    partitionFence: (p) => `${namespace}:${tag(p)}:fence`,
    workers: () => `${namespace}:workers`,
    // One tag for all market keys: a worker tails every shard in one XREAD, the writer appends
    // to shards, sets last prices and checks their fences in one script, a reader takes last
    // prices and closes together; on a cluster each of those must stay on one node.
    priceStream: (shard) => `${namespace}:{prices}:ticks:${shard}`,
    lastPrices: () => `${namespace}:{prices}:last`,
    priceStreamFence: (shard) => `${namespace}:{prices}:fence:${shard}`,
    lastPricesFence: () => `${namespace}:{prices}:last:fence`,
    marketLease: () => `${namespace}:{market}:lease`,
    marketFence: () => `${namespace}:{market}:fence`,
    previousCloses: () => `${namespace}:{prices}:prevclose`,
    previousClosesVersion: () => `${namespace}:{prices}:prevclose:version`,
    userSymbols: (userId) => `${namespace}:{symbols}:user:${userId}`,
    symbolHolders: () => `${namespace}:{symbols}:holders`,
    symbolChanges: () => `${namespace}:{symbols}:changes`,
  };
}
