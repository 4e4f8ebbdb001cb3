import { Counter, Histogram, type Registry } from 'prom-client';

/** Why a webhook was refused (the `reason` label; stable, documented in the README). */
export type WebhookRejectReason =
  | 'unsupported_media_type'
  | 'too_large'
  | 'malformed_json'
  | 'bad_signature'
  | 'invalid_schema'
  | 'stale';

export type WebhookOutcome = 'accepted' | 'duplicate' | 'rejected' | 'failed';

export interface WebhookMetrics {
  /** `foliostream_webhooks_accepted_total{event_type, schema}`: appended to a stream. */
  accepted: Counter<'event_type' | 'schema'>;
  /** `foliostream_webhooks_duplicate_total`: a webhookId already appended (answered 200). */
  duplicate: Counter;
  /** `foliostream_webhooks_rejected_total{reason}`: refused with a 4xx. */
  rejected: Counter<'reason'>;
  /** `foliostream_webhooks_failed_total{reason}`: could not be stored (answered 503). */
  failed: Counter<'reason'>;
  /** `foliostream_webhook_ingest_seconds{outcome}`: time from body read to answer. */
  duration: Histogram<'outcome'>;
}

function getOrCreate<T>(registry: Registry, name: string, create: () => T): T {
  return (registry.getSingleMetric(name) as T | undefined) ?? create();
}

/** The webhook metrics on a registry; created once per registry, shared by every router. */
export function webhookMetrics(registry: Registry): WebhookMetrics {
  const registers = [registry];
  return {
    accepted: getOrCreate(registry, 'foliostream_webhooks_accepted_total', () =>
      new Counter({
        name: 'foliostream_webhooks_accepted_total',
        help: 'SnapTrade webhooks verified and appended to a partition stream (event_type "unknown" for undocumented types).',
        labelNames: ['event_type', 'schema'] as const,
        registers,
      }),
    ),
    duplicate: getOrCreate(registry, 'foliostream_webhooks_duplicate_total', () =>
      new Counter({
        name: 'foliostream_webhooks_duplicate_total',
        help: 'SnapTrade webhooks whose webhookId was already appended (answered 200, not appended again).',
        registers,
      }),
    ),
    rejected: getOrCreate(registry, 'foliostream_webhooks_rejected_total', () =>
      new Counter({
        name: 'foliostream_webhooks_rejected_total',
        help: 'Webhook requests refused with a 4xx, by reason.',
        labelNames: ['reason'] as const,
        registers,
      }),
    ),
    failed: getOrCreate(registry, 'foliostream_webhooks_failed_total', () =>
      new Counter({
        name: 'foliostream_webhooks_failed_total',
        help: 'Verified webhooks that could not be stored (answered 503 so SnapTrade retries).',
        labelNames: ['reason'] as const,
        registers,
      }),
    ),
    duration: getOrCreate(registry, 'foliostream_webhook_ingest_seconds', () =>
      new Histogram({
        name: 'foliostream_webhook_ingest_seconds',
        help: 'Webhook handling time, from the body being read to the answer, by outcome.',
        labelNames: ['outcome'] as const,
        buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 2.5],
        registers,
      }),
    ),
  };
}
