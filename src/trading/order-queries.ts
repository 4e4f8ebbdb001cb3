import type { Knex } from '../db/knex.ts';
import { ApiError } from '../http/errors.ts';
import { FINAL_STATUSES, type OrderRecord } from './order-state.ts';

/**
 * Reads of the `orders` projection (what the actor committed): one order, and the user's orders
 * newest first, filtered and paged with a keyset cursor (stable while orders are added).
 */

type Row = Record<string, unknown>;

/** Postgres numeric as an exact decimal string without trailing zeros. */
function decimal(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  const text = String(value);
  return text.includes('.') ? text.replace(/0+$/, '').replace(/\.$/, '') : text;
}

function iso(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  return value instanceof Date ? value.toISOString() : new Date(String(value)).toISOString();
}

export function orderFromRow(row: Row): OrderRecord {
  return {
    id: row.id as string,
    accountId: row.account_id as string,
    provider: row.provider as OrderRecord['provider'],
    clientOrderId: row.client_order_id as string,
    brokerageOrderId: (row.brokerage_order_id as string | null) ?? null,
    symbol: row.symbol as string,
    side: row.side as OrderRecord['side'],
    type: row.order_type as OrderRecord['type'],
    timeInForce: row.time_in_force as OrderRecord['timeInForce'],
    quantity: decimal(row.quantity),
    notional: decimal(row.notional),
    limitPrice: decimal(row.limit_price),
    stopPrice: decimal(row.stop_price),
    status: row.status as OrderRecord['status'],
    filledQuantity: decimal(row.filled_quantity) ?? '0',
    averageFillPrice: decimal(row.average_fill_price),
    impact: (row.impact as Record<string, unknown> | null) ?? null,
    routing: (row.routing as OrderRecord['routing']) ?? null,
    submittedAt: iso(row.submitted_at),
    updatedAt: iso(row.updated_at)!,
  };
}

/** The row an order record is written as (the actor's upsert). */
export function orderToRow(userId: string, order: OrderRecord): Row {
  return {
    id: order.id,
    user_id: userId,
    account_id: order.accountId,
    client_order_id: order.clientOrderId,
    provider: order.provider,
    brokerage_order_id: order.brokerageOrderId,
    symbol: order.symbol,
    side: order.side,
    order_type: order.type,
    time_in_force: order.timeInForce,
    quantity: order.quantity,
    notional: order.notional,
    limit_price: order.limitPrice,
    stop_price: order.stopPrice,
    status: order.status,
    filled_quantity: order.filledQuantity,
    average_fill_price: order.averageFillPrice,
    impact: order.impact === null ? null : JSON.stringify(order.impact),
    routing: order.routing === null ? null : JSON.stringify(order.routing),
    submitted_at: order.submittedAt,
    updated_at: order.updatedAt,
  };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export async function readOrder(db: Knex, userId: string, orderId: string): Promise<OrderRecord | undefined> {
  if (!UUID.test(orderId)) return undefined;
  const row = await db('orders').where({ id: orderId, user_id: userId }).first();
  return row ? orderFromRow(row) : undefined;
}

export interface OrderListFilter {
  status?: string | undefined;
  accountId?: string | undefined;
  limit: number;
  cursor?: string | undefined;
}

function decodeCursor(cursor: string): { createdAt: string; id: string } {
  const [createdAt, id] = Buffer.from(cursor, 'base64url').toString('utf8').split('|');
  if (!createdAt || !id || !/^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(\.\d{1,6})?([+-]\d{2}(:?\d{2})?|Z)$/.test(createdAt) || !UUID.test(id)) {
    throw new ApiError('FS_VALIDATION', 'cursor: not a cursor this API gave (use nextCursor as it came)');
  }
  return { createdAt, id };
}

export async function listOrders(db: Knex, userId: string, filter: OrderListFilter): Promise<{ orders: OrderRecord[]; nextCursor: string | null }> {
  const query = db('orders').where({ user_id: userId });
  const finals = [...FINAL_STATUSES];
  if (filter.status === 'open') query.whereNotIn('status', finals);
  else if (filter.status === 'closed') query.whereIn('status', finals);
  else if (filter.status) query.where({ status: filter.status });
  if (filter.accountId) query.where({ account_id: filter.accountId });
  if (filter.cursor) {
    const { createdAt, id } = decodeCursor(filter.cursor);
    query.whereRaw('(created_at, id) < (?::timestamptz, ?::uuid)', [createdAt, id]);
  }
  // The cursor keeps Postgres's own text of created_at: microseconds a JS Date would drop.
  const rows: Row[] = await query.select('*', db.raw('created_at::text AS created_at_text')).orderBy([{ column: 'created_at', order: 'desc' }, { column: 'id', order: 'desc' }]).limit(filter.limit + 1);
  const page = rows.slice(0, filter.limit);
  const last = page[page.length - 1];
  const nextCursor =
    rows.length > filter.limit && last ? Buffer.from(`${String(last.created_at_text)}|${String(last.id)}`, 'utf8').toString('base64url') : null;
  return { orders: page.map(orderFromRow), nextCursor };
}
