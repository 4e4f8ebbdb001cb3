import type { RedisClient as Redis, RedisTarget } from '../runtime/redis-client.ts';
import type { Knex } from '../db/knex.ts';
import type { StreamKeys } from '../../streams/keys.ts';
import { emptyProjection, fromSnapshot, type PortfolioProjection } from '../../actors/portfolio/portfolio-projection.ts';
import { comparableProjection, diffCount, diffPortfolios, type PortfolioDiff } from './portfolio-diff.ts';
import { loadLiveState, loadLiveStates, type LiveState } from './live-state.ts';
import { RebuildPool } from './rebuild-pool.ts';
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

/** Worker threads for the folds of `dryRunUsers` (see `RebuildPool`). */
export interface DryRunThreads {
  threads: number;
  /** The Redis the threads connect to (the one `redis` talks to); the namespace is `keys`'. */
  redisTarget: RedisTarget;
}

/** What a partition's dry run reads in its repeatable-read snapshot. */
interface PartitionSide {
  /** User -> the checkpoint folded up to (users deleted here left out: nothing to fold). */
  limits: Map<string, string>;
  lives: Map<string, LiveState>;
  /** The snapshots to start from: each covering no more than its user's checkpoint. */
  refs: Map<string, SnapshotRef>;
}

async function readPartitionSide(db: Knex, redis: Redis, keys: StreamKeys, partition: number, members: readonly string[], fromStart: boolean): Promise<PartitionSide> {
  if (fromStart && (await redis.get(trimmedBelowKey(keys, partition)))) {
    throw new ReplayUnavailableError(`partition ${partition} was trimmed: its start is gone, replay from the latest snapshot instead`);
  }
  const { limits, lives } = await db.transaction(
    async (tx) => {
      const rows = (await tx('actor_checkpoints').whereIn('user_id', members).select('user_id', 'last_stream_id')) as { user_id: string; last_stream_id: string }[];
      return { limits: new Map(rows.map((r) => [r.user_id, r.last_stream_id])), lives: await loadLiveStates(tx, members) };
    },
    { isolationLevel: 'repeatable read', readOnly: true },
  );
  const refs = new Map<string, SnapshotRef>();
  if (!fromStart) {
    for (const [user, ref] of await allSnapshotRefs(redis, keys, partition)) {
      const limit = limits.get(user);
      if (limit && (ref.covers === null || compareStreamIds(ref.covers, limit) <= 0)) refs.set(user, ref);
    }
  }
  for (const [user, live] of lives) if (live.tombstoned) limits.delete(user);
  return { limits, lives, refs };
}

/** Each member's report from their folded state (absent: nothing folded). */
function reportPartition(members: readonly string[], side: PartitionSide, states: ReadonlyMap<string, PortfolioProjection>, onUser: (report: UserReplayReport) => void): void {
  for (const user of members) {
    const live = side.lives.get(user)!;
    const projection = states.get(user) ?? emptyProjection(user);
    if (live.tombstoned) projection.deleted = true;
    const differences = diffPortfolios(live.comparable, comparableProjection(projection, { baseCurrency: live.baseCurrency, fx: live.fx, accountKeys: live.accountKeys }));
    onUser({
      userId: user,
      differences,
      differed: diffCount(differences) > 0,
      repaired: false,
      eventsReplayed: projection.eventsFolded,
      fromSnapshot: side.refs.get(user)?.id ?? null,
      upTo: side.limits.get(user) ?? null,
      skipped: [],
    });
  }
}

/**
 * Dry runs of many users, a partition at a time: per partition one repeatable-read snapshot of
 * the users' checkpoints and rows (a few queries for all of them), and one pass over the stream
 * folding all of them (from their snapshots, or the start), each up to their checkpoint.
 * `onUser` gets every report, a partition's users together.
 *
 * With `inThreads`, the folds run in that many worker threads while this thread reads the next
 * partitions' rows and diffs the folded ones (a partition more in hand than there are threads, so
 * none waits for this thread); the reports are the same, partitions coming in the order they
 * finish. The threads end with the run, also when it fails.
 */
export async function dryRunUsers(
  db: Knex,
  redis: Redis,
  keys: StreamKeys,
  partitionCount: number,
  users: readonly string[],
  fromStart: boolean,
  onUser: (report: UserReplayReport) => void,
  inThreads?: DryRunThreads,
): Promise<void> {
  const byPartition = new Map<number, string[]>();
  for (const user of users) {
    const p = partitionOf(user, partitionCount);
    byPartition.set(p, [...(byPartition.get(p) ?? []), user]);
  }
  const factsOf = (side: PartitionSide) => (user: string) => ({ snaptradeRegisteredAt: side.lives.get(user)?.snaptradeRegisteredAt ?? null });
  if (!inThreads) {
    for (const [partition, members] of byPartition) {
      const side = await readPartitionSide(db, redis, keys, partition, members, fromStart);
      reportPartition(members, side, await foldUsers(redis, keys, partition, side.limits, side.refs, factsOf(side)), onUser);
    }
    return;
  }
  if (byPartition.size === 0) return;
  const pool = new RebuildPool({ redisTarget: inThreads.redisTarget, namespace: keys.namespace, threads: Math.min(inThreads.threads, byPartition.size) });
  const queue = [...byPartition];
  let failed = false;
  const lane = async () => {
    for (let next = queue.shift(); next && !failed; next = queue.shift()) {
      const [partition, members] = next;
      const side = await readPartitionSide(db, redis, keys, partition, members, fromStart);
      const facts = new Map(members.map((user) => [user, factsOf(side)(user)]));
      const folded = await pool.fold({ partition, limits: side.limits, refs: side.refs, facts });
      const states = new Map(folded.map(({ snapshot, eventsFolded }) => [snapshot.userId, Object.assign(fromSnapshot(snapshot), { eventsFolded })]));
      reportPartition(members, side, states, onUser);
    }
  };
  const lanes = Array.from({ length: Math.min(inThreads.threads + 1, byPartition.size) }, () =>
    lane().catch((err: unknown) => {
      // The first failure stops the other lanes from taking partitions; the pool stops too.
      failed = true;
      throw err;
    }),
  );
  try {
    await Promise.all(lanes);
  } finally {
    await pool.close();
    await Promise.allSettled(lanes);
  }
}
