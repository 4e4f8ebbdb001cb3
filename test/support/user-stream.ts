import type { Envelope } from '../../streams/envelope.ts';
import { streamKeys } from '../../streams/keys.ts';
import { partitionOf } from '../../streams/partition.ts';
import { compareStreamIds } from '../../streams/stream-id.ts';
import type { TestEngine } from './engine.ts';
import { WAIT_FLOOR_MS } from './wait-floor.ts';

/** One entry of a user's partition stream: its stream id and envelope. */
export interface UserStreamEntry {
  streamId: string;
  envelope: Envelope;
}

/** The user's entries in their partition stream, in stream order. */
export async function userStream(engine: TestEngine, userId: string): Promise<UserStreamEntry[]> {
  const key = streamKeys(engine.namespace).partitionStream(partitionOf(userId, engine.config.PARTITION_COUNT));
  const out: UserStreamEntry[] = [];
  for (const [streamId, fields] of await engine.redis.client.xrange(key, '-', '+')) {
    const raw = fields[fields.indexOf('e') + 1];
    const envelope = raw ? (JSON.parse(raw) as Envelope) : undefined;
    if (envelope?.user === userId) out.push({ streamId, envelope });
  }
  return out;
}

/** The SnapTrade webhook type of an envelope (`undefined` for other events). */
export function webhookType(envelope: Envelope): string | undefined {
  if (envelope.type !== 'snaptrade.webhook') return undefined;
  return (envelope.payload as { eventType?: string }).eventType;
}

/** Fields of a `positions.synced` payload the tests look at. */
export interface PositionsSyncedView {
  provider: string;
  accountId: string;
  asOf: string;
  fetchedAt: string;
  reason?: string;
  positions: unknown;
}

export function positionsSynced(envelope: Envelope): PositionsSyncedView | undefined {
  return envelope.type === 'positions.synced' ? (envelope.payload as PositionsSyncedView) : undefined;
}

/** Units per symbol in a SnapTrade `positions/all` answer carried by `positions.synced`. */
export function snaptradeUnits(payload: PositionsSyncedView): Record<string, number> {
  const results = (payload.positions as { results?: { units?: number | string; instrument?: { symbol?: string } }[] }).results ?? [];
  return Object.fromEntries(results.map((r) => [r.instrument?.symbol ?? '?', Number(r.units)]));
}

/**
 * Resolves once nothing is left to change the user's portfolio: no sync job of theirs is waiting,
 * delayed or running, and their actor's checkpoint is at their last stream entry. Positive
 * markers only (the queue and the checkpoint), polled until both hold at once.
 */
export async function userSettled(engine: TestEngine, userId: string, timeoutMs = 20_000): Promise<void> {
  const queue = engine.app.roles.scheduler.queue;
  const deadline = Date.now() + Math.max(timeoutMs, WAIT_FLOOR_MS);
  for (;;) {
    const jobs = await queue.getJobs(['active', 'waiting', 'delayed', 'prioritized']);
    const pending = jobs.filter((j) => j && 'userId' in j.data && j.data.userId === userId);
    const entries = await userStream(engine, userId);
    const last = entries.at(-1)?.streamId;
    const row = await engine.db.knex('actor_checkpoints').where({ user_id: userId }).first('last_stream_id');
    if (pending.length === 0 && (last === undefined || (row !== undefined && compareStreamIds(row.last_stream_id as string, last) >= 0))) {
      // Checked again after the checkpoint: a job may have been added by the last event applied.
      const again = await queue.getJobs(['active', 'waiting', 'delayed', 'prioritized']);
      if (!again.some((j) => j && 'userId' in j.data && j.data.userId === userId)) return;
    }
    if (Date.now() > deadline) {
      throw new Error(`user ${userId} never settled: ${pending.length} sync jobs pending, checkpoint ${row?.last_stream_id} of ${last}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
