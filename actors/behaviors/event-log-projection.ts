import { setTimeout as sleep } from 'node:timers/promises';
import type { Knex } from '../../src/db/knex.ts';
import type { Envelope } from '../../streams/envelope.ts';
import type { ActorBehavior } from '../actor-behavior.ts';

/**
 * A demonstration projection for tests and fault drills: every applied event becomes one row,
 * in the order it was applied, with who applied it under which fencing token. Comparing a user's
 * rows with a replay of its stream shows at once a lost, duplicated or reordered event. Its table
 * is not part of the product schema: tests create it in their own database.
 */
export const EVENT_LOG_TABLE = 'actor_event_log';

export async function createEventLogTable(db: Knex): Promise<void> {
  await db.raw(`
    CREATE TABLE IF NOT EXISTS ${EVENT_LOG_TABLE} (
      seq bigserial PRIMARY KEY,
      user_id text NOT NULL,
      stream_id text NOT NULL,
      event_id text NOT NULL,
      worker_id text NOT NULL,
      fencing_token bigint NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT clock_timestamp()
    )`);
  await db.raw(`CREATE INDEX IF NOT EXISTS ${EVENT_LOG_TABLE}_user ON ${EVENT_LOG_TABLE} (user_id, seq)`);
}

export interface EventLogState {
  applied: number;
}

export interface EventLogOptions {
  /** Awaited inside `apply`, in the transaction: a handler that does slow I/O. */
  applyDelayMs?: number;
  /** Events for which `apply` throws (poison events). */
  failWhen?: (event: Envelope) => boolean;
  /** Called on entry to and exit from `apply` (tests watch for re-entrance). */
  onApply?: (phase: 'enter' | 'exit', userId: string, events: readonly Envelope[]) => void;
}

export function eventLogProjection(options: EventLogOptions = {}): ActorBehavior<EventLogState> {
  return {
    name: 'event-log',
    async load(db, userId) {
      const row = (await db(EVENT_LOG_TABLE).where({ user_id: userId }).count({ n: '*' }).first()) as
        | { n: number | string }
        | undefined;
      return { applied: Number(row?.n ?? 0) };
    },
    async apply(tx, state, events, context) {
      options.onApply?.('enter', context.userId, events);
      try {
        if (options.applyDelayMs) await sleep(options.applyDelayMs);
        const poison = options.failWhen && events.find((e) => options.failWhen!(e));
        if (poison) throw new Error(`cannot apply event ${poison.id}`);
        await tx(EVENT_LOG_TABLE).insert(
          events.map((event, i) => ({
            user_id: context.userId,
            stream_id: context.streamIds[i],
            event_id: event.id,
            worker_id: context.workerId,
            fencing_token: context.fencingToken,
          })),
        );
        return { applied: state.applied + events.length };
      } finally {
        options.onApply?.('exit', context.userId, events);
      }
    },
  };
}

/** Each user's applied stream ids, in the order they were applied. */
export async function appliedStreamIds(db: Knex): Promise<Map<string, string[]>> {
  const rows = (await db(EVENT_LOG_TABLE).select('user_id', 'stream_id').orderBy('seq')) as {
    user_id: string;
    stream_id: string;
  }[];
  const byUser = new Map<string, string[]>();
  for (const row of rows) {
    let list = byUser.get(row.user_id);
    if (!list) byUser.set(row.user_id, (list = []));
    list.push(row.stream_id);
  }
  return byUser;
}
