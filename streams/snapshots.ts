import type { RedisClient as Redis } from '../src/runtime/redis-client.ts';
import type { ProjectionSnapshot } from '../actors/portfolio/portfolio-projection.ts';
import { decodeEnvelope, encodeEnvelope, ENVELOPE_FIELD, ENVELOPE_SCHEMA_VERSION, type Envelope } from './envelope.ts';
import type { StreamKeys } from './keys.ts';

/**
 * Snapshot events in partition streams, and the per-partition index of each user's latest one.
 * A `snapshot` entry holds a user's whole projection (`ProjectionSnapshot`) and names the stream
 * id of the last event it covers; a replay starts from it, and trimming may cut a user's older
 * entries once a snapshot covers them. The index (`fs:{p<n>}:snapshots`, hash: user -> JSON
 * `{id, covers}`) finds a user's latest snapshot without scanning: one field per user with a
 * snapshot, removed when the user is purged.
 */
export function snapshotIndexKey(keys: StreamKeys, partition: number): string {
  return `${keys.namespace}:{p${partition}}:snapshots`;
}

/**
 * The partition's maintenance state (`src/replay/stream-maintenance.ts`), hash: `cursor`, and per
 * user with events since their last snapshot `n:<user>` (how many) and `t:<user>` (when the first).
 */
export function maintenanceKey(keys: StreamKeys, partition: number): string {
  return `${keys.namespace}:{p${partition}}:maintenance`;
}

/** Forgets a purged user's snapshot and counters (their entries are gone). */
export async function forgetSnapshots(redis: Redis, keys: StreamKeys, partition: number, userId: string): Promise<void> {
  await redis.hdel(snapshotIndexKey(keys, partition), userId);
  await redis.hdel(maintenanceKey(keys, partition), `n:${userId}`, `t:${userId}`);
}

/** Highest id trimmed so far (string): a `--from-start` replay refuses a partition trimmed at all. */
export function trimmedBelowKey(keys: StreamKeys, partition: number): string {
  return `${keys.namespace}:{p${partition}}:trimmed`;
}

export interface SnapshotRef {
  /** Stream id of the snapshot entry. */
  id: string;
  /** Stream id of the last event the snapshot covers (null: none, a fresh user). */
  covers: string | null;
}

/**
 * Appends a snapshot of one user and points the index at it, in one MULTI (a reader never sees
 * the index point at an entry that is not there). Returns the snapshot's stream id.
 */
export async function appendSnapshot(
  redis: Redis,
  keys: StreamKeys,
  partition: number,
  snapshot: ProjectionSnapshot,
): Promise<string> {
  const envelope: Envelope<ProjectionSnapshot> = {
    id: `snapshot:${snapshot.userId}:${snapshot.covers ?? '0-0'}`,
    type: 'snapshot',
    user: snapshot.userId,
    partition,
    time: new Date().toISOString(),
    schema: ENVELOPE_SCHEMA_VERSION,
    payload: snapshot,
  };
  // The id is drawn by XADD inside a script so the index entry names it in the same step.
  const id = (await redis.eval(
    APPEND_SNAPSHOT,
    2,
    keys.partitionStream(partition),
    snapshotIndexKey(keys, partition),
    ENVELOPE_FIELD,
    encodeEnvelope(envelope),
    snapshot.userId,
    snapshot.covers ?? '',
  )) as string;
  return id;
}

/**
 * KEYS[1] partition stream, KEYS[2] snapshot index.
 * ARGV[1] envelope field, ARGV[2] envelope JSON, ARGV[3] user id, ARGV[4] covered stream id ('' for none).
 * Returns the new entry's id.
 */
const APPEND_SNAPSHOT = `
local id = redis.call('XADD', KEYS[1], '*', ARGV[1], ARGV[2])
local covers = ARGV[4]
if covers == '' then covers = cjson.null end
redis.call('HSET', KEYS[2], ARGV[3], cjson.encode({id = id, covers = covers}))
return id
`;

export async function latestSnapshotRef(redis: Redis, keys: StreamKeys, partition: number, userId: string): Promise<SnapshotRef | null> {
  const raw = await redis.hget(snapshotIndexKey(keys, partition), userId);
  return raw ? parseRef(raw) : null;
}

export async function allSnapshotRefs(redis: Redis, keys: StreamKeys, partition: number): Promise<Map<string, SnapshotRef>> {
  const all = await redis.hgetall(snapshotIndexKey(keys, partition));
  return new Map(Object.entries(all).map(([user, raw]) => [user, parseRef(raw)]));
}

function parseRef(raw: string): SnapshotRef {
  const parsed = JSON.parse(raw) as { id: string; covers: string | null };
  return { id: parsed.id, covers: typeof parsed.covers === 'string' ? parsed.covers : null };
}

/** The snapshot entry named by `ref`, or null when it is gone (trimmed past, or purged). */
export async function readSnapshot(redis: Redis, keys: StreamKeys, partition: number, ref: SnapshotRef): Promise<ProjectionSnapshot | null> {
  const page = await redis.xrange(keys.partitionStream(partition), ref.id, ref.id);
  const fields = page[0]?.[1];
  if (!fields) return null;
  const at = fields.indexOf(ENVELOPE_FIELD);
  if (at < 0) return null;
  const envelope = decodeEnvelope(fields[at + 1]!);
  return envelope.type === 'snapshot' ? (envelope.payload as ProjectionSnapshot) : null;
}
