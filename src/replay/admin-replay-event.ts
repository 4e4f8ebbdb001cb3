import type { RedisClient as Redis } from '../runtime/redis-client.ts';
import type { Knex } from '../db/knex.ts';
import type { StreamKeys } from '../../streams/keys.ts';
import { replayUserState, type UserReplayReport } from './user-replay.ts';

/**
 * `admin.replay`: an operator asked to replay this user. Appended to the user's partition stream
 * so the user's actor runs the replay in order with the live events, inside its fenced commit:
 * it rebuilds the user from the stream up to this event, compares, repairs in the same
 * transaction as the checkpoint (unless `dryRun`), and records the report there too. A
 * redelivered `admin.replay` (a worker killed mid-replay) runs again from the committed state;
 * the first committed report of a replay id is the one kept.
 */
export const ADMIN_REPLAY_EVENT = 'admin.replay';

export interface AdminReplayPayload {
  replayId: string;
  dryRun: boolean;
  fromStart: boolean;
}

export interface AdminReplayRunner {
  /** Runs inside the actor's transaction; true when it rewrote the user's rows. */
  run(tx: Knex.Transaction, userId: string, streamId: string, payload: AdminReplayPayload): Promise<{ repaired: boolean }>;
}

export function createAdminReplayRunner(deps: { redis: Redis; keys: StreamKeys; partitionCount: number }): AdminReplayRunner {
  return {
    async run(tx, userId, streamId, payload) {
      const done = await tx('replay_reports').where({ replay_id: payload.replayId, user_id: userId }).first('repaired');
      if (done) return { repaired: false };
      const report = await replayUserState(tx, deps.redis, deps.keys, deps.partitionCount, userId, {
        until: streamId,
        fromStart: payload.fromStart,
        ...(payload.dryRun ? {} : { repairIn: tx }),
      });
      await saveReport(tx, payload.replayId, report);
      return { repaired: report.repaired };
    },
  };
}

export async function saveReport(db: Knex, replayId: string, report: UserReplayReport): Promise<void> {
  await db('replay_reports')
    .insert({ replay_id: replayId, user_id: report.userId, differed: report.differed, repaired: report.repaired, report: JSON.stringify(report) })
    .onConflict(['replay_id', 'user_id'])
    .ignore();
}
