/**
 * Which price stream a security's ticks go to: FNV-1a (32 bit) of the ticker modulo the shard
 * count. Stable across processes and restarts, so every tick of a security stays in one stream,
 * in order. The count (`PRICE_SHARDS`) is fixed for the life of a deployment.
 */
export function priceShardOf(symbol: string, shards: number): number {
  if (!Number.isInteger(shards) || shards < 1) throw new RangeError(`bad shard count ${shards}`);
  let hash = 0x811c9dc5;
  for (let i = 0; i < symbol.length; i++) {
    hash ^= symbol.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % shards;
}
