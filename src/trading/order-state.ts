import { createHash } from 'node:crypto';

/**
 * The order projection, pure: what a user's orders look like after a sequence of order facts.
 * The actor folds the facts of its stream through `applyOrderEvent` (one order at a time, read
 * from and written back to the `orders` table), and a replay folds the same events through the
 * same function. No I/O here.
 *
 * Facts come from three places: `order.placed` (the web node, after the brokerage accepted the
 * order), `order.updated` (a status a brokerage reported: SnapTrade's TRADE_* webhooks carry the
 * order records), and `alpaca.trade_update` (every trade update of a linked Alpaca account, with
 * the order as Alpaca sent it). They may arrive in any order relative to each other (a fill can
 * be in the stream before the placement's fact), so merging is monotonic: a final status is
 * never undone, the filled quantity never goes down, and the static fields of a placement
 * complete a row an update created. A SnapTrade webhook's order with no row yet becomes a row of
 * its own; the placement with its brokerage order id later merges that row into itself.
 */

export * from './order-types.ts';
import type { OrderProvider, OrderRecord, OrderSide, OrderStatus, OrderType, TimeInForce } from './order-types.ts';
import { FINAL_STATUSES } from './order-types.ts';

/** `order.placed`: the brokerage accepted the order; its answer at that moment. */
export type OrderPlacedPayload = OrderRecord;

/** `order.updated`: a status a brokerage reported for one order. */
export interface OrderUpdatedPayload {
  provider: OrderProvider;
  /** Our account id. */
  accountId: string;
  brokerageOrderId: string | null;
  clientOrderId: string | null;
  status: OrderStatus;
  filledQuantity: string | null;
  averageFillPrice: string | null;
  at: string;
  /** Where the status came from (`snaptrade.webhook`, `cancel`, ...). */
  source: string;
  /**
   * The order itself as the brokerage described it (SnapTrade's TRADE_* webhooks carry it):
   * enough to make a row for an order the stream has no placement of yet, one placed at the
   * brokerage outside foliostream or one whose `order.placed` comes later in the stream.
   */
  order?: ReportedOrder | null;
}

/** The static fields of an order a brokerage reported (a row can be made of them). */
export interface ReportedOrder {
  symbol: string;
  side: OrderSide;
  type: OrderType;
  timeInForce: TimeInForce;
  quantity: string;
  limitPrice: string | null;
  stopPrice: string | null;
  submittedAt: string | null;
}

/** The orders of one user (or the slice of them an event touches), by our order id. */
export interface OrderProjection {
  orders: Map<string, OrderRecord>;
}

export function emptyOrderProjection(): OrderProjection {
  return { orders: new Map() };
}

/**
 * Our order id for a user's client order id: the same on every node and after a crash, so the
 * placement's fact and an Alpaca trade update about the same order land on one row, and the
 * answer of a retried request names the same order. A UUID (version 8, name-based) of SHA-256.
 */
export function orderIdFor(userId: string, clientOrderId: string): string {
  const hex = createHash('sha256').update(`order\u0000${userId}\u0000${clientOrderId}`).digest('hex').slice(0, 32).split('');
  hex[12] = '8';
  hex[16] = ((Number.parseInt(hex[16]!, 16) & 0x3) | 0x8).toString(16);
  const h = hex.join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

const RANK: Record<OrderStatus, number> = {
  pending: 0,
  submitted: 1,
  accepted: 2,
  partially_filled: 3,
  filled: 4,
  canceled: 4,
  rejected: 4,
  expired: 4,
  failed: 4,
};

function decimalGreater(a: string, b: string): boolean {
  return Number(a) > Number(b);
}

/**
 * The status part of `current` after `update` (null: nothing changes). Final statuses stick;
 * a status never moves back; the filled quantity and its average price only move forward.
 */
export function mergeStatus(
  current: Pick<OrderRecord, 'status' | 'filledQuantity' | 'averageFillPrice'>,
  update: { status: OrderStatus; filledQuantity: string | null; averageFillPrice: string | null },
): { status: OrderStatus; filledQuantity: string; averageFillPrice: string | null } | null {
  const moreFilled = update.filledQuantity !== null && decimalGreater(update.filledQuantity, current.filledQuantity);
  const filledQuantity = moreFilled ? update.filledQuantity! : current.filledQuantity;
  const averageFillPrice = moreFilled ? (update.averageFillPrice ?? current.averageFillPrice) : current.averageFillPrice;
  let status = current.status;
  if (!FINAL_STATUSES.has(current.status) && RANK[update.status] > RANK[current.status]) status = update.status;
  if (status === current.status && filledQuantity === current.filledQuantity && averageFillPrice === current.averageFillPrice) {
    return null;
  }
  return { status, filledQuantity, averageFillPrice };
}

function findOrder(state: OrderProjection, by: { id?: string; provider?: OrderProvider; brokerageOrderId?: string | null }) {
  if (by.id) {
    const found = state.orders.get(by.id);
    if (found) return found;
  }
  if (by.brokerageOrderId) {
    for (const order of state.orders.values()) {
      if (order.provider === by.provider && order.brokerageOrderId === by.brokerageOrderId) return order;
    }
  }
  return undefined;
}

/**
 * The client order id of a row made from a brokerage's report alone (no placement in the stream
 * yet): it has a space, which no Idempotency-Key has, so it names no order placed through us.
 * `OrderRequests.knownBrokerageIds` matches this form in SQL.
 */
export function reportedClientOrderId(provider: OrderProvider, brokerageOrderId: string): string {
  return `${provider} order ${brokerageOrderId}`;
}

/**
 * The placement's fact: a new row, or the static fields that complete one an update created first.
 * A row a brokerage's report made before the placement (same provider and brokerage order id,
 * under the report's own id) is merged into the placed order and removed: the order ends as if
 * the placement had come first.
 */
function applyPlaced(state: OrderProjection, placed: OrderPlacedPayload): { changed: OrderRecord | null; removed: string[] } {
  const current = state.orders.get(placed.id);
  if (!current) {
    const reported = placed.brokerageOrderId ? findOrder(state, { provider: placed.provider, brokerageOrderId: placed.brokerageOrderId }) : undefined;
    if (reported) state.orders.delete(reported.id);
    const merged = reported ? mergeStatus(placed, reported) : null;
    const record = { ...placed, ...(merged ?? {}), updatedAt: merged ? reported!.updatedAt : placed.updatedAt };
    state.orders.set(record.id, record);
    return { changed: record, removed: reported ? [reported.id] : [] };
  }
  const merged = mergeStatus(current, placed);
  const completes = current.routing === null || current.impact === null || current.brokerageOrderId === null;
  if (!merged && !completes) return { changed: null, removed: [] };
  const next: OrderRecord = {
    ...current,
    ...(merged ?? {}),
    brokerageOrderId: current.brokerageOrderId ?? placed.brokerageOrderId,
    routing: current.routing ?? placed.routing,
    impact: current.impact ?? placed.impact,
    submittedAt: current.submittedAt ?? placed.submittedAt,
    updatedAt: merged ? placed.updatedAt : current.updatedAt,
  };
  state.orders.set(next.id, next);
  return { changed: next, removed: [] };
}

/** The row a brokerage's report makes on its own (null: the report lacks what a row needs). */
function recordFromReport(userId: string, update: OrderUpdatedPayload): OrderRecord | null {
  const order = update.order;
  if (!order || !update.brokerageOrderId) return null;
  const clientOrderId = reportedClientOrderId(update.provider, update.brokerageOrderId);
  return {
    id: orderIdFor(userId, clientOrderId),
    accountId: update.accountId,
    provider: update.provider,
    clientOrderId,
    brokerageOrderId: update.brokerageOrderId,
    symbol: order.symbol,
    side: order.side,
    type: order.type,
    timeInForce: order.timeInForce,
    quantity: order.quantity,
    notional: null,
    limitPrice: order.limitPrice,
    stopPrice: order.stopPrice,
    status: update.status,
    filledQuantity: update.filledQuantity ?? '0',
    averageFillPrice: update.averageFillPrice,
    impact: null,
    routing: null,
    submittedAt: order.submittedAt,
    updatedAt: update.at,
  };
}

function applyUpdated(state: OrderProjection, update: OrderUpdatedPayload, userId: string): OrderRecord | null {
  const current = findOrder(state, {
    ...(update.clientOrderId ? { id: orderIdFor(userId, update.clientOrderId) } : {}),
    provider: update.provider,
    brokerageOrderId: update.brokerageOrderId,
  });
  if (!current) {
    // No row yet: one from the brokerage's report when it carries the order (a placement that
    // follows merges into it), else nothing to update.
    const record = recordFromReport(userId, update);
    if (record) state.orders.set(record.id, record);
    return record;
  }
  const merged = mergeStatus(current, update);
  if (!merged) return null;
  const next = { ...current, ...merged, updatedAt: update.at };
  state.orders.set(next.id, next);
  return next;
}

/** The Alpaca order inside a trade update, in Alpaca's wire shape (snake_case). */
export interface AlpacaWireOrder {
  id?: string;
  client_order_id?: string;
  symbol?: string;
  side?: string;
  type?: string;
  order_type?: string;
  time_in_force?: string;
  qty?: string | null;
  notional?: string | null;
  limit_price?: string | null;
  stop_price?: string | null;
  status?: string;
  filled_qty?: string | null;
  filled_avg_price?: string | null;
  submitted_at?: string | null;
  updated_at?: string | null;
}

export interface AlpacaTradeUpdatePayload {
  /** Alpaca's account id (the external id of our account). */
  accountId: string;
  event: string;
  order?: AlpacaWireOrder | null;
  at?: string | null;
}

/** Alpaca's order statuses in ours (`new`, `held`... are accepted; `done_for_day` too). */
export function alpacaStatus(status: string | undefined): OrderStatus {
  switch (status) {
    case 'filled':
      return 'filled';
    case 'partially_filled':
      return 'partially_filled';
    case 'canceled':
    case 'replaced':
      return 'canceled';
    case 'expired':
      return 'expired';
    case 'rejected':
    case 'suspended':
      return 'rejected';
    case 'pending_new':
    case 'accepted_for_bidding':
      return 'submitted';
    default:
      return 'accepted';
  }
}

function oneOf<T extends string>(value: string | undefined, allowed: readonly T[], fallback: T): T {
  return allowed.includes(value as T) ? (value as T) : fallback;
}

/** The record an Alpaca order snapshot describes (for an order placed at Alpaca, by us or not). */
export function recordFromAlpaca(userId: string, accountId: string, order: AlpacaWireOrder, at: string): OrderRecord | null {
  if (!order.client_order_id || !order.symbol || !order.id) return null;
  const type = oneOf(order.type ?? order.order_type, ['market', 'limit', 'stop', 'stop_limit'] as const, 'market');
  const notional = order.notional ?? null;
  return {
    id: orderIdFor(userId, order.client_order_id),
    accountId,
    provider: 'alpaca',
    clientOrderId: order.client_order_id,
    brokerageOrderId: order.id,
    symbol: order.symbol,
    side: order.side === 'sell' ? 'sell' : 'buy',
    type,
    timeInForce: oneOf(order.time_in_force, ['day', 'gtc', 'ioc', 'fok', 'opg', 'cls'] as const, 'day'),
    // The table holds quantity xor notional, as the order was asked.
    quantity: notional !== null ? null : (order.qty ?? null),
    notional,
    limitPrice: type === 'limit' || type === 'stop_limit' ? (order.limit_price ?? null) : null,
    stopPrice: type === 'stop' || type === 'stop_limit' ? (order.stop_price ?? null) : null,
    status: alpacaStatus(order.status),
    filledQuantity: order.filled_qty ?? '0',
    averageFillPrice: order.filled_avg_price ?? null,
    impact: null,
    routing: null,
    submittedAt: order.submitted_at ?? null,
    updatedAt: order.updated_at ?? at,
  };
}

function applyAlpacaTradeUpdate(state: OrderProjection, payload: AlpacaTradeUpdatePayload, userId: string, accountId: string) {
  const at = payload.at ?? payload.order?.updated_at ?? new Date(0).toISOString();
  const snapshot = payload.order ? recordFromAlpaca(userId, accountId, payload.order, at) : null;
  if (!snapshot) return null;
  const current = state.orders.get(snapshot.id);
  if (!current) {
    // A row from the update alone (the placement's fact may follow and complete it). One
    // without a quantity or notional cannot be a row (the table requires one of them).
    if (snapshot.quantity === null && snapshot.notional === null) return null;
    state.orders.set(snapshot.id, snapshot);
    return snapshot;
  }
  const merged = mergeStatus(current, snapshot);
  const brokerageOrderId = current.brokerageOrderId ?? snapshot.brokerageOrderId;
  if (!merged && brokerageOrderId === current.brokerageOrderId) return null;
  const next = { ...current, ...(merged ?? {}), brokerageOrderId, updatedAt: merged ? snapshot.updatedAt : current.updatedAt };
  state.orders.set(next.id, next);
  return next;
}

/** SnapTrade's order statuses (V1 `status` and the V2 leg statuses) in ours. */
export function snaptradeStatus(status: string | null | undefined, filled: number, total: number): OrderStatus {
  switch ((status ?? '').toUpperCase()) {
    case 'EXECUTED':
    case 'FILLED':
      return 'filled';
    case 'PARTIAL':
    case 'PARTIALLY_FILLED':
      return 'partially_filled';
    case 'CANCELED':
    case 'CANCELLED':
    case 'PARTIAL_CANCELED':
    case 'REPLACED':
      return 'canceled';
    case 'REJECTED':
    case 'FAILED':
      return 'rejected';
    case 'EXPIRED':
      return 'expired';
    case 'PENDING':
    case 'QUEUED':
    case 'TRIGGERED':
    case 'ACTIVATED':
      return filled > 0 && filled < total ? 'partially_filled' : 'submitted';
    default:
      return filled > 0 && filled < total ? 'partially_filled' : 'accepted';
  }
}

/** One order of a TRADE_DETECTION/TRADE_UPDATE webhook's `details.orders` (V2 records). */
interface WebhookOrder {
  brokerage_order_id?: string | null;
  status?: string | null;
  order_type?: string | null;
  time_in_force?: string | null;
  limit_price?: string | number | null;
  stop_price?: string | number | null;
  time_placed?: string | null;
  execution_price?: string | number | null;
  filled_quantity?: string | number | null;
  total_quantity?: string | number | null;
  time_executed?: string | null;
  time_updated?: string | null;
  legs?:
    | {
        action?: string | null;
        instrument?: { symbol?: string | null } | null;
        filled_quantity?: string | number | null;
        total_quantity?: string | number | null;
        execution_price?: string | number | null;
      }[]
    | null;
}

/** Positive once stored (the table keeps 12 decimals and checks quantities and prices are > 0). */
function storablePositive(value: string | null): value is string {
  return value !== null && Number(value) >= 1e-12;
}

/**
 * The order a webhook's record describes, when it has all a row needs (a symbol, a side, a
 * positive quantity, the price its type needs); null otherwise.
 */
function reportedOrder(raw: WebhookOrder, total: string | null): ReportedOrder | null {
  const leg = Array.isArray(raw.legs) ? raw.legs[0] : undefined;
  const symbol = leg?.instrument?.symbol?.trim();
  const action = (leg?.action ?? '').toUpperCase();
  if (!symbol || !/^(BUY|SELL)/.test(action) || !storablePositive(total)) return null;
  const type = oneOf((raw.order_type ?? '').toLowerCase(), ['market', 'limit', 'stop', 'stop_limit'] as const, 'market');
  const limitPrice = type === 'limit' || type === 'stop_limit' ? decimalText(raw.limit_price) : null;
  const stopPrice = type === 'stop' || type === 'stop_limit' ? decimalText(raw.stop_price) : null;
  if ((type === 'limit' || type === 'stop_limit') && !storablePositive(limitPrice)) return null;
  if ((type === 'stop' || type === 'stop_limit') && !storablePositive(stopPrice)) return null;
  const placedAt = raw.time_placed && !Number.isNaN(Date.parse(raw.time_placed)) ? new Date(raw.time_placed).toISOString() : null;
  return {
    symbol,
    side: action.startsWith('SELL') ? 'sell' : 'buy',
    type,
    timeInForce: oneOf((raw.time_in_force ?? '').toLowerCase(), ['day', 'gtc', 'ioc', 'fok', 'opg', 'cls'] as const, 'day'),
    quantity: total,
    limitPrice,
    stopPrice,
    submittedAt: placedAt,
  };
}

function decimalText(value: string | number | null | undefined): string | null {
  if (value === null || value === undefined || value === '') return null;
  const n = Number(value);
  if (!Number.isFinite(n)) return null;
  return String(n);
}

/** The order facts a SnapTrade TRADE_* webhook carries (its `details.orders`). */
export function updatesFromTradeWebhook(hook: { details?: unknown; eventTimestamp?: string }, accountId: string): OrderUpdatedPayload[] {
  const orders = (hook.details as { orders?: unknown } | undefined)?.orders;
  if (!Array.isArray(orders)) return [];
  const at = hook.eventTimestamp && !Number.isNaN(Date.parse(hook.eventTimestamp)) ? hook.eventTimestamp : new Date(0).toISOString();
  const out: OrderUpdatedPayload[] = [];
  for (const raw of orders as WebhookOrder[]) {
    if (!raw || typeof raw !== 'object' || !raw.brokerage_order_id) continue;
    const leg = Array.isArray(raw.legs) ? raw.legs[0] : undefined;
    const filled = decimalText(raw.filled_quantity ?? leg?.filled_quantity);
    const total = decimalText(raw.total_quantity ?? leg?.total_quantity);
    out.push({
      provider: 'snaptrade',
      accountId,
      brokerageOrderId: String(raw.brokerage_order_id),
      clientOrderId: null,
      status: snaptradeStatus(raw.status, Number(filled ?? 0), Number(total ?? 0)),
      filledQuantity: filled,
      averageFillPrice: decimalText(raw.execution_price ?? leg?.execution_price),
      at,
      source: 'snaptrade.webhook',
      order: reportedOrder(raw, total),
    });
  }
  return out;
}

/** What an event means for orders, as a fold step. */
export type OrderEvent =
  | { type: 'order.placed'; payload: OrderPlacedPayload }
  | { type: 'order.updated'; payload: OrderUpdatedPayload }
  | { type: 'alpaca.trade_update'; payload: AlpacaTradeUpdatePayload; accountId: string };

/**
 * Folds one order event into `state` (mutated and returned with the records it changed and the
 * ids of those it removed: a reported order merged into its placement). `userId` names the
 * stream's user: our order ids derive from it.
 */
export function applyOrderEvent(
  state: OrderProjection,
  userId: string,
  event: OrderEvent,
): { state: OrderProjection; changed: OrderRecord[]; removed: string[] } {
  let changed: OrderRecord | null = null;
  let removed: string[] = [];
  if (event.type === 'order.placed') ({ changed, removed } = applyPlaced(state, event.payload));
  else if (event.type === 'order.updated') changed = applyUpdated(state, event.payload, userId);
  else changed = applyAlpacaTradeUpdate(state, event.payload, userId, event.accountId);
  return { state, changed: changed ? [changed] : [], removed };
}

/**
 * The order events an envelope carries (none for most): the actor and a replay both read events
 * through this. `accountIdOf` maps a provider's account id to ours (unknown accounts: skipped).
 */
export function orderEventsOf(
  envelope: { type: string; payload: unknown; meta?: Record<string, unknown> | undefined },
  accountIdOf: (provider: OrderProvider, externalId: string) => string | undefined,
): OrderEvent[] {
  switch (envelope.type) {
    case 'order.placed':
      return [{ type: 'order.placed', payload: envelope.payload as OrderPlacedPayload }];
    case 'order.updated':
      return [{ type: 'order.updated', payload: envelope.payload as OrderUpdatedPayload }];
    case 'alpaca.trade_update': {
      const payload = envelope.payload as AlpacaTradeUpdatePayload;
      const accountId = payload.accountId ? accountIdOf('alpaca', payload.accountId) : undefined;
      return accountId && payload.order ? [{ type: 'alpaca.trade_update', payload, accountId }] : [];
    }
    case 'snaptrade.webhook': {
      const hook = envelope.payload as { eventType?: string; accountId?: string; details?: unknown; eventTimestamp?: string };
      const type = hook.eventType ?? String(envelope.meta?.eventType ?? '');
      if (type !== 'TRADE_DETECTION' && type !== 'TRADE_UPDATE') return [];
      const accountId = hook.accountId ? accountIdOf('snaptrade', hook.accountId) : undefined;
      if (!accountId) return [];
      return updatesFromTradeWebhook(hook, accountId).map((payload) => ({ type: 'order.updated' as const, payload }));
    }
    default:
      return [];
  }
}
