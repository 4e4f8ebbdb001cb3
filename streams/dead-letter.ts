import type { RedisClient as Redis } from '../src/runtime/redis-client.ts';
import type { StreamKeys } from './keys.ts';

/**
 * The dead-letter stream of a partition: events that could not be applied (a handler that kept
 * failing, or an entry whose envelope does not decode), parked with the reason so the partition
 * goes on. Each entry keeps the original stream id and the envelope exactly as it was read, so an
 * operator can inspect it and re-append it once fixed. Writes are at-least-once: a crash between
 * parking and acking parks the same `entryId` again, so readers dedupe on it.
 */
export interface DeadLetter {
  /** Id of the entry in the partition stream. */
  entryId: string;
  /** The envelope's raw JSON (field `e`) as read; empty when the entry had none. */
  envelope: string;
  /** Why it was parked: the handler's error message, or the decode error. */
  reason: string;
  /** Attempts made before parking (0 for an entry that could not be decoded at all). */
  deliveries: number;
  /** Who parked it (worker id, or the producer's name). */
  parkedBy?: string;
}

export interface StoredDeadLetter extends DeadLetter {
  /** Id in the dead-letter stream. */
  id: string;
  parkedAt: string;
}

const MAX_REASON = 2_000;

/**
 * Approximate length each dead-letter stream is trimmed to (`XADD MAXLEN ~`). Redis runs
 * `noeviction`, so a flood of poison events must not grow it without bound; past this many the
 * oldest dead letters go (the original entry stays in the partition stream until it is trimmed
 * or purged). An operator should never let a partition get near it: every dead letter is logged.
 */
export const DEAD_LETTER_MAXLEN = 10_000;

/** Appends one dead letter; returns its id in the dead-letter stream. */
export async function appendDeadLetter(
  redis: Redis,
  keys: StreamKeys,
  partition: number,
  letter: DeadLetter,
  maxLen: number = DEAD_LETTER_MAXLEN,
): Promise<string> {
  const id = await redis.xadd(
    keys.deadLetterStream(partition),
    'MAXLEN',
    '~',
    maxLen,
    '*',
    'entry',
    letter.entryId,
    'e',
    letter.envelope,
    'reason',
    letter.reason.slice(0, MAX_REASON),
    'deliveries',
    String(letter.deliveries),
    'by',
    letter.parkedBy ?? '',
    'at',
    new Date().toISOString(),
  );
  return id!;
}

/** Reads a partition's dead letters, oldest first. */
export async function readDeadLetters(
  redis: Redis,
  keys: StreamKeys,
  partition: number,
  options: { from?: string; count?: number } = {},
): Promise<StoredDeadLetter[]> {
  const rows = await redis.xrange(keys.deadLetterStream(partition), options.from ?? '-', '+', 'COUNT', options.count ?? 1000);
  return rows.map(([id, fields]) => deadLetterOf(id, fields));
}

/** One dead letter, or undefined when the dead-letter stream no longer holds it. */
export async function readDeadLetter(redis: Redis, keys: StreamKeys, partition: number, id: string): Promise<StoredDeadLetter | undefined> {
  const [row] = await redis.xrange(keys.deadLetterStream(partition), id, id);
  return row ? deadLetterOf(row[0], row[1]) : undefined;
}

/** A dead-letter stream entry (its id and field list, as XRANGE answers them) as a dead letter. */
export function deadLetterOf(id: string, fields: readonly string[]): StoredDeadLetter {
  const f = new Map<string, string>();
  for (let i = 0; i + 1 < fields.length; i += 2) f.set(fields[i]!, fields[i + 1]!);
  const by = f.get('by');
  return {
    id,
    entryId: f.get('entry') ?? '',
    envelope: f.get('e') ?? '',
    reason: f.get('reason') ?? '',
    deliveries: Number(f.get('deliveries') ?? 0),
    ...(by ? { parkedBy: by } : {}),
    parkedAt: f.get('at') ?? '',
  };
}

/** Where a listing of dead letters across partitions goes on: after `id` in `partition`. */
export interface DeadLetterCursor {
  partition: number;
  id: string;
}

/**
 * Dead letters of every partition (or of `partitions` only), partition by partition, oldest first
 * within each, `limit` at most; `next` is where the following page starts, null after the last.
 */
export async function listDeadLetters(
  redis: Redis,
  keys: StreamKeys,
  partitions: readonly number[],
  options: { after?: DeadLetterCursor; limit: number },
): Promise<{ letters: (StoredDeadLetter & { partition: number })[]; next: DeadLetterCursor | null }> {
  const letters: (StoredDeadLetter & { partition: number })[] = [];
  for (const partition of partitions) {
    if (options.after && partition < options.after.partition) continue;
    const from = options.after?.partition === partition ? `(${options.after.id}` : '-';
    const want = options.limit - letters.length;
    // One more than wanted: whether this partition goes on after the page.
    const rows = await redis.xrange(keys.deadLetterStream(partition), from, '+', 'COUNT', want + 1);
    for (const [id, fields] of rows.slice(0, want)) letters.push({ ...deadLetterOf(id, fields), partition });
    if (rows.length > want) return { letters, next: { partition, id: letters[letters.length - 1]!.id } };
    if (letters.length === options.limit) {
      const later = partitions.filter((p) => p > partition);
      return { letters, next: later.length ? { partition: later[0]!, id: '0-0' } : null };
    }
  }
  return { letters, next: null };
}
