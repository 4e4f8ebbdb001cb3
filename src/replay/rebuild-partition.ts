import type { Redis } from 'ioredis';
import {
  emptyProjection,
  fromSnapshot,
  project,
  settle,
  type PortfolioProjection,
  type ProjectionSnapshot,
} from '../../actors/portfolio/portfolio-projection.ts';
import { decodeEnvelope, ENVELOPE_FIELD } from '../../streams/envelope.ts';
import type { StreamKeys } from '../../streams/keys.ts';
import { streamBufferPages } from '../../streams/replay.ts';
import { compareStreamIds } from '../../streams/stream-id.ts';
import { allSnapshotRefs } from '../../streams/snapshots.ts';
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
  const late = new Map<string, string>();
  // Buffers: the fold keeps sync results' entries until `settle`, and off the heap they cost the
  // garbage collector nothing (kept as strings, they were copied by every young-generation pass).
  for await (const page of streamBufferPages(redis, stream, start, '+', PAGE)) {
    result.entriesRead += page.length;
    for (const [idBuffer, fields] of page) {
      const at = fields.findIndex((field, i) => i % 2 === 0 && field.toString() === ENVELOPE_FIELD);
      const source = at < 0 ? undefined : fields[at + 1];
      if (!source) continue;
      const id = idBuffer.toString();
      const raw = source.toString();
      let envelope;
      try {
        envelope = decodeEnvelope(raw);
      } catch {
        continue;
      }
      if (envelope.type === 'snapshot') continue;
      let state = projections.get(envelope.user);
      if (!state) {
        state = emptyProjection(envelope.user);
        projections.set(envelope.user, state);
        if (start !== '-') late.set(envelope.user, id);
      }
      if (state.lastStreamId && compareStreamIds(id, state.lastStreamId) <= 0) continue;
      try {
        project(state, envelope, id, {}, source);
        result.eventsFolded++;
      } catch {
        // A poison event: the live actor parked it.
      }
      if (late.has(envelope.user)) late.set(envelope.user, id);
    }
  }
  for (const state of projections.values()) settle(state);
  if (late.size) {
    for (const [user, state] of await foldUsers(redis, keys, partition, late, new Map())) projections.set(user, state);
  }
  return result;
}
