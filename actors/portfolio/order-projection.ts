import type { Knex } from '../../src/db/knex.ts';
import { orderFromRow, orderToRow } from '../../src/trading/order-queries.ts';
import {
  applyOrderEvent,
  emptyOrderProjection,
  orderIdFor,
  type OrderEvent,
  type OrderRecord,
} from '../../src/trading/order-state.ts';

/**
 * The actor's side of the order projection: for one order event, reads the order it touches
 * from the transaction (locked), folds the event with the pure `applyOrderEvent` (the same fold
 * a replay uses), and writes back what changed (deleting a reported order merged into its placement). Returns the changed orders (for `order:update`).
 */
export async function applyOrderEventInTx(tx: Knex.Transaction, userId: string, event: OrderEvent): Promise<OrderRecord[]> {
  const state = emptyOrderProjection();
  const ids = new Set<string>();
  let brokerage: { provider: string; id: string } | undefined;
  if (event.type === 'order.placed') {
    ids.add(event.payload.id);
    // A row a brokerage's report made before the placement merges into it.
    if (event.payload.brokerageOrderId) brokerage = { provider: event.payload.provider, id: event.payload.brokerageOrderId };
  } else if (event.type === 'alpaca.trade_update') {
    const clientOrderId = event.payload.order?.client_order_id;
    if (clientOrderId) ids.add(orderIdFor(userId, clientOrderId));
  } else {
    if (event.payload.clientOrderId) ids.add(orderIdFor(userId, event.payload.clientOrderId));
    if (event.payload.brokerageOrderId) brokerage = { provider: event.payload.provider, id: event.payload.brokerageOrderId };
  }
  if (ids.size === 0 && !brokerage) return [];
  const rows: Record<string, unknown>[] = await tx('orders')
    .where({ user_id: userId })
    .where((q) => {
      if (ids.size) q.orWhereIn('id', [...ids]);
      if (brokerage) q.orWhere({ provider: brokerage.provider, brokerage_order_id: brokerage.id });
    })
    .forUpdate();
  for (const row of rows) {
    const order = orderFromRow(row);
    state.orders.set(order.id, order);
  }
  const { changed, removed } = applyOrderEvent(state, userId, event);
  if (removed.length) await tx('orders').where({ user_id: userId }).whereIn('id', removed).delete();
  for (const order of changed) {
    const row = orderToRow(userId, order);
    const { id: _id, user_id: _user, client_order_id: _client, ...changes } = row;
    await tx('orders').insert(row).onConflict('id').merge(changes);
  }
  return changed;
}
