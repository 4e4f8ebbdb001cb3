import type { RedisClient as Redis } from '../src/runtime/redis-client.ts';
import { compareStreamIds } from './stream-id.ts';
import { ENVELOPE_FIELD, type Envelope } from './envelope.ts';
import type { StreamKeys } from './keys.ts';
import { forgetSnapshots } from './snapshots.ts';

/** Entries read per XRANGE while looking for a user's events. */
const PAGE = 500;

/** Which of a user's events to delete: all of them, or only what came from SnapTrade. */
export type PurgeScope = 'all' | 'snaptrade';

/**
 * Deletes a deleted user's events (XDEL) from their partition stream, and their parked events
 * from its dead-letter stream, up to and including `upToId`: the event that deleted them, which
 * the actor has applied. Later events of the user stay for the actor to read (and drop). With
 * scope `snaptrade`, only what SnapTrade sent or was fetched from it goes (SnapTrade deleted its
 * user; the user's Alpaca history stays). The scan reads the partition from its start: deletion
 * is rare, and bounded streams (snapshots and trimming) bound its cost. Returns entries deleted.
 */
export async function purgeUserEntries(
  redis: Redis,
  keys: StreamKeys,
  partition: number,
  userId: string,
  upToId: string,
  scope: PurgeScope,
): Promise<number> {
  const needle = JSON.stringify(userId);
  const belongs = (raw: string | undefined): boolean => {
    // Cheap text test first: most entries of a shared partition are other users'.
    if (!raw || !raw.includes(needle)) return false;
    try {
      const envelope = JSON.parse(raw) as Envelope<{ provider?: string } | null>;
      if (envelope.user !== userId) return false;
      // Snapshots hold the user's SnapTrade data too: they go in either scope.
      return scope === 'all' || envelope.type === 'snaptrade.webhook' || envelope.type === 'snapshot' || envelope.payload?.provider === 'snaptrade';
    } catch {
      return false;
    }
  };
  let deleted = await purgeStream(redis, keys.partitionStream(partition), upToId, (fields) => belongs(fieldOf(fields, ENVELOPE_FIELD)));
  // Dead letters keep the envelope as read (field `e` too); they are purged whatever their id.
  deleted += await purgeStream(redis, keys.deadLetterStream(partition), '+', (fields) => belongs(fieldOf(fields, ENVELOPE_FIELD)));
  // Their snapshots went with their entries: the index must not name them.
  await forgetSnapshots(redis, keys, partition, userId);
  return deleted;
}

async function purgeStream(redis: Redis, key: string, upToId: string, matches: (fields: string[]) => boolean): Promise<number> {
  let start = '-';
  let deleted = 0;
  for (;;) {
    const page = await redis.xrange(key, start, upToId, 'COUNT', PAGE);
    if (page.length === 0) return deleted;
    const ids = page.filter(([, fields]) => matches(fields)).map(([id]) => id);
    if (ids.length) deleted += await redis.xdel(key, ...ids);
    const last = page[page.length - 1]![0];
    if (page.length < PAGE || (upToId !== '+' && compareStreamIds(last, upToId) >= 0)) return deleted;
    start = `(${last}`;
  }
}

function fieldOf(fields: string[], name: string): string | undefined {
  for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i] === name) return fields[i + 1];
  return undefined;
}
