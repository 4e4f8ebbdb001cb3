import type { Redis } from 'ioredis';
import type { Knex } from '../db/knex.ts';
import type { StreamKeys } from '../../streams/keys.ts';
import { emptyProjection } from '../../actors/portfolio/portfolio-projection.ts';
import { comparableProjection, diffCount, diffPortfolios, type PortfolioDiff } from './portfolio-diff.ts';
import { loadLiveState } from './live-state.ts';
import { rebuildUser, type SkippedEvent } from './rebuild-user.ts';
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
