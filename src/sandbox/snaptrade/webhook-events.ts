import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * SnapTrade's webhook event types and the fields each carries, taken from the official examples
 * (`webhook-examples.json` beside this file, a verbatim copy of the documented payloads,
 * `api_key_schema`). The sandbox builds every event from this table, so its payloads have the
 * documented keys and nothing else.
 */
const EXAMPLES_PATH = fileURLToPath(new URL('./webhook-examples.json', import.meta.url));

/** Keys every event carries; the dispatcher fills them in. */
export const COMMON_WEBHOOK_KEYS = ['webhookId', 'clientId', 'eventTimestamp', 'userId', 'eventType', 'webhookSecret'];

export const WEBHOOK_EVENT_TYPES = [
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

export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

let examples: Record<string, Record<string, unknown>> | undefined;

/** The documented example payload of an event type (api_key_schema), or undefined. */
export function webhookExample(eventType: string): Record<string, unknown> | undefined {
  examples ??= (JSON.parse(readFileSync(EXAMPLES_PATH, 'utf8')) as { api_key_schema: Record<string, Record<string, unknown>> })
    .api_key_schema;
  return examples[eventType];
}

/** The event-specific keys of a documented event type (everything but the common keys). */
export function eventFieldKeys(eventType: string): string[] {
  const example = webhookExample(eventType);
  if (!example) return [];
  return Object.keys(example).filter((k) => !COMMON_WEBHOOK_KEYS.includes(k));
}

/** `details` of ACCOUNT_HOLDINGS_UPDATED: which parts of the sync succeeded. */
export function holdingsUpdatedDetails(success: boolean, error: string | null = null): Record<string, unknown> {
  const part = { success, error: success ? null : error };
  return { total_value: { ...part }, positions: { ...part }, balances: { ...part }, orders: { ...part } };
}
