import type { Knex } from '../../src/db/knex.ts';
import type { ActorBehavior } from '../actor-behavior.ts';

/**
 * The smallest useful projection (benchmarks): one row per user counting its applied events.
 * One upsert per batch, so the runtime's own cost dominates. Not part of the product schema.
 */
export const EVENT_COUNT_TABLE = 'actor_event_counts';

export async function createEventCountTable(db: Knex): Promise<void> {
  await db.raw(`
    CREATE TABLE IF NOT EXISTS ${EVENT_COUNT_TABLE} (
      user_id text PRIMARY KEY,
      applied bigint NOT NULL,
      last_event_id text NOT NULL
    )`);
}

export interface EventCountState {
  applied: number;
}

export function countingProjection(): ActorBehavior<EventCountState> {
  return {
    name: 'counting',
    async load(db, userId) {
      const row = (await db(EVENT_COUNT_TABLE).where({ user_id: userId }).first('applied')) as
        | { applied: number | string }
        | undefined;
      return { applied: Number(row?.applied ?? 0) };
    },
    async apply(tx, state, events, context) {
      const last = events[events.length - 1]!;
      await tx.raw(
        `INSERT INTO ${EVENT_COUNT_TABLE} (user_id, applied, last_event_id) VALUES (?, ?, ?)
         ON CONFLICT (user_id) DO UPDATE
           SET applied = ${EVENT_COUNT_TABLE}.applied + EXCLUDED.applied, last_event_id = EXCLUDED.last_event_id`,
        [context.userId, events.length, last.id],
      );
      return { applied: state.applied + events.length };
    },
  };
}

/** Total events applied across users. */
export async function totalCounted(db: Knex): Promise<number> {
  const row = (await db(EVENT_COUNT_TABLE).sum({ n: 'applied' }).first()) as { n: number | string | null } | undefined;
  return Number(row?.n ?? 0);
}
