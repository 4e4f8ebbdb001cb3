import { z } from 'zod';

/**
 * The versioned envelope of every event in a partition stream. Producers write it as one JSON
 * field (`e`) so a replay reads exactly what the actor read. `schema` is bumped when a payload
 * shape changes incompatibly; readers keep accepting every version they have ever written.
 */
export const ENVELOPE_SCHEMA_VERSION = 1;
export const ENVELOPE_FIELD = 'e';

export const EVENT_TYPES = [
  /** A verified SnapTrade webhook, payload = the webhook body as received. */
  'snaptrade.webhook',
  /** Positions and balances fetched for one account by a sync job. */
  'positions.synced',
  /**
   * One account's activities fetched by a sync job, as the provider sent them (at most a page:
   * `src/activities/normalize-activities.ts`); the actor normalises them and stores each once.
   */
  'activities.synced',
  /** Accounts of a connection fetched by a sync job. */
  'accounts.synced',
  /** A sync job gave up (final error); the actor records it and tells the user. */
  'sync.failed',
  /**
   * An Alpaca trade update of an internal account (every event: new, fill, partial_fill,
   * canceled, expired, rejected...), with the order as Alpaca sent it. Fills also sync the account.
   */
  'alpaca.trade_update',
  /**
   * An order the brokerage accepted, as placed through the API (id `order.placed:<order id>`, the
   * order id derived from the user and the Idempotency-Key: a retry adds nothing new).
   */
  'order.placed',
  /** A status a brokerage reported for one order (a cancel's answer, say). */
  'order.updated',
  /**
   * The user changed their settings (`{baseCurrency}`, from `PUT /api/me/settings`): the actor
   * stores them and revalues the portfolio in the new base in the same commit
   * (`src/users/settings-event.ts`, `actors/portfolio/settings-projection.ts`).
   */
  'settings.changed',
  /** The actor's own state at a point in the stream; replay starts from the latest one. */
  'snapshot',
  /**
   * Legacy, no longer written: web nodes used to append one on every first socket of a user,
   * so a reconnecting client grew the stream without bound. Presence now lives only in the
   * watched set (`src/realtime/presence.ts`). Entries already in streams are still accepted and
   * applied as a no-op (they only move the checkpoint).
   */
  'presence.watch',
  /**
   * The user asked to be deleted (or an admin did), after SnapTrade's copy was deleted: the actor
   * removes everything the user owns and leaves a tombstone.
   */
  'user.deleted',
  /**
   * An operator's replay of the user (`{replayId, dryRun, fromStart}`): the actor rebuilds the user
   * from the stream up to this event, compares, repairs in its commit and records the report
   * (`src/replay/admin-replay-event.ts`).
   */
  'admin.replay',
] as const;

export type EventType = (typeof EVENT_TYPES)[number];

export const envelopeSchema = z.object({
  /** Producer-assigned event id (webhookId for webhooks), unique per user. */
  id: z.string().min(1).max(200),
  type: z.string().min(1).max(100),
  /** Our user id, or the SnapTrade user id for webhooks (mapped by the actor). */
  user: z.string().min(1).max(200),
  partition: z.number().int().nonnegative(),
  /** When the producer created the event (ISO 8601). */
  time: z.string().datetime({ offset: true }),
  schema: z.number().int().positive(),
  payload: z.unknown(),
  /**
   * Optional producer annotations that are not part of the payload (the payload stays exactly as
   * received). Webhooks set `eventType`, `webhookSchema` (`api_key` | `oauth_v1` | `unknown`) and
   * `knownEventType` (false for event types SnapTrade had not documented when this was written).
   */
  meta: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
});

export type Envelope<P = unknown> = Omit<z.infer<typeof envelopeSchema>, 'payload'> & { payload: P };

export function encodeEnvelope(envelope: Envelope): string {
  return JSON.stringify(envelope);
}

const ENVELOPE_KEYS = new Set(Object.keys(envelopeSchema.shape));
const timeSchema = envelopeSchema.shape.time;

const isBoundedString = (value: unknown, max: number) => typeof value === 'string' && value.length >= 1 && value.length <= max;

function isMeta(value: unknown): boolean {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  for (const key in value) {
    const field = (value as Record<string, unknown>)[key];
    if (key === '__proto__' || !(typeof field === 'string' || typeof field === 'boolean' || (typeof field === 'number' && Number.isFinite(field)))) return false;
  }
  return true;
}

/**
 * True when `value` (parsed JSON) is an envelope that `envelopeSchema` accepts as it is: every
 * field within the schema's rules and no other key (zod would strip it). A replay decodes every
 * entry of a stream, and zod's walk cost about 1 µs an entry (this check 0.4 µs; parsing a sync
 * result's JSON about 10 µs); anything this does not accept goes through zod, which answers (and
 * words the error) as before. Property-tested against zod.
 */
function isCanonicalEnvelope(value: unknown): value is Envelope {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const v = value as Record<string, unknown>;
  for (const key in v) if (!ENVELOPE_KEYS.has(key)) return false;
  return (
    'payload' in v &&
    isBoundedString(v.id, 200) &&
    isBoundedString(v.type, 100) &&
    isBoundedString(v.user, 200) &&
    Number.isSafeInteger(v.partition) &&
    (v.partition as number) >= 0 &&
    Number.isSafeInteger(v.schema) &&
    (v.schema as number) > 0 &&
    typeof v.time === 'string' &&
    timeSchema.safeParse(v.time).success &&
    (v.meta === undefined || isMeta(v.meta))
  );
}

/** Parses a stream entry's `e` field; throws a ZodError/SyntaxError for a malformed entry. */
export function decodeEnvelope(raw: string): Envelope {
  const parsed: unknown = JSON.parse(raw);
  return isCanonicalEnvelope(parsed) ? parsed : (envelopeSchema.parse(parsed) as Envelope);
}
