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

/** The fields of one order in TRADE_DETECTION/TRADE_UPDATE `details.orders` (as in the examples). */
export interface TradeWebhookOrder {
  brokerageOrderId: string;
  status: string;
  action: 'BUY' | 'SELL';
  orderType: string;
  timeInForce: string;
  symbol: string;
  description: string;
  figi: string | null;
  mic: string | null;
  currency: string;
  units: number;
  filledUnits: number;
  executionPrice: number | null;
  limitPrice: number | null;
  stopPrice: number | null;
  placedAt: Date;
  executedAt: Date | null;
}

const decimalText = (n: number | null) => (n === null ? null : n.toFixed(10).replace(/0+$/, '').replace(/\.$/, '.0'));

/** `details` of TRADE_UPDATE: the order's record with its single leg, as SnapTrade documents it. */
export function tradeUpdateDetails(order: TradeWebhookOrder): Record<string, unknown> {
  const canceled = order.status === 'CANCELED' ? order.units - order.filledUnits : null;
  return {
    orders: [
      {
        legs: [
          {
            action: order.action,
            leg_id: null,
            status: order.status,
            instrument: {
              symbol: order.symbol,
              figi_code: order.figi,
              asset_type: 'EQUITY',
              description: order.description,
              exchange_mic_code: order.mic,
            },
            total_quantity: decimalText(order.units),
            execution_price: decimalText(order.executionPrice),
            filled_quantity: decimalText(order.filledUnits),
            canceled_quantity: decimalText(canceled),
          },
        ],
        status: order.status,
        order_role: null,
        order_type: order.orderType.toUpperCase(),
        stop_price: decimalText(order.stopPrice),
        limit_price: decimalText(order.limitPrice),
        time_placed: order.placedAt.toISOString(),
        time_executed: order.executedAt ? order.executedAt.toISOString() : null,
        time_in_force: order.timeInForce.toUpperCase(),
        trailing_stop: null,
        price_currency: order.currency,
        execution_price: decimalText(order.executionPrice),
        brokerage_order_id: order.brokerageOrderId,
        brokerage_group_order_id: null,
      },
    ],
  };
}
