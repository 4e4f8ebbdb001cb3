import { duplicateClient, type RedisClient as Redis } from '../runtime/redis-client.ts';
import { ENVELOPE_SCHEMA_VERSION, encodeEnvelope, type Envelope } from '../../streams/envelope.ts';
import type { StreamKeys } from '../../streams/keys.ts';
import { partitionOf } from '../../streams/partition.ts';
import { defineAppendWebhook } from '../../streams/scripts/append-webhook.ts';
import type { ErrorCode } from '../http/errors.ts';
import type { WebhookRejectReason } from './webhook-metrics.ts';
import { createReplicaAck } from './replica-ack.ts';
import { validateWebhook, type ValidWebhook } from './webhook-schemas.ts';
import { verifyWebhookSignature } from './verify-signature.ts';
import { asError } from '../runtime/as-error.ts';

/** How long a webhookId is remembered: far longer than SnapTrade's retries (30 min, then 3 times). */
export const DEFAULT_SEEN_TTL_SECONDS = 7 * 24 * 3600;
/** How far ahead of our clock an `eventTimestamp` may be (clock skew). */
export const DEFAULT_MAX_FUTURE_SECONDS = 300;
/** A Redis that does not answer within this is treated as down (503, SnapTrade retries). */
export const DEFAULT_STORE_TIMEOUT_MS = 2_000;

export interface WebhookIngestOptions {
  redis: Redis;
  keys: StreamKeys;
  partitionCount: number;
  /** Consumer keys a valid Signature may use (current first). */
  signingKeys: readonly string[];
  /** Oldest accepted `eventTimestamp`, in seconds before `now()` (WEBHOOK_MAX_AGE_SECONDS). */
  maxAgeSeconds: number;
  /** @default 300 */
  maxFutureSeconds?: number;
  /** TTL of the dedupe marker; must exceed `maxAgeSeconds`. @default 604800 (7 days) */
  seenTtlSeconds?: number;
  /** @default 2000 */
  storeTimeoutMs?: number;
  /** The clock (ms since epoch) for the age check and the envelope time. @default Date.now */
  now?: () => number;
  /**
   * Replicas that must hold a webhook before it is answered 200 (`WEBHOOK_MIN_REPLICAS`); 0
   * answers once the primary has it. Above 0 the appends go over a connection of the ingest's own
   * (a duplicate of `redis`), which `close()` ends.
   */
  minReplicas?: number;
  /** How long to wait for them before answering 503 (`WEBHOOK_REPLICA_TIMEOUT_MS`). @default 1000 */
  replicaTimeoutMs?: number;
}

export type IngestOutcome =
  | {
      kind: 'accepted' | 'duplicate';
      streamId: string;
      webhook: ValidWebhook;
      partition: number;
    }
  | { kind: 'rejected'; reason: WebhookRejectReason; code: ErrorCode; message: string }
  | { kind: 'failed'; code: 'FS_STORAGE_UNAVAILABLE'; message: string; error: Error; webhook: ValidWebhook };

export interface WebhookIngest {
  /**
   * Verifies, validates, dedupes and appends one webhook body (the raw text as received).
   * Resolves with an outcome for every input; never rejects.
   */
  ingest(rawBody: string, signature: string | undefined): Promise<IngestOutcome>;
  /** Ends the ingest's own connection, if it has one (never the `redis` it was given). */
  close(): Promise<void>;
}

/**
 * ioredis states in which a command would only wait in the offline queue for a reconnect. While
 * Redis is down the client cycles through all of them, `connecting` included (each attempt): a
 * webhook that came during an attempt waited out the store timeout instead of a 503 at once.
 */
const DISCONNECTED = new Set(['connecting', 'reconnecting', 'close', 'end']);

/** Redis is known to be disconnected: answer 503 now rather than queue behind the reconnect backoff. */
export class StoreUnavailableError extends Error {
  constructor(status: string) {
    super(`Redis is not connected (${status})`);
    this.name = 'StoreUnavailableError';
  }
}

/** Fewer replicas than `WEBHOOK_MIN_REPLICAS` acknowledged the append in time. */
export class ReplicaAckError extends Error {
  constructor(acknowledged: number, wanted: number, ms: number) {
    super(`${acknowledged} of ${wanted} replica(s) acknowledged within ${ms} ms`);
    this.name = 'ReplicaAckError';
  }
}

export class StoreTimeoutError extends Error {
  constructor(ms: number) {
    super(`Redis did not answer within ${ms} ms`);
    this.name = 'StoreTimeoutError';
  }
}

/**
 * The webhook pipeline without HTTP: parse, verify the signature (before looking at the fields,
 * so an unauthenticated caller learns nothing about our schema), drop the deprecated
 * `webhookSecret` (after the check: the signature covers it), validate, check the age, then
 * dedupe and append in one Lua script. The answer to SnapTrade is only "accepted" once Redis has
 * acknowledged the append.
 */
export function createWebhookIngest(options: WebhookIngestOptions): WebhookIngest {
  const now = options.now ?? Date.now;
  const maxAgeMs = options.maxAgeSeconds * 1000;
  const maxFutureMs = (options.maxFutureSeconds ?? DEFAULT_MAX_FUTURE_SECONDS) * 1000;
  const seenTtl = options.seenTtlSeconds ?? DEFAULT_SEEN_TTL_SECONDS;
  const storeTimeoutMs = options.storeTimeoutMs ?? DEFAULT_STORE_TIMEOUT_MS;
  if (seenTtl <= options.maxAgeSeconds) {
    // A replay older than the dedupe memory but younger than the age limit would be appended twice.
    throw new RangeError(`webhook dedupe TTL (${seenTtl} s) must exceed the max age (${options.maxAgeSeconds} s)`);
  }
  if (options.signingKeys.length === 0) throw new RangeError('at least one webhook signing key is required');
  const minReplicas = options.minReplicas ?? 0;
  const replicaTimeoutMs = options.replicaTimeoutMs ?? 1_000;
  // WAIT counts one connection's writes and blocks it while it waits: appends and waits get their own.
  const writer = minReplicas > 0 ? duplicateClient(options.redis, 'foliostream-webhook-durable') : options.redis;
  if (writer !== options.redis) writer.on('error', () => {});
  const replicaAck = minReplicas > 0 ? createReplicaAck(writer, minReplicas, replicaTimeoutMs) : undefined;
  const appendWebhook = defineAppendWebhook(writer);
  /** The append, then (with `minReplicas`) the replicas' acknowledgement of it, within the store timeout. */
  const store = async (keys: { seen: string; stream: string }, envelopeJson: string) => {
    const stored = await appendWebhook(keys, envelopeJson, seenTtl);
    if (replicaAck) {
      // A duplicate waits too: its first delivery may be the one that was answered 503 for want of replicas.
      const acknowledged = await replicaAck.wait();
      if (acknowledged < minReplicas) throw new ReplicaAckError(acknowledged, minReplicas, replicaTimeoutMs);
    }
    return stored;
  };

  const reject = (reason: WebhookRejectReason, code: ErrorCode, message: string): IngestOutcome => ({
    kind: 'rejected',
    reason,
    code,
    message,
  });

  return {
    async ingest(rawBody, signature) {
      let body: unknown;
      try {
        body = JSON.parse(rawBody);
      } catch {
        return reject('malformed_json', 'FS_MALFORMED_JSON', 'request body is not valid JSON');
      }
      if (!verifyWebhookSignature(body, signature, options.signingKeys)) {
        return reject('bad_signature', 'FS_WEBHOOK_SIGNATURE', 'missing or invalid Signature header');
      }
      // The signature covers it, so it goes only now, and before anything is stored.
      stripDeprecatedSecret(body);
      const validation = validateWebhook(body);
      if (!validation.ok) return reject('invalid_schema', 'FS_VALIDATION', validation.reason);
      const webhook = validation.webhook;

      const clock = now();
      const eventTime = Date.parse(webhook.eventTimestamp);
      if (clock - eventTime > maxAgeMs) {
        return reject(
          'stale',
          'FS_WEBHOOK_STALE',
          `eventTimestamp ${webhook.eventTimestamp} is older than ${options.maxAgeSeconds} seconds`,
        );
      }
      if (eventTime - clock > maxFutureMs) {
        return reject('stale', 'FS_WEBHOOK_STALE', `eventTimestamp ${webhook.eventTimestamp} is in the future`);
      }

      const partition = partitionOf(webhook.userId, options.partitionCount);
      const envelope: Envelope = {
        id: webhook.webhookId,
        type: 'snaptrade.webhook',
        user: webhook.userId,
        partition,
        time: new Date(clock).toISOString(),
        schema: ENVELOPE_SCHEMA_VERSION,
        payload: webhook.body,
        meta: { eventType: webhook.eventType, webhookSchema: webhook.schema, knownEventType: webhook.knownEventType },
      };
      try {
        if (DISCONNECTED.has(writer.status)) throw new StoreUnavailableError(writer.status);
        const stored = await withTimeout(
          store({ seen: options.keys.webhookSeen(partition, webhook.webhookId), stream: options.keys.partitionStream(partition) }, encodeEnvelope(envelope)),
          storeTimeoutMs + (replicaAck ? replicaTimeoutMs : 0),
        );
        return { kind: stored.duplicate ? 'duplicate' : 'accepted', streamId: stored.streamId, webhook, partition };
      } catch (err) {
        const error = asError(err);
        return {
          kind: 'failed',
          code: 'FS_STORAGE_UNAVAILABLE',
          message: error instanceof ReplicaAckError ? 'the event is not yet on enough replicas; retry later' : 'the event could not be stored; retry later',
          error,
          webhook,
        };
      }
    },
    async close() {
      if (writer !== options.redis) writer.disconnect();
    },
  };
}

/**
 * SnapTrade's deprecated `webhookSecret` (a shared secret repeated in every API-key webhook): never
 * used for authentication here (the Signature is), so it is dropped before the body is appended to
 * the stream (and from there reaches `webhook_inbox`, replays and logs).
 */
export const DEPRECATED_SECRET_FIELDS = ['webhookSecret'] as const;

function stripDeprecatedSecret(body: unknown): void {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return;
  for (const field of DEPRECATED_SECRET_FIELDS) delete (body as Record<string, unknown>)[field];
}

/**
 * Bounds a Redis call. If the command still runs after we gave up, the webhook may be appended
 * although we answered 503: SnapTrade's retry then meets the dedupe marker and gets 200.
 */
function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new StoreTimeoutError(ms)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
