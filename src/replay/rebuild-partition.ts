import type { RedisClient as Redis } from '../runtime/redis-client.ts';
import { fromSnapshot, type PortfolioProjection, type ProjectionSnapshot } from '../../actors/portfolio/portfolio-projection.ts';
import { decodeEnvelope, ENVELOPE_FIELD } from '../../streams/envelope.ts';
import type { StreamKeys } from '../../streams/keys.ts';
import { streamBufferPages } from '../../streams/replay.ts';
import { compareStreamIds } from '../../streams/stream-id.ts';
import { allSnapshotRefs } from '../../streams/snapshots.ts';
import { PartitionFold } from './partition-fold.ts';
import { foldUsers } from './stream-maintenance.ts';

export interface PartitionRebuild {
  projections: Map<string, PortfolioProjection>;
  /** Events folded (snapshots and other users' entries not counted). */
  eventsFolded: number;
  /** Stream entries read. */
  entriesRead: number;
  /** Users rebuilt from a snapshot. */
  fromSnapshots: number;
}

const PAGE = 2000;

/**
 * Every user of a partition rebuilt in one pass with the actor's pure fold: from the start, or
 * from each user's latest snapshot (the pass then starts at the oldest point a snapshot covers;
 * a user met there without a snapshot is folded again from the start on their own, so an
 * entry before the pass's start is never missed).
 */
export async function rebuildPartition(
  redis: Redis,
  keys: StreamKeys,
  partition: number,
  options: { fromSnapshots: boolean },
): Promise<PartitionRebuild> {
  const stream = keys.partitionStream(partition);
  const projections = new Map<string, PortfolioProjection>();
  const result: PartitionRebuild = { projections, eventsFolded: 0, entriesRead: 0, fromSnapshots: 0 };
  let start = '-';
  if (options.fromSnapshots) {
    const refs = await allSnapshotRefs(redis, keys, partition);
    const pipeline = redis.pipeline();
    const users = [...refs.keys()];
    for (const user of users) pipeline.xrange(stream, refs.get(user)!.id, refs.get(user)!.id);
    const pages = (await pipeline.exec()) ?? [];
    let oldest: string | null = null;
    users.forEach((user, i) => {
      const page = pages[i]?.[1] as [string, string[]][] | undefined;
      const fields = page?.[0]?.[1];
      const raw = fields?.[fields.indexOf(ENVELOPE_FIELD) + 1];
      if (!raw) return;
      const state = fromSnapshot(decodeEnvelope(raw).payload as ProjectionSnapshot);
      projections.set(user, state);
      result.fromSnapshots++;
      const covers = state.lastStreamId ?? '0-0';
      oldest = oldest === null || compareStreamIds(covers, oldest) < 0 ? covers : oldest;
    });
    if (oldest !== null) start = `(${oldest}`;
  }
  // Users met after the pass's start without a snapshot, and the last entry of theirs seen.
  const known = start === '-' ? null : new Set(projections.keys());
  const late = new Map<string, string>();
  const fold = new PartitionFold(projections);
  // Buffers: the fold keeps sync results' entries until `settle`, and off the heap they cost the
  // garbage collector nothing (kept as strings, they were copied by every young-generation pass).
  for await (const page of streamBufferPages(redis, stream, start, '+', PAGE)) {
    for (const [id, fields] of page) {
      const user = fold.entry(id, fields);
      if (known && user !== null && !known.has(user)) late.set(user, id.toString());
    }
  }
  fold.finish();
  result.entriesRead = fold.entriesRead;
  result.eventsFolded = fold.eventsFolded;
  if (late.size) {
    for (const [user, state] of await foldUsers(redis, keys, partition, late, new Map())) projections.set(user, state);
  }
  return result;
}
