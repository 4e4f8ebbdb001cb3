import { z } from 'zod';

/**
 * SnapTrade webhook payloads (docs.snaptrade.com/docs/webhooks; examples in
 * test/fixtures/snaptrade-webhook-examples.json). Two schemas exist:
 *
 * - `api_key` (no `schemaVersion`): `webhookId, clientId, eventTimestamp, userId, eventType`, the
 *   deprecated `webhookSecret`, and each event type's own fields;
 * - `oauth_v1` (`schemaVersion: "oauth_v1"`): `oauthClientId` instead of `clientId`,
 *   `connectionId` instead of `brokerageAuthorizationId`, no `webhookSecret`.
 *
 * Validation is deliberately about presence and type, never about formats SnapTrade does not
 * promise: ids are not required to be UUIDs (the docs' own examples are not all UUIDs), enum-like
 * strings (`connectionAttemptedResult`) accept values added later, and unknown fields are kept
 * (the TRADE_* examples carry a stray `webookId`). Rejecting a genuine webhook loses it after
 * SnapTrade's 3 retries, so the schemas only require what the docs show on every example.
 * Unknown event types, and unknown `schemaVersion`s, are accepted on the common fields alone.
 */

/** Event types documented for API-key integrations when this was written. */
export const KNOWN_EVENT_TYPES = [
  'USER_REGISTERED',
  'USER_DELETED',
  'CONNECTION_ATTEMPTED',
  'CONNECTION_ADDED',
  'CONNECTION_DELETED',
  'CONNECTION_BROKEN',
  'CONNECTION_FIXED',
  'CONNECTION_UPDATED',
  'CONNECTION_FAILED',
  'NEW_ACCOUNT_AVAILABLE',
  'ACCOUNT_TRANSACTIONS_INITIAL_UPDATE',
  'ACCOUNT_TRANSACTIONS_UPDATED',
  'ACCOUNT_REMOVED',
  'ACCOUNT_HOLDINGS_UPDATED',
  'TRADE_DETECTION',
  'TRADE_UPDATE',
] as const;

export type KnownEventType = (typeof KNOWN_EVENT_TYPES)[number];

const knownEventTypes: ReadonlySet<string> = new Set(KNOWN_EVENT_TYPES);

export function isKnownEventType(eventType: string): eventType is KnownEventType {
  return knownEventTypes.has(eventType);
}

/** `api_key` | `oauth_v1`; `unknown` for a `schemaVersion` we have never seen. */
export type WebhookSchemaName = 'api_key' | 'oauth_v1' | 'unknown';

/** Ids are opaque strings, bounded so they fit in Redis key names and the envelope. */
const id = z.string().min(1).max(200);
const text = z.string().min(1).max(1000);
/** ISO 8601 with an offset; SnapTrade sends Python's `isoformat()` (microseconds, `+00:00`). */
const eventTimestamp = z.iso.datetime({ offset: true, message: 'must be an ISO 8601 timestamp with an offset' });
const eventType = z.string().min(1).max(100);

/** The fields every webhook carries, whatever its schema. */
const minimalFields = { webhookId: id, userId: id, eventTimestamp, eventType };

const apiKeyCommon = z.looseObject({
  ...minimalFields,
  clientId: text,
  /**
   * Deprecated by SnapTrade; never used for authentication. The ingest removes it once the
   * signature is checked, so it is never stored; other callers may still pass it.
   */
  webhookSecret: z.string().optional(),
});

/** One part of ACCOUNT_HOLDINGS_UPDATED `details` (`positions`, `balances`, ...). */
const syncPart = z.looseObject({ success: z.boolean(), error: z.unknown().optional() });

const order = z.looseObject({
  status: z.string().optional(),
  legs: z.array(z.looseObject({})).optional(),
});

/** The fields each documented API-key event type adds to the common ones (as in the examples). */
const apiKeyEventFields = {
  USER_REGISTERED: {},
  USER_DELETED: {},
  CONNECTION_ATTEMPTED: {
    /** SUCCESS, AUTH_EXPIRED, INVALID_AUTH_CODE, ... (open set). */
    connectionAttemptedResult: text,
    brokerageId: id,
  },
  CONNECTION_ADDED: { brokerageId: id, brokerageAuthorizationId: id },
  CONNECTION_DELETED: { brokerageId: id, brokerageAuthorizationId: id },
  CONNECTION_BROKEN: { brokerageAuthorizationId: id },
  CONNECTION_FIXED: { brokerageAuthorizationId: id },
  CONNECTION_UPDATED: { brokerageAuthorizationId: id },
  CONNECTION_FAILED: {},
  NEW_ACCOUNT_AVAILABLE: { accountId: id, brokerageAuthorizationId: id },
  ACCOUNT_TRANSACTIONS_INITIAL_UPDATE: { accountId: id, brokerageAuthorizationId: id },
  ACCOUNT_TRANSACTIONS_UPDATED: { accountId: id, brokerageAuthorizationId: id },
  ACCOUNT_REMOVED: { accountId: id, brokerageAuthorizationId: id },
  ACCOUNT_HOLDINGS_UPDATED: {
    accountId: id,
    brokerageId: id,
    brokerageAuthorizationId: id,
    /** What the sync attempted; sent even when it failed (`positions.success: false`). */
    details: z.looseObject({
      total_value: syncPart.optional(),
      positions: syncPart.optional(),
      balances: syncPart.optional(),
      orders: syncPart.optional(),
    }),
  },
  TRADE_DETECTION: {
    accountId: id,
    brokerageId: id,
    brokerageAuthorizationId: id,
    details: z.looseObject({ orders: z.array(order) }),
  },
  TRADE_UPDATE: {
    accountId: id,
    brokerageId: id,
    brokerageAuthorizationId: id,
    details: z.looseObject({ orders: z.array(order) }),
  },
} satisfies Record<KnownEventType, z.ZodRawShape>;

const apiKeySchemas = Object.fromEntries(
  KNOWN_EVENT_TYPES.map((type) => [type, apiKeyCommon.extend(apiKeyEventFields[type])]),
) as unknown as Record<KnownEventType, z.ZodType>;

/** `oauth_v1`: the documented field table; optional fields are typed when present. */
const oauthCommon = z.looseObject({
  schemaVersion: z.literal('oauth_v1'),
  ...minimalFields,
  oauthClientId: text,
  connectionId: id.optional(),
  brokerageId: id.optional(),
  accountId: id.optional(),
  connectionAttemptedResult: text.optional(),
  details: z.looseObject({}).optional(),
});

const oauthSchemas: Partial<Record<KnownEventType, z.ZodType>> = {
  CONNECTION_ATTEMPTED: oauthCommon.extend({
    connectionAttemptedResult: text,
    details: z.looseObject({ sessionId: id.optional() }).optional(),
  }),
};

const unknownSchema = z.looseObject({ schemaVersion: z.string(), ...minimalFields });

/**
 * The schemas `validateWebhook` chooses from, by `schemaVersion` and `eventType`: the OpenAPI
 * document (`src/http/openapi.ts`) renders the same choice as JSON Schema conditionals.
 */
export const WEBHOOK_SCHEMAS = {
  /** No `schemaVersion`: every webhook, whatever its `eventType`. */
  apiKeyCommon,
  /** No `schemaVersion`, by documented `eventType` (common fields included). */
  apiKey: apiKeySchemas,
  /** `schemaVersion: "oauth_v1"`: every webhook. */
  oauthCommon,
  /** `schemaVersion: "oauth_v1"`, by `eventType`, where one adds fields. */
  oauth: oauthSchemas,
  /** Any other `schemaVersion`. */
  unknown: unknownSchema,
} as const;

/** What the ingest needs from a valid webhook; `body` is the parsed payload, unchanged. */
export interface ValidWebhook {
  webhookId: string;
  userId: string;
  eventType: string;
  eventTimestamp: string;
  schema: WebhookSchemaName;
  knownEventType: boolean;
  body: Record<string, unknown>;
}

export type WebhookValidation = { ok: true; webhook: ValidWebhook } | { ok: false; reason: string };

/** Validates a parsed webhook body against its schema and event type. */
export function validateWebhook(body: unknown): WebhookValidation {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    return { ok: false, reason: 'body must be a JSON object' };
  }
  const record = body as Record<string, unknown>;
  const declaredType = typeof record.eventType === 'string' ? record.eventType : '';
  const known = isKnownEventType(declaredType);

  let schema: WebhookSchemaName;
  let validator: z.ZodType;
  if (record.schemaVersion === undefined) {
    schema = 'api_key';
    validator = known ? apiKeySchemas[declaredType] : apiKeyCommon;
  } else if (record.schemaVersion === 'oauth_v1') {
    schema = 'oauth_v1';
    validator = (known ? oauthSchemas[declaredType] : undefined) ?? oauthCommon;
  } else {
    schema = 'unknown';
    validator = unknownSchema;
  }

  const parsed = validator.safeParse(record);
  if (!parsed.success) return { ok: false, reason: describeIssues(parsed.error) };
  return {
    ok: true,
    webhook: {
      webhookId: record.webhookId as string,
      userId: record.userId as string,
      eventType: declaredType,
      eventTimestamp: record.eventTimestamp as string,
      schema,
      knownEventType: known,
      // The payload as received: zod's output would drop nothing (loose objects), but keeping the
      // original object guarantees the stream holds exactly what was signed (less the deprecated
      // `webhookSecret`, which the ingest drops before validating).
      body: record,
    },
  };
}

/** `eventTimestamp: must be ...; accountId: Invalid input: expected string, received undefined`. */
function describeIssues(error: z.ZodError): string {
  const issues = error.issues.slice(0, 5).map((issue) => {
    const path = issue.path.map(String).join('.');
    return path ? `${path}: ${issue.message}` : issue.message;
  });
  const more = error.issues.length > 5 ? ` (and ${error.issues.length - 5} more)` : '';
  return issues.join('; ') + more;
}
