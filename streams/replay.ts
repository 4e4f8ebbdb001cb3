import type { RedisClient as Redis } from '../src/runtime/redis-client.ts';
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
 * A stream's entries from `start` to `end` (XRANGE bounds), a page at a time, in order. The next
 * page is asked for as soon as one arrives, so Redis serves it (on its own core) while the caller
 * works on the one it has.
 */
export function streamPages(redis: Redis, stream: string, start: string, end: string, pageSize: number): AsyncGenerator<[id: string, fields: string[]][]> {
  return pagesAhead((from) => redis.xrange(stream, from, end, 'COUNT', pageSize), (id) => id, start, pageSize);
}

/**
 * `streamPages` with the fields as Buffers (kept off the JavaScript heap: a fold that keeps entries
 * until the end of a partition keeps them there).
 */
export function streamBufferPages(redis: Redis, stream: string, start: string, end: string, pageSize: number): AsyncGenerator<[id: Buffer, fields: Buffer[]][]> {
  return pagesAhead((from) => redis.xrangeBuffer(stream, from, end, 'COUNT', pageSize), (id) => id.toString(), start, pageSize);
}

async function* pagesAhead<I, F>(
  xrange: (from: string) => Promise<[I, F[]][]>,
  idText: (id: I) => string,
  start: string,
  pageSize: number,
): AsyncGenerator<[I, F[]][]> {
  const read = (from: string) => {
    const page = xrange(from);
    // A caller that stops early leaves the page asked for unread: its failure is not unhandled
    // (awaiting it still throws).
    page.catch(() => undefined);
    return page;
  };
  for (let next = read(start); ; ) {
    const page = await next;
    const more = page.length === pageSize;
    if (more) next = read(`(${idText(page[page.length - 1]![0])}`);
    yield page;
    if (!more) return;
  }
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
  const start = options.after ? `(${options.after}` : '-';
  const end = options.until ?? '+';
  const needle = options.mustContain;
  for await (const page of streamPages(redis, stream, start, end, pageSize)) {
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
