/**
 * Users hash to a fixed number of partitions. FNV-1a (32-bit) over the UTF-8 bytes of the user
 * id: stable across processes, versions and languages, and cheap enough for the webhook hot path.
 * Changing the partition count moves users between streams, so it is fixed per deployment.
 */
export function partitionOf(userId: string, partitionCount: number): number {
  if (!Number.isInteger(partitionCount) || partitionCount < 1) {
    throw new RangeError(`partition count must be a positive integer, got ${partitionCount}`);
  }
  let hash = 0x811c9dc5;
  const bytes = Buffer.from(userId, 'utf8');
  for (let i = 0; i < bytes.length; i++) {
    hash ^= bytes[i]!;
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % partitionCount;
}
