import { randomUUID } from 'node:crypto';
import type { Logger } from '../../src/logging/logger.ts';
import { signWebhook } from '../../src/snaptrade/signature.ts';
import { createRandom } from '../market/seeded-random.ts';

/**
 * Sends webhooks the way SnapTrade does: a JSON body with `webhookId, clientId, eventTimestamp,
 * userId, eventType` (+ event fields, + the deprecated `webhookSecret`), a `Signature` header
 * = base64 HMAC-SHA256 of the body's canonical JSON keyed with the consumer key, POSTed to the
 * configured URL. Only 200/201/202/204 count as delivered; anything else (or a network error)
 * is retried after each delay of the retry schedule (SnapTrade: 30 minutes, 3 times at most;
 * the sandbox defaults to 1 s, 5 s, 30 s). Every delivery and attempt is kept in a log.
 *
 * First attempts go out one at a time in the order the events happened, so a receiver sees
 * CONNECTION_ADDED before NEW_ACCOUNT_AVAILABLE; retries are independent of that order.
 */
export const DELIVERED_STATUSES = new Set([200, 201, 202, 204]);
export const DEFAULT_RETRY_SCHEDULE_MS: readonly number[] = [1_000, 5_000, 30_000];

export interface WebhookAttempt {
  at: string;
  /** HTTP status, absent when the request failed (`error`). */
  status?: number;
  error?: string;
  durationMs: number;
}

export type WebhookDeliveryState = 'pending' | 'delivered' | 'failed' | 'no_url';

export interface WebhookDelivery {
  webhookId: string;
  eventType: string;
  userId: string;
  url: string | null;
  payload: Record<string, unknown>;
  createdAt: string;
  state: WebhookDeliveryState;
  attempts: WebhookAttempt[];
  /** When the next retry is due (ISO), null when none is scheduled. */
  nextAttemptAt: string | null;
}

export interface WebhookDispatcherOptions {
  clientId: string;
  consumerKey: string;
  url?: string | null;
  retryScheduleMs?: readonly number[];
  /** Seeds the deprecated `webhookSecret` field (stable per sandbox). */
  seed: number;
  /** Per-attempt timeout. @default 10000 */
  timeoutMs?: number;
  logger: Logger;
}

/** SnapTrade's timestamp format: Python `isoformat()` with microseconds and `+00:00`. */
export function snaptradeTimestamp(date: Date): string {
  return date.toISOString().replace(/\.(\d{3})Z$/, '.$1000+00:00');
}

export class WebhookDispatcher {
  private url: string | null;
  private retryScheduleMs: readonly number[];
  private readonly webhookSecret: string;
  private readonly log: WebhookDelivery[] = [];
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly inFlight = new Set<AbortController>();
  private chain: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(private readonly options: WebhookDispatcherOptions) {
    this.url = options.url ?? null;
    this.retryScheduleMs = options.retryScheduleMs ?? DEFAULT_RETRY_SCHEDULE_MS;
    const random = createRandom(options.seed, 'webhook-secret');
    const letters = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
    this.webhookSecret = Array.from({ length: 20 }, () => letters[Math.floor(random() * letters.length)]).join('');
  }

  config(): { url: string | null; retryScheduleMs: readonly number[] } {
    return { url: this.url, retryScheduleMs: this.retryScheduleMs };
  }

  configure(changes: { url?: string | null; retryScheduleMs?: readonly number[] }): void {
    if (changes.url !== undefined) this.url = changes.url;
    if (changes.retryScheduleMs !== undefined) this.retryScheduleMs = [...changes.retryScheduleMs];
  }

  /** Build, sign and queue one event. `fields` are the event's own fields (accountId, details...). */
  send(eventType: string, userId: string, fields: Record<string, unknown> = {}, now = new Date()): WebhookDelivery {
    const payload: Record<string, unknown> = {
      webhookId: randomUUID(),
      clientId: this.options.clientId,
      eventTimestamp: snaptradeTimestamp(now),
      userId,
      eventType,
      ...fields,
      webhookSecret: this.webhookSecret,
    };
    const delivery: WebhookDelivery = {
      webhookId: payload.webhookId as string,
      eventType,
      userId,
      url: this.url,
      payload,
      createdAt: now.toISOString(),
      state: this.url ? 'pending' : 'no_url',
      attempts: [],
      nextAttemptAt: null,
    };
    this.log.push(delivery);
    if (delivery.url && !this.closed) {
      this.chain = this.chain.then(() => this.attempt(delivery));
    }
    return delivery;
  }

  deliveries(filter: { eventType?: string; userId?: string; state?: WebhookDeliveryState } = {}): WebhookDelivery[] {
    return this.log.filter(
      (d) =>
        (filter.eventType === undefined || d.eventType === filter.eventType) &&
        (filter.userId === undefined || d.userId === filter.userId) &&
        (filter.state === undefined || d.state === filter.state),
    );
  }

  clearLog(): void {
    this.log.length = 0;
  }

  /** Resolves when every first attempt queued so far has finished (retries not included). */
  flush(): Promise<void> {
    return this.chain;
  }

  close(): void {
    this.closed = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    for (const controller of this.inFlight) controller.abort();
  }

  private async attempt(delivery: WebhookDelivery): Promise<void> {
    if (this.closed || !delivery.url) return;
    const body = JSON.stringify(delivery.payload);
    const started = Date.now();
    const controller = new AbortController();
    const timeout = setTimeout(() => controller.abort(), this.options.timeoutMs ?? 10_000);
    this.inFlight.add(controller);
    const attempt: WebhookAttempt = { at: new Date(started).toISOString(), durationMs: 0 };
    try {
      const response = await fetch(delivery.url, {
        method: 'POST',
        headers: {
          'Content-Type': 'application/json',
          Signature: signWebhook(this.options.consumerKey, delivery.payload),
          'User-Agent': 'SnapTrade-Sandbox-Webhooks/1.0',
        },
        body,
        signal: controller.signal,
      });
      attempt.status = response.status;
      await response.arrayBuffer().catch(() => undefined);
    } catch (err) {
      attempt.error = err instanceof Error ? err.message : String(err);
    } finally {
      clearTimeout(timeout);
      this.inFlight.delete(controller);
    }
    attempt.durationMs = Date.now() - started;
    delivery.attempts.push(attempt);

    if (attempt.status !== undefined && DELIVERED_STATUSES.has(attempt.status)) {
      delivery.state = 'delivered';
      delivery.nextAttemptAt = null;
      return;
    }
    const retryIndex = delivery.attempts.length - 1;
    const delay = this.retryScheduleMs[retryIndex];
    if (delay === undefined || this.closed) {
      delivery.state = 'failed';
      delivery.nextAttemptAt = null;
      this.options.logger.warn(
        { webhookId: delivery.webhookId, eventType: delivery.eventType, attempts: delivery.attempts.length },
        'webhook not delivered; no retries left',
      );
      return;
    }
    delivery.nextAttemptAt = new Date(Date.now() + delay).toISOString();
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      void this.attempt(delivery);
    }, delay);
    this.timers.add(timer);
  }
}
