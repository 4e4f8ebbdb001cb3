import type { RedisClient as Redis } from '../runtime/redis-client.ts';
import {
  emptyProjection,
  fromSnapshot,
  project,
  settle,
  type PortfolioProjection,
  type ProjectionFacts,
} from '../../actors/portfolio/portfolio-projection.ts';
import type { StreamKeys } from '../../streams/keys.ts';
import { partitionOf } from '../../streams/partition.ts';
import { replayUser } from '../../streams/replay.ts';
import { compareStreamIds } from '../../streams/stream-id.ts';
import { latestSnapshotRef, readSnapshot, trimmedBelowKey } from '../../streams/snapshots.ts';

export interface RebuildOptions {
  /** Fold every event the stream still holds, ignoring snapshots (refused once the partition was trimmed). */
  fromStart?: boolean;
  /** Last stream id to fold (inclusive); default: the end of the stream as read. */
  until?: string;
  facts?: ProjectionFacts;
}

export interface SkippedEvent {
  id: string;
  type: string;
  error: string;
}

export interface RebuiltUser {
  projection: PortfolioProjection;
  /** Events folded after the starting point. */
  eventsReplayed: number;
  /** Stream id of the snapshot the fold started from, null from the start. */
  fromSnapshot: string | null;
  /** Events the fold could not apply (malformed: the live actor parked them as dead letters). */
  skipped: SkippedEvent[];
}

export class ReplayUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ReplayUnavailableError';
  }
}

/**
 * Rebuilds one user's projection from their partition stream with the actor's own pure fold:
 * from their latest snapshot (the events after what it covers), or from the start. Reads only
 * (XRANGE), beside the live consumers.
 */
export async function rebuildUser(
  redis: Redis,
  keys: StreamKeys,
  partitionCount: number,
  userId: string,
  options: RebuildOptions = {},
): Promise<RebuiltUser> {
  const partition = partitionOf(userId, partitionCount);
  let projection = emptyProjection(userId);
  let fromSnapshotId: string | null = null;
  let after: string | undefined;
  if (options.fromStart) {
    const trimmed = await redis.get(trimmedBelowKey(keys, partition));
    if (trimmed) {
      throw new ReplayUnavailableError(
        `partition ${partition} was trimmed below ${trimmed}: its start is gone, replay from the latest snapshot instead`,
      );
    }
  } else {
    const ref = await latestSnapshotRef(redis, keys, partition, userId);
    const snapshot = ref ? await readSnapshot(redis, keys, partition, ref) : null;
    if (ref && snapshot && (!options.until || !snapshot.covers || compareStreamIds(snapshot.covers, options.until) <= 0)) {
      projection = fromSnapshot(snapshot);
      fromSnapshotId = ref.id;
      after = snapshot.covers ?? undefined;
    }
  }
  const skipped: SkippedEvent[] = [];
  let eventsReplayed = 0;
  for await (const { id, envelope } of replayUser(redis, keys, userId, partitionCount, {
    ...(after ? { after } : {}),
    ...(options.until ? { until: options.until } : {}),
  })) {
    if (envelope.type === 'snapshot') continue;
    try {
      project(projection, envelope, id, options.facts);
      eventsReplayed++;
    } catch (err) {
      skipped.push({ id, type: envelope.type, error: err instanceof Error ? err.message : String(err) });
    }
  }
  return { projection: settle(projection), eventsReplayed, fromSnapshot: fromSnapshotId, skipped };
}
