import type { Knex } from '../src/db/knex.ts';
import type { StreamId } from '../streams/stream-id.ts';

/**
 * Postgres side of exactly-once: per-user checkpoints (the last applied stream id) and per-
 * partition fences (the newest lease token). Both are read and written inside the same
 * transaction as the user's projection, so effects, checkpoint and fence commit or roll back as
 * one.
 *
 * Fencing protocol:
 * - A worker that acquires a partition lease first *claims* the fence: it writes its token and
 *   its incarnation to `partition_fences` (only upward; an equal token only by the same owner)
 *   and commits, before it loads or applies anything. That write waits for the commits of the
 *   previous holder in flight (they hold the row in share mode), so everything the previous
 *   holder committed is visible to the new holder's loads.
 * - Every commit transaction reads the fence row `FOR SHARE` and aborts with `FencedError` unless
 *   it holds exactly the commit's token (a newer holder claimed it, or ours was never claimed).
 *   The share lock lets the actors of one partition commit concurrently, while a new holder's
 *   claim cannot slip in between the check and the commit.
 * - Each transaction sets `idle_in_transaction_session_timeout`: a worker paused in the middle of
 *   a transaction (SIGSTOP, a long GC) gets its session closed by Postgres, so it neither blocks
 *   the next holder's claim nor commits when it wakes up.
 */

export class FencedError extends Error {
  constructor(
    readonly partition: number,
    readonly token: number,
    readonly current: number | null,
  ) {
    super(`partition ${partition}: fencing token ${token} is stale (current ${current ?? 'none'})`);
    this.name = 'FencedError';
  }
}

interface FenceRow {
  fencing_token: number | string;
}

/** The highest token each partition's fence holds (the floor for new tokens). */
export async function readFences(db: Knex): Promise<Map<number, number>> {
  const rows = (await db('partition_fences').select('partition', 'fencing_token')) as {
    partition: number;
    fencing_token: number | string;
  }[];
  return new Map(rows.map((r) => [r.partition, Number(r.fencing_token)]));
}

/** What a fence claim found: `claimed` when the fence now holds `token` for this owner. */
export interface FenceClaim {
  claimed: boolean;
  /** The token the fence holds afterwards (ours when claimed, else the newer or rival one). */
  token: number;
}

/**
 * Writes a new lease holder's token to the partition's fence, only upward, and strictly: an
 * equal token is accepted only from the owner that wrote it (a retried claim), never from
 * another incarnation. Tokens are unique per acquisition, so an equal token from someone else
 * means the Redis counter was lost and handed out a token twice: the second tenure must not
 * share the first one's fence. `owner` is the lease holder, `<workerId>:<incarnation>`.
 * Waits at most `lockTimeoutMs` for the previous holder's in-flight commits (throws then).
 */
export async function claimFence(
  db: Knex,
  fence: { partition: number; token: number; owner: string; lockTimeoutMs: number },
): Promise<FenceClaim> {
  return db.transaction(async (tx) => {
    await tx.raw(`SELECT set_config('lock_timeout', ?, true)`, [`${Math.max(1, Math.round(fence.lockTimeoutMs))}ms`]);
    const updated = (await tx.raw(
      `INSERT INTO partition_fences (partition, fencing_token, owner) VALUES (?, ?, ?)
       ON CONFLICT (partition) DO UPDATE
         SET fencing_token = EXCLUDED.fencing_token, owner = EXCLUDED.owner, updated_at = now()
         WHERE partition_fences.fencing_token < EXCLUDED.fencing_token
            OR (partition_fences.fencing_token = EXCLUDED.fencing_token AND partition_fences.owner = EXCLUDED.owner)
       RETURNING fencing_token`,
      [fence.partition, fence.token, fence.owner],
    )) as { rows: FenceRow[] };
    if (updated.rows[0]) return { claimed: true, token: Number(updated.rows[0].fencing_token) };
    const current = (await tx('partition_fences').where({ partition: fence.partition }).first('fencing_token')) as
      | FenceRow
      | undefined;
    return { claimed: false, token: Number(current?.fencing_token ?? 0) };
  });
}

/**
 * First statement of a commit transaction, in one round trip: checks the partition fence (shared
 * lock), locks the user's checkpoint row, returns the checkpoint as it was (null for a user never
 * applied) and, with `advanceTo`, moves it forward to that id already (never backward: a batch
 * wholly at or below the stored checkpoint leaves it alone). Writing the checkpoint before the
 * projection is safe because the transaction commits or rolls back as a whole. Throws
 * `FencedError` unless the fence holds exactly this token: a newer lease holder claimed the
 * partition (the caller rolls back).
 */
export async function beginFencedCommit(
  tx: Knex.Transaction,
  commit: { partition: number; token: number; userId: string; idleTimeoutMs: number; advanceTo?: StreamId },
): Promise<StreamId | null> {
  const advance = commit.advanceTo
    ? `, moved AS (
         INSERT INTO actor_checkpoints (user_id, partition, last_stream_ms, last_stream_seq, fencing_token)
         SELECT ?, ?, ?, ?, ? WHERE (SELECT fencing_token FROM fence) = ?
         ON CONFLICT (user_id) DO UPDATE
           SET partition = EXCLUDED.partition, last_stream_ms = EXCLUDED.last_stream_ms,
               last_stream_seq = EXCLUDED.last_stream_seq, fencing_token = EXCLUDED.fencing_token, updated_at = now()
           WHERE (actor_checkpoints.last_stream_ms, actor_checkpoints.last_stream_seq)
               < (EXCLUDED.last_stream_ms, EXCLUDED.last_stream_seq)
         RETURNING 1)`
    : '';
  const bindings: unknown[] = [`${Math.max(1, Math.round(commit.idleTimeoutMs))}ms`, commit.partition, commit.userId];
  if (commit.advanceTo) {
    const { ms, seq } = commit.advanceTo;
    bindings.push(commit.userId, commit.partition, ms, seq, commit.token, commit.token);
  }
  const result = (await tx.raw(
    `WITH cfg AS (SELECT set_config('idle_in_transaction_session_timeout', ?, true) AS v),
          fence AS (SELECT fencing_token FROM partition_fences WHERE partition = ? FOR SHARE),
          cp AS (SELECT last_stream_ms, last_stream_seq FROM actor_checkpoints WHERE user_id = ? FOR UPDATE)${advance}
     SELECT (SELECT v FROM cfg) AS cfg,
            (SELECT fencing_token FROM fence) AS fencing_token,
            (SELECT last_stream_ms FROM cp) AS ms,
            (SELECT last_stream_seq FROM cp) AS seq${commit.advanceTo ? ', (SELECT count(*) FROM moved) AS moved' : ''}`,
    bindings as Knex.RawBinding[],
  )) as { rows: { fencing_token: number | string | null; ms: number | string | null; seq: number | string | null }[] };
  const row = result.rows[0]!;
  const current = row.fencing_token === null ? null : Number(row.fencing_token);
  if (current !== commit.token) throw new FencedError(commit.partition, commit.token, current);
  return row.ms === null ? null : { ms: Number(row.ms), seq: Number(row.seq) };
}

/** Moves the user's checkpoint forward to `id` (never backward), inside the commit transaction. */
export async function advanceCheckpoint(
  tx: Knex.Transaction,
  checkpoint: { userId: string; partition: number; id: StreamId; token: number },
): Promise<void> {
  await tx.raw(
    `INSERT INTO actor_checkpoints (user_id, partition, last_stream_ms, last_stream_seq, fencing_token)
     VALUES (?, ?, ?, ?, ?)
     ON CONFLICT (user_id) DO UPDATE
       SET partition = EXCLUDED.partition, last_stream_ms = EXCLUDED.last_stream_ms,
           last_stream_seq = EXCLUDED.last_stream_seq, fencing_token = EXCLUDED.fencing_token, updated_at = now()
       WHERE (actor_checkpoints.last_stream_ms, actor_checkpoints.last_stream_seq)
           < (EXCLUDED.last_stream_ms, EXCLUDED.last_stream_seq)`,
    [checkpoint.userId, checkpoint.partition, checkpoint.id.ms, checkpoint.id.seq, checkpoint.token],
  );
}

/** The user's checkpoint outside any transaction (actor activation). */
export async function readCheckpoint(db: Knex, userId: string): Promise<StreamId | null> {
  const row = (await db('actor_checkpoints').where({ user_id: userId }).first('last_stream_ms', 'last_stream_seq')) as
    | { last_stream_ms: number | string; last_stream_seq: number | string }
    | undefined;
  return row ? { ms: Number(row.last_stream_ms), seq: Number(row.last_stream_seq) } : null;
}
