/**
 * The shapes of an order, shared by the server and the browser bundle (the dashboard's orders
 * panel, the socket.io `order:update` event): types and constants only, no Node imports.
 */

export const ORDER_STATUSES = [
  'pending',
  'submitted',
  'accepted',
  'partially_filled',
  'filled',
  'canceled',
  'rejected',
  'expired',
  'failed',
] as const;
export type OrderStatus = (typeof ORDER_STATUSES)[number];

export const FINAL_STATUSES: ReadonlySet<OrderStatus> = new Set(['filled', 'canceled', 'rejected', 'expired', 'failed']);

export type OrderSide = 'buy' | 'sell';
export type OrderType = 'market' | 'limit' | 'stop' | 'stop_limit';
export type TimeInForce = 'day' | 'gtc' | 'ioc' | 'fok' | 'opg' | 'cls';
export type OrderProvider = 'snaptrade' | 'alpaca';

export interface OrderRouting {
  accountId: string;
  provider: OrderProvider;
  reason: string;
}

/** One order as the projection keeps it (and as `GET /api/orders/:id` shows it). */
export interface OrderRecord {
  id: string;
  accountId: string;
  provider: OrderProvider;
  clientOrderId: string;
  brokerageOrderId: string | null;
  symbol: string;
  side: OrderSide;
  type: OrderType;
  timeInForce: TimeInForce;
  quantity: string | null;
  notional: string | null;
  limitPrice: string | null;
  stopPrice: string | null;
  status: OrderStatus;
  filledQuantity: string;
  averageFillPrice: string | null;
  impact: Record<string, unknown> | null;
  routing: OrderRouting | null;
  submittedAt: string | null;
  updatedAt: string;
}

