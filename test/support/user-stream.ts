import type { Envelope } from '../../streams/envelope.ts';
import { streamKeys } from '../../streams/keys.ts';
import { partitionOf } from '../../streams/partition.ts';
import type { TestEngine } from './engine.ts';

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
