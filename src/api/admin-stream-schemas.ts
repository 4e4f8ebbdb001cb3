import { z } from 'zod';
import { requestSchemas, responseSchemas } from './schemas.ts';

/**
 * Requests and answers of the operator's stream routes (`admin-stream-routes.ts`): a user's
 * partition stream and dead letters, and retrying or discarding a parked entry. Registered in the
 * same registries as `schemas.ts`, so the OpenAPI document renders them. Pure: no I/O.
 */

const streamId = z
  .string()
  .regex(/^\d{1,20}-\d{1,20}$/, 'a stream id: <milliseconds>-<sequence>')
  .describe('A Redis stream entry id, `<milliseconds>-<sequence>`.');

/** Entries per page: 50 unless asked, at most 200. */
const limit = z.coerce.number().int().min(1).max(200).default(50).describe('Entries per page (1 to 200; default 50).');

/** The path parameters of the dead-letter routes. */
export const deadLetterParams = z
  .object({
    partition: z.coerce.number().int().min(0).describe('The partition (0 to `PARTITION_COUNT` - 1).'),
    id: streamId.describe("The dead letter's id in the partition's dead-letter stream."),
  })
  .strict();

/** The query of `GET /api/admin/users/:id/stream`. */
export const userStreamQuery = z
  .object({
    stream: z.enum(['events', 'dead']).default('events').describe("`events`: the partition stream; `dead`: its dead-letter stream."),
    order: z.enum(['newest', 'oldest']).default('newest').describe('`newest` first (default) or `oldest` first.'),
    cursor: streamId.optional().describe("The previous page's `next`: this page starts after that entry."),
    limit,
  })
  .strict();

/** `<partition>:<stream id>`: where a listing of dead letters goes on. */
const deadLetterCursor = z
  .string()
  .regex(/^\d{1,6}:\d{1,20}-\d{1,20}$/, 'the previous page\'s next: <partition>:<stream id>')
  .describe("The previous page's `next` (`<partition>:<stream id>`).");

/** The query of `GET /api/admin/dead-letters`. */
export const deadLettersQuery = z
  .object({
    partition: z.coerce.number().int().min(0).optional().describe('Only this partition (default: every partition).'),
    cursor: deadLetterCursor.optional(),
    limit,
  })
  .strict();

/** `POST /api/admin/dead-letters/:partition/:id/discard`. */
export const discardRequest = z
  .object({
    reason: z.string().trim().min(3).max(500).describe('Why the entry is discarded (logged, and kept with the settled marker for a week).'),
  })
  .strict()
  .register(requestSchemas, { id: 'DiscardDeadLetterRequest' });

// ---------------------------------------------------------------------------------------------
// Answers

const envelope = z
  .object({
    id: z.string(),
    type: z.string(),
    user: z.string(),
    partition: z.int().min(0),
    time: z.string(),
    schema: z.int().min(1),
    payload: z.unknown(),
    meta: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
  })
  .register(responseSchemas, {
    id: 'EventEnvelope',
    description: "An event as its producer wrote it (`streams/envelope.ts`); `meta.retryOf` marks a dead letter an operator retried.",
  });

const parking = {
  entryId: streamId.describe("The parked entry's id in the partition stream."),
  reason: z.string().describe('Why it was parked: the handler\'s error, or why the envelope does not decode.'),
  deliveries: z.int().min(0).describe('Attempts made before parking (0: it never decoded).'),
  parkedBy: z.string().optional().describe('The worker that parked it.'),
  parkedAt: z.string().describe('When (ISO 8601).'),
};

export const userStreamResponse = z
  .object({
    userId: z.string(),
    partition: z.int().min(0),
    stream: z.enum(['events', 'dead']),
    order: z.enum(['newest', 'oldest']),
    entries: z.array(
      z.object({
        streamId: streamId.describe('The entry id in the stream read (the dead-letter stream for `dead`).'),
        envelope: envelope.nullable().describe('Null when the entry names the user but does not decode (`error` says why).'),
        error: z.string().optional(),
        raw: z.string().optional().describe('The JSON as stored, when it does not decode.'),
        deadLetter: z.object(parking).optional().describe('For `dead`: why and when the entry was parked.'),
      }),
    ),
    next: streamId.nullable().describe('Pass as `cursor` for the next page; null at the end of the stream.'),
    scanned: z.int().min(0).describe("Stream entries read for this page (other users' included: they are never shown)."),
  })
  .register(responseSchemas, { id: 'UserStream' });
export type UserStreamResponse = z.infer<typeof userStreamResponse>;

export const deadLettersResponse = z
  .object({
    deadLetters: z.array(
      z.object({
        partition: z.int().min(0),
        id: streamId.describe("The dead letter's id in the dead-letter stream (the path parameter to retry or discard it)."),
        ...parking,
        user: z.string().nullable().describe('Whose event it is (null when the envelope does not decode).'),
        type: z.string().nullable(),
        envelope: envelope.nullable(),
        raw: z.string().optional().describe('The stored JSON (at most 2,000 characters), when the envelope does not decode.'),
      }),
    ),
    total: z.int().min(0).describe('Dead letters in the partitions listed (every copy counted).'),
    next: deadLetterCursor.nullable().describe('Pass as `cursor` for the next page; null after the last.'),
  })
  .register(responseSchemas, { id: 'DeadLetters' });
export type DeadLettersResponse = z.infer<typeof deadLettersResponse>;

export const deadLetterRetried = z
  .object({
    outcome: z.literal('retried'),
    partition: z.int().min(0),
    deadLetterId: streamId,
    entryId: streamId.describe('The original entry (removed from the partition stream).'),
    user: z.string(),
    type: z.string(),
    streamId: streamId.describe('The new entry the user\'s actor applies.'),
    removed: z.int().min(0).describe('Copies of the dead letter removed (parking is at-least-once).'),
  })
  .register(responseSchemas, { id: 'DeadLetterRetried' });
export type DeadLetterRetried = z.infer<typeof deadLetterRetried>;

export const deadLetterDiscarded = z
  .object({
    outcome: z.literal('discarded'),
    partition: z.int().min(0),
    deadLetterId: streamId,
    entryId: streamId.describe('The original entry (removed from the partition stream).'),
    user: z.string().nullable(),
    type: z.string().nullable(),
    removed: z.int().min(0),
  })
  .register(responseSchemas, { id: 'DeadLetterDiscarded' });
export type DeadLetterDiscarded = z.infer<typeof deadLetterDiscarded>;

export const adminSessionResponse = z
  .object({
    expiresAt: z.string().describe('When the session cookie expires (ISO 8601).'),
    path: z.string().describe('The only path the cookie is sent to: the queue board.'),
  })
  .register(responseSchemas, {
    id: 'AdminSession',
    description: 'The `Set-Cookie` of this answer holds the session: HttpOnly, SameSite=Strict, scoped to `path`.',
  });
export type AdminSessionResponse = z.infer<typeof adminSessionResponse>;
