import type { IncomingMessage, ServerResponse } from 'node:http';
import { Router } from 'express';
import type { WebhookResponse } from '../api/schemas.ts';
import { isJsonContentType } from '../http/content-type.ts';
import { ERRORS, errorBody, type ErrorCode } from '../http/errors.ts';
import { sendMethodNotAllowed } from '../http/raw-answers.ts';
import { readsOwnBody } from '../http/server.ts';
import type { Logger } from '../logging/logger.ts';
import type { AppContext } from '../runtime/context.ts';
import { createWebhookIngest, type IngestOutcome, type WebhookIngestOptions } from './ingest-service.ts';
import { webhookMetrics, type WebhookMetrics, type WebhookRejectReason } from './webhook-metrics.ts';
import { webhookSigningKeys } from './verify-signature.ts';

export interface WebhookRouterOptions {
  /** Clock for the `eventTimestamp` age check. @default Date.now */
  now?: WebhookIngestOptions['now'];
  /** @default 604800 (7 days) */
  seenTtlSeconds?: number;
  /** @default 2000 */
  storeTimeoutMs?: number;
  /** @default 300 */
  maxFutureSeconds?: number;
  log?: Logger;
}

/**
 * A plain Node request handler: usable from Express, or from `http.Server` directly. `close()`
 * ends the connection the ingest keeps of its own (with `WEBHOOK_MIN_REPLICAS`).
 */
export type WebhookHandler = ((req: IncomingMessage, res: ServerResponse) => void) & { close(): Promise<void> };

/**
 * `POST /api/snaptrade/webhook`. Checks, in order: content type (415), declared size (413),
 * Signature present (401), body size while reading (413), JSON (400 FS_MALFORMED_JSON), Signature
 * valid (401), schema (400 FS_VALIDATION), age (400 FS_WEBHOOK_STALE); then dedupes and appends to
 * the user's partition stream, and answers 200 `{status: "accepted" | "duplicate", streamId}` only
 * after Redis acknowledged; 503 FS_STORAGE_UNAVAILABLE when it did not, so SnapTrade retries.
 *
 * The handler reads the raw bytes itself (the signature is over the parsed body, and the stream
 * keeps exactly what was received), and does not depend on Express.
 */
export function createWebhookHandler(ctx: AppContext, options: WebhookRouterOptions = {}): WebhookHandler {
  const log = options.log ?? ctx.log.child({ module: 'webhook-ingest' });
  const metrics = webhookMetrics(ctx.metrics);
  const maxBytes = ctx.config.WEBHOOK_MAX_BYTES;
  const ingest = createWebhookIngest({
    redis: ctx.redis,
    keys: ctx.keys,
    partitionCount: ctx.config.PARTITION_COUNT,
    signingKeys: webhookSigningKeys(ctx.config),
    maxAgeSeconds: ctx.config.WEBHOOK_MAX_AGE_SECONDS,
    minReplicas: ctx.config.WEBHOOK_MIN_REPLICAS,
    replicaTimeoutMs: ctx.config.WEBHOOK_REPLICA_TIMEOUT_MS,
    ...(options.now ? { now: options.now } : {}),
    ...(options.seenTtlSeconds ? { seenTtlSeconds: options.seenTtlSeconds } : {}),
    ...(options.storeTimeoutMs ? { storeTimeoutMs: options.storeTimeoutMs } : {}),
    ...(options.maxFutureSeconds ? { maxFutureSeconds: options.maxFutureSeconds } : {}),
  });

  const refuse = (res: ServerResponse, reason: WebhookRejectReason, code: ErrorCode, message: string) => {
    metrics.rejected.inc({ reason });
    log.warn({ reason, code }, 'webhook rejected');
    sendJson(res, ERRORS[code].status, errorBody(code, message));
  };

  const handler = (req: IncomingMessage, res: ServerResponse) => {
    // Cheap checks before a byte of the body is read.
    if (!isJsonContentType(req.headers['content-type'])) {
      refuse(res, 'unsupported_media_type', 'FS_UNSUPPORTED_MEDIA_TYPE', 'Content-Type must be application/json (UTF-8)');
      return;
    }
    const encoding = req.headers['content-encoding'];
    if (encoding && encoding.toLowerCase() !== 'identity') {
      refuse(res, 'unsupported_media_type', 'FS_UNSUPPORTED_MEDIA_TYPE', `Content-Encoding ${encoding} is not supported`);
      return;
    }
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > maxBytes) {
      res.setHeader('connection', 'close');
      refuse(res, 'too_large', 'FS_PAYLOAD_TOO_LARGE', `body exceeds ${maxBytes} bytes`);
      return;
    }
    const signature = headerValue(req.headers.signature);
    if (!signature) {
      refuse(res, 'bad_signature', 'FS_WEBHOOK_SIGNATURE', 'missing or invalid Signature header');
      return;
    }

    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        // Streamed (chunked) past the limit: answer now, stop buffering, and drop the connection
        // once the answer is out rather than read the rest.
        done = true;
        req.off('data', onData);
        req.resume();
        res.setHeader('connection', 'close');
        refuse(res, 'too_large', 'FS_PAYLOAD_TOO_LARGE', `body exceeds ${maxBytes} bytes`);
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.once('error', () => {
      // The client went away mid-body: nobody is left to answer.
      done = true;
    });
    req.once('end', () => {
      if (done) return;
      done = true;
      const started = process.hrtime.bigint();
      const raw = chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks, size).toString('utf8');
      ingest
        .ingest(raw, signature)
        .then((outcome) => {
          respond(res, outcome, metrics, log);
          metrics.duration.observe({ outcome: outcome.kind }, Number(process.hrtime.bigint() - started) / 1e9);
        })
        .catch((err: unknown) => {
          // `ingest` never rejects; this guards the answer itself (a bug must not crash the process).
          log.error({ err }, 'webhook handler failed');
          sendJson(res, 500, errorBody('FS_INTERNAL', 'internal error'));
        });
    });
  };
  return Object.assign(handler, { close: () => ingest.close() });
}

/** The Express mounting: `app.use('/api/snaptrade/webhook', webhookRouter(ctx))`; `close()` as the handler's. */
export function webhookRouter(ctx: AppContext, options: WebhookRouterOptions = {}): Router & { close(): Promise<void> } {
  const handler = createWebhookHandler(ctx, options);
  const router = Object.assign(Router(), { close: () => handler.close() });
  router.post('/', (req, res) => handler(req, res));
  router.all('/', (req, res) => sendMethodNotAllowed(res, req.method, req.originalUrl.split('?')[0] ?? req.originalUrl, ['POST']));
  return readsOwnBody(router);
}

function respond(res: ServerResponse, outcome: IngestOutcome, metrics: WebhookMetrics, log: Logger): void {
  switch (outcome.kind) {
    case 'accepted': {
      const { webhook } = outcome;
      metrics.accepted.inc({ event_type: webhook.knownEventType ? webhook.eventType : 'unknown', schema: webhook.schema });
      const fields = {
        webhookId: webhook.webhookId,
        eventType: webhook.eventType,
        partition: outcome.partition,
        streamId: outcome.streamId,
      };
      // Debug, not info: at thousands per second a line each costs more than the dedupe itself, and
      // the stream entry plus foliostream_webhooks_accepted_total already record every one.
      if (webhook.knownEventType && webhook.schema !== 'unknown') log.debug(fields, 'webhook accepted');
      else log.warn({ ...fields, webhookSchema: webhook.schema }, 'webhook of an unknown type accepted and recorded');
      sendJson(res, 200, { status: 'accepted', streamId: outcome.streamId } satisfies WebhookResponse);
      return;
    }
    case 'duplicate':
      metrics.duplicate.inc();
      log.info(
        { webhookId: outcome.webhook.webhookId, eventType: outcome.webhook.eventType, streamId: outcome.streamId },
        'duplicate webhook ignored',
      );
      sendJson(res, 200, { status: 'duplicate', streamId: outcome.streamId } satisfies WebhookResponse);
      return;
    case 'rejected':
      metrics.rejected.inc({ reason: outcome.reason });
      log.warn({ reason: outcome.reason, code: outcome.code, detail: outcome.message }, 'webhook rejected');
      sendJson(res, ERRORS[outcome.code].status, errorBody(outcome.code, outcome.message));
      return;
    case 'failed':
      metrics.failed.inc({ reason: failureReason(outcome.error) });
      log.error(
        { err: outcome.error, webhookId: outcome.webhook.webhookId, eventType: outcome.webhook.eventType },
        'webhook could not be stored; answered 503',
      );
      sendJson(res, 503, errorBody(outcome.code, outcome.message));
      return;
  }
}

/**
 * A JSON answer without Express' extras (ETag hashing, content negotiation) that a webhook answer
 * does not need; on the hot path they cost more than the JSON itself.
 */
function sendJson(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) return;
  const text = JSON.stringify(body);
  res.statusCode = status;
  res.setHeader('content-type', 'application/json; charset=utf-8');
  res.setHeader('content-length', Buffer.byteLength(text));
  res.end(text);
}

/** `unavailable` (client disconnected), `timeout` (no answer in time), `replicas` (too few acknowledged) or `redis_error`. */
function failureReason(error: Error): string {
  if (error.name === 'StoreUnavailableError') return 'unavailable';
  if (error.name === 'StoreTimeoutError') return 'timeout';
  if (error.name === 'ReplicaAckError') return 'replicas';
  return 'redis_error';
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
