import type { Redis } from 'ioredis';
import type { Knex } from '../db/knex.ts';
import type { StreamKeys } from '../../streams/keys.ts';
import { emptyProjection } from '../../actors/portfolio/portfolio-projection.ts';
import { comparableProjection, diffCount, diffPortfolios, type PortfolioDiff } from './portfolio-diff.ts';
import { loadLiveState, type LiveState } from './live-state.ts';
import { rebuildUser, ReplayUnavailableError, type SkippedEvent } from './rebuild-user.ts';
import { foldUsers } from './stream-maintenance.ts';
import { partitionOf } from '../../streams/partition.ts';
import { compareStreamIds } from '../../streams/stream-id.ts';
import { allSnapshotRefs, trimmedBelowKey, type SnapshotRef } from '../../streams/snapshots.ts';
import { repairUser } from './repair.ts';

/** What a replay found for one user (the `report.users[]` items of the admin API). */
export interface UserReplayReport {
  userId: string;
  differences: PortfolioDiff;
  differed: boolean;
  repaired: boolean;
  eventsReplayed: number;
  /** Stream id of the snapshot the rebuild started from; null from the start. */
  fromSnapshot: string | null;
  /** Last stream id folded (the user's checkpoint when the replay ran). */
  upTo: string | null;
  /** Events the fold could not apply (parked as dead letters by the live actor). */
  skipped: SkippedEvent[];
}

export interface UserReplayOptions {
  /** Fold up to this stream id (inclusive): the user's applied checkpoint. */
  until: string | null;
  fromStart: boolean;
  /** Write the rebuilt state when it differs (only inside the actor's fenced transaction). */
  repairIn?: Knex.Transaction;
}

/**
 * Rebuilds one user from the stream, compares with their rows in `db`, and repairs them in
 * `repairIn` when asked and something differs. `db` must see the state as of `until` (the
 * actor's transaction, or a repeatable-read snapshot taken with the checkpoint).
 */
export async function replayUserState(
  db: Knex,
  redis: Redis,
  keys: StreamKeys,
  partitionCount: number,
  userId: string,
  options: UserReplayOptions,
): Promise<UserReplayReport> {
  const live = await loadLiveState(db, userId);
  const rebuilt =
    live.tombstoned || options.until === null
      ? // Deleted here (nothing may come back), or never applied anything: nothing to fold.
        { projection: emptyProjection(userId), eventsReplayed: 0, fromSnapshot: null, skipped: [] }
      : await rebuildUser(redis, keys, partitionCount, userId, {
          until: options.until,
          fromStart: options.fromStart,
          facts: { snaptradeRegisteredAt: live.snaptradeRegisteredAt },
        });
  if (live.tombstoned) rebuilt.projection.deleted = true;
  const differences = diffPortfolios(live.comparable, comparableProjection(rebuilt.projection, { baseCurrency: live.baseCurrency, fx: live.fx, accountKeys: live.accountKeys }));
  const differed = diffCount(differences) > 0;
  let repaired = false;
  if (differed && options.repairIn && !live.tombstoned) {
    await repairUser(options.repairIn, rebuilt.projection, live);
    repaired = true;
  }
  return {
    userId,
    differences,
    differed,
    repaired,
    eventsReplayed: rebuilt.eventsReplayed,
    fromSnapshot: rebuilt.fromSnapshot,
    upTo: options.until,
    skipped: rebuilt.skipped,
  };
}

/**
 * A dry run outside the engine: the user's checkpoint and rows are read in one repeatable-read
 * snapshot and the stream is folded up to that checkpoint, so live traffic cannot make the two
 * sides disagree.
 */
export async function dryRunUser(
  db: Knex,
  redis: Redis,
  keys: StreamKeys,
  partitionCount: number,
  userId: string,
  fromStart: boolean,
): Promise<UserReplayReport> {
  return db.transaction(
    async (tx) => {
      const row = (await tx('actor_checkpoints').where({ user_id: userId }).first('last_stream_id')) as { last_stream_id: string } | undefined;
      return replayUserState(tx, redis, keys, partitionCount, userId, { until: row?.last_stream_id ?? null, fromStart });
    },
    { isolationLevel: 'repeatable read', readOnly: true },
  );
}

/**
 * Dry runs of many users, a partition at a time: per partition one repeatable-read snapshot of
 * the users' checkpoints and rows, and one pass over the stream folding all of them (from their
 * snapshots, or the start), each up to their checkpoint. `onUser` gets every report.
 */
export async function dryRunUsers(
  db: Knex,
  redis: Redis,
  keys: StreamKeys,
  partitionCount: number,
  users: readonly string[],
  fromStart: boolean,
  onUser: (report: UserReplayReport) => void,
): Promise<void> {
  const byPartition = new Map<number, string[]>();
  for (const user of users) {
    const p = partitionOf(user, partitionCount);
    byPartition.set(p, [...(byPartition.get(p) ?? []), user]);
  }
  for (const [partition, members] of byPartition) {
    if (fromStart && (await redis.get(trimmedBelowKey(keys, partition)))) {
      throw new ReplayUnavailableError(`partition ${partition} was trimmed: its start is gone, replay from the latest snapshot instead`);
    }
    await db.transaction(
      async (tx) => {
        const rows = (await tx('actor_checkpoints').whereIn('user_id', members).select('user_id', 'last_stream_id')) as { user_id: string; last_stream_id: string }[];
        const limits = new Map(rows.map((r) => [r.user_id, r.last_stream_id]));
        const lives = new Map<string, LiveState>();
        for (const user of members) lives.set(user, await loadLiveState(tx, user));
        const refs = new Map<string, SnapshotRef>();
        if (!fromStart) {
          for (const [user, ref] of await allSnapshotRefs(redis, keys, partition)) {
            const limit = limits.get(user);
            if (limit && (ref.covers === null || compareStreamIds(ref.covers, limit) <= 0)) refs.set(user, ref);
          }
        }
        for (const [user, live] of lives) if (live.tombstoned) limits.delete(user);
        const states = await foldUsers(redis, keys, partition, limits, refs, (user) => ({ snaptradeRegisteredAt: lives.get(user)?.snaptradeRegisteredAt ?? null }));
        for (const user of members) {
          const live = lives.get(user)!;
          const projection = states.get(user) ?? emptyProjection(user);
          if (live.tombstoned) projection.deleted = true;
          const differences = diffPortfolios(live.comparable, comparableProjection(projection, { baseCurrency: live.baseCurrency, fx: live.fx, accountKeys: live.accountKeys }));
          onUser({
            userId: user,
            differences,
            differed: diffCount(differences) > 0,
            repaired: false,
            eventsReplayed: projection.eventsFolded,
            fromSnapshot: refs.get(user)?.id ?? null,
            upTo: limits.get(user) ?? null,
            skipped: [],
          });
        }
      },
      { isolationLevel: 'repeatable read', readOnly: true },
    );
  }
}
