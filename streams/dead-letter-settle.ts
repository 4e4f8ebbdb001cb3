import { readFileSync } from 'node:fs';
import type { RedisClient as Redis } from '../src/runtime/redis-client.ts';
import { readDeadLetter, type StoredDeadLetter } from './dead-letter.ts';
import { decodeEnvelope, encodeEnvelope, ENVELOPE_FIELD } from './envelope.ts';
import type { StreamKeys } from './keys.ts';

/** The script's source, read once; see the header of `settle-dead-letter.lua` for its contract. */
const SETTLE_DEAD_LETTER_LUA = readFileSync(new URL('./scripts/settle-dead-letter.lua', import.meta.url), 'utf8');
const COMMAND = 'fsSettleDeadLetter';

/**
 * How long a retried or discarded entry stays marked settled (`keys.deadLetterSettled`): a copy of
 * the same dead letter parked within this time (parking is at-least-once) cannot be retried again.
 */
export const DEAD_LETTER_SETTLED_TTL_SECONDS = 7 * 24 * 3600;

/** What settling a dead letter did. */
export type SettleOutcome =
  /** Appended again as `streamId` for the user's actor; `removed` copies left the dead-letter stream. */
  | { outcome: 'retried'; entryId: string; user: string; type: string; streamId: string; removed: number }
  | { outcome: 'discarded'; entryId: string; user: string | null; type: string | null; removed: number }
  /** No such dead letter: already retried or discarded, trimmed, or never there. */
  | { outcome: 'missing' }
  /** A retry of an entry settled before (a later copy of it): what was done then. */
  | { outcome: 'settled-before'; entryId: string; marker: string }
  /** Its envelope does not decode (a malformed entry): there is nothing an actor could apply. */
  | { outcome: 'not-retryable'; entryId: string; reason: string };

type ScriptReply = [0] | [1, number, string] | [2, number] | [3, string];
type WithScript = Redis & Record<typeof COMMAND, (...args: (string | number)[]) => Promise<ScriptReply>>;

/** Runs the script (registered on the client once: EVALSHA, EVAL when Redis lost its cache). */
function settle(
  redis: Redis,
  keys: StreamKeys,
  partition: number,
  letter: StoredDeadLetter,
  action: 'retry' | 'discard',
  envelope: string,
  marker: string,
): Promise<ScriptReply> {
  if (typeof (redis as unknown as Record<string, unknown>)[COMMAND] !== 'function') {
    redis.defineCommand(COMMAND, { numberOfKeys: 3, lua: SETTLE_DEAD_LETTER_LUA });
  }
  return (redis as WithScript)[COMMAND](
    keys.deadLetterStream(partition),
    keys.partitionStream(partition),
    keys.deadLetterSettled(partition, letter.entryId),
    action,
    letter.id,
    letter.entryId,
    ENVELOPE_FIELD,
    envelope,
    DEAD_LETTER_SETTLED_TTL_SECONDS,
    marker,
  );
}

/**
 * Retries a parked entry: appends its envelope to the end of the partition stream (with
 * `meta.retryOf` naming the original entry), so the user's actor applies it like any new event,
 * and removes the original entry and every copy of the dead letter, all in one script. A second
 * retry of the same dead letter (or of a later copy of it) finds nothing to do.
 */
export async function retryDeadLetter(redis: Redis, keys: StreamKeys, partition: number, deadLetterId: string): Promise<SettleOutcome> {
  const letter = await readDeadLetter(redis, keys, partition, deadLetterId);
  if (!letter) return { outcome: 'missing' };
  let envelope;
  try {
    envelope = decodeEnvelope(letter.envelope);
  } catch (err) {
    return { outcome: 'not-retryable', entryId: letter.entryId, reason: `its envelope does not decode: ${(err as Error).message.slice(0, 300)}` };
  }
  const again = encodeEnvelope({ ...envelope, meta: { ...envelope.meta, retryOf: letter.entryId } });
  const reply = await settle(redis, keys, partition, letter, 'retry', again, '');
  if (reply[0] === 1) {
    return { outcome: 'retried', entryId: letter.entryId, user: envelope.user, type: envelope.type, streamId: reply[2], removed: reply[1] };
  }
  if (reply[0] === 3) return { outcome: 'settled-before', entryId: letter.entryId, marker: reply[1] };
  return { outcome: 'missing' };
}

/**
 * Discards a parked entry: removes every copy of the dead letter and the original entry (never
 * applied) from the partition stream, and marks the entry settled with the reason.
 */
export async function discardDeadLetter(
  redis: Redis,
  keys: StreamKeys,
  partition: number,
  deadLetterId: string,
  reason: string,
): Promise<SettleOutcome> {
  const letter = await readDeadLetter(redis, keys, partition, deadLetterId);
  if (!letter) return { outcome: 'missing' };
  let user: string | null = null;
  let type: string | null = null;
  try {
    ({ user, type } = decodeEnvelope(letter.envelope));
  } catch {
    // A malformed entry: discarded all the same, without a user to name.
  }
  const reply = await settle(redis, keys, partition, letter, 'discard', '', `discarded: ${reason}`);
  if (reply[0] === 2) return { outcome: 'discarded', entryId: letter.entryId, user, type, removed: reply[1] };
  return { outcome: 'missing' };
}
