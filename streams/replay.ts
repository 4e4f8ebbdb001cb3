import type { Redis } from 'ioredis';
import { decodeEnvelope, ENVELOPE_FIELD, type Envelope } from './envelope.ts';
import type { StreamKeys } from './keys.ts';
import { partitionOf } from './partition.ts';

/**
 * Replay readers: a partition stream read from the start (or from an id) in order, straight with
 * XRANGE, outside any consumer group. A replay therefore sees exactly the events the actors saw,
 * in the same order, without disturbing the live consumers.
 */
export interface ReplayedEvent {
  /** Stream entry id. */
  id: string;
  envelope: Envelope;
}

export interface ReplayOptions {
  /** Start after this id (exclusive); default: the beginning. */
  after?: string;
  /** Stop after this id (inclusive); default: the end of the stream as it is read. */
  until?: string;
  /** Entries fetched per XRANGE round trip. */
  pageSize?: number;
  /** Skip entries whose raw envelope does not contain this text (a cheap pre-filter before parsing). */
  mustContain?: string;
}

/**
 * Every decodable event of a partition, in stream order. Entries whose envelope does not decode
 * are skipped here (the live runtime parks them in the dead-letter stream).
 */
export async function* replayPartition(
  redis: Redis,
  keys: StreamKeys,
  partition: number,
  options: ReplayOptions = {},
): AsyncGenerator<ReplayedEvent> {
  const stream = keys.partitionStream(partition);
  const pageSize = options.pageSize ?? 1000;
  let start = options.after ? `(${options.after}` : '-';
  const end = options.until ?? '+';
  const needle = options.mustContain;
  for (;;) {
    const page = await redis.xrange(stream, start, end, 'COUNT', pageSize);
    for (const [id, fields] of page) {
      const at = fields.indexOf(ENVELOPE_FIELD);
      if (at < 0 || at % 2 !== 0) continue;
      const raw = fields[at + 1]!;
      if (needle !== undefined && !raw.includes(needle)) continue;
      let envelope: Envelope;
      try {
        envelope = decodeEnvelope(raw);
      } catch {
        continue;
      }
      yield { id, envelope };
    }
    if (page.length < pageSize) return;
    start = `(${page[page.length - 1]![0]}`;
  }
}

/** One user's events, in order: its partition's stream filtered by `envelope.user`. */
export async function* replayUser(
  redis: Redis,
  keys: StreamKeys,
  userId: string,
  partitionCount: number,
  options: ReplayOptions = {},
): AsyncGenerator<ReplayedEvent> {
  const filtered = { ...options, mustContain: JSON.stringify(userId) };
  for await (const event of replayPartition(redis, keys, partitionOf(userId, partitionCount), filtered)) {
    if (event.envelope.user === userId) yield event;
  }
}

/** Every event of a partition grouped by user, each user's list in stream order. */
export async function replayPartitionByUser(
  redis: Redis,
  keys: StreamKeys,
  partition: number,
  options: ReplayOptions = {},
): Promise<Map<string, ReplayedEvent[]>> {
  const byUser = new Map<string, ReplayedEvent[]>();
  for await (const event of replayPartition(redis, keys, partition, options)) {
    let list = byUser.get(event.envelope.user);
    if (!list) byUser.set(event.envelope.user, (list = []));
    list.push(event);
  }
  return byUser;
}
