import type { RedisClient as Redis } from '../src/runtime/redis-client.ts';
import { deadLetterOf, type StoredDeadLetter } from './dead-letter.ts';
import { ENVELOPE_FIELD, envelopeSchema, type Envelope } from './envelope.ts';
import type { StreamKeys } from './keys.ts';

/**
 * One user's entries in their partition stream or its dead-letter stream, a page at a time, for
 * operators (`GET /api/admin/users/:id/stream`). A partition holds many users' entries: only those
 * whose envelope names this user are returned (an entry whose JSON does not parse names nobody,
 * so it is never shown here; the dead-letter list shows those). Each request reads at most
 * `scanBudget` entries, so a user with few events in a busy partition costs a bounded read per
 * page; `next` then says where to go on.
 */
export type StreamOrder = 'newest' | 'oldest';
export type UserStreamName = 'events' | 'dead';

export interface UserStreamPageOptions {
  stream: UserStreamName;
  order: StreamOrder;
  /** Continue after this stream id (exclusive), in `order`; default: the newest or the oldest end. */
  after?: string;
  /** Entries of the user to return at most. */
  limit: number;
  /** Stream entries to read at most for this page. */
  scanBudget?: number;
}

export interface UserStreamEntry {
  /** The entry's id in the stream it was read from (the dead-letter stream's id for a dead letter). */
  streamId: string;
  /** The decoded envelope; null when the entry names the user but does not decode. */
  envelope: Envelope | null;
  /** Why it does not decode, with the raw JSON. */
  error?: string;
  raw?: string;
  /** For a dead letter: why and when it was parked, and the original entry's id. */
  deadLetter?: Omit<StoredDeadLetter, 'id' | 'envelope'>;
}

export interface UserStreamPage {
  entries: UserStreamEntry[];
  /** The cursor of the next page (pass as `after`), or null at the end of the stream. */
  next: string | null;
  /** Stream entries read for this page. */
  scanned: number;
}

export const DEFAULT_SCAN_BUDGET = 10_000;
const PAGE = 500;

export async function readUserStreamPage(
  redis: Redis,
  keys: StreamKeys,
  partition: number,
  userId: string,
  options: UserStreamPageOptions,
): Promise<UserStreamPage> {
  const key = options.stream === 'events' ? keys.partitionStream(partition) : keys.deadLetterStream(partition);
  const budget = options.scanBudget ?? DEFAULT_SCAN_BUDGET;
  const needle = JSON.stringify(userId);
  const entries: UserStreamEntry[] = [];
  let cursor = options.after;
  let scanned = 0;
  for (;;) {
    const count = Math.min(PAGE, budget - scanned);
    const rows =
      options.order === 'oldest'
        ? await redis.xrange(key, cursor ? `(${cursor}` : '-', '+', 'COUNT', count)
        : await redis.xrevrange(key, cursor ? `(${cursor}` : '+', '-', 'COUNT', count);
    for (const [id, fields] of rows) {
      scanned++;
      cursor = id;
      const entry = options.stream === 'events' ? eventEntry(id, fields, userId, needle) : deadEntry(id, fields, userId, needle);
      if (entry) entries.push(entry);
      if (entries.length === options.limit) return { entries, next: id, scanned };
    }
    if (rows.length < count) return { entries, next: null, scanned };
    if (scanned >= budget) return { entries, next: cursor ?? null, scanned };
  }
}

function fieldOf(fields: readonly string[], name: string): string | undefined {
  for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i] === name) return fields[i + 1];
  return undefined;
}

/** The envelope of `raw` when it names `userId`: decoded, or null with the reason it does not decode. */
function ownEnvelope(raw: string | undefined, userId: string, needle: string): Pick<UserStreamEntry, 'envelope' | 'error' | 'raw'> | undefined {
  // Cheap text test first: most entries of a shared partition are other users'.
  if (!raw || !raw.includes(needle)) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return undefined;
  }
  if ((parsed as { user?: unknown } | null)?.user !== userId) return undefined;
  const decoded = envelopeSchema.safeParse(parsed);
  if (decoded.success) return { envelope: decoded.data as Envelope };
  return { envelope: null, error: decoded.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; '), raw };
}

function eventEntry(id: string, fields: readonly string[], userId: string, needle: string): UserStreamEntry | undefined {
  const own = ownEnvelope(fieldOf(fields, ENVELOPE_FIELD), userId, needle);
  return own && { streamId: id, ...own };
}

function deadEntry(id: string, fields: readonly string[], userId: string, needle: string): UserStreamEntry | undefined {
  const { id: _id, envelope, ...deadLetter } = deadLetterOf(id, fields);
  const own = ownEnvelope(envelope, userId, needle);
  return own && { streamId: id, ...own, deadLetter };
}
