import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  applyOrderEvent,
  emptyOrderProjection,
  FINAL_STATUSES,
  orderIdFor,
  type OrderEvent,
  type OrderRecord,
  type OrderStatus,
} from '../../src/trading/order-state.ts';

/**
 * The order projection is fed by three sources that race each other (the placement's fact, Alpaca
 * trade updates, cancels' answers), so the facts of one order reach the actor in any order, and
 * some twice. Whatever the order, the projection ends the same: the most advanced status the
 * facts report (a final one sticks), the largest filled quantity, and the placement's routing.
 */
const USER = 'projection-user';
const KEY = 'client-order-1';
const ID = orderIdFor(USER, KEY);
const ACCOUNT = '11111111-1111-4111-8111-111111111111';

const placed: OrderRecord = {
  id: ID,
  accountId: ACCOUNT,
  provider: 'alpaca',
  clientOrderId: KEY,
  brokerageOrderId: 'alpaca-order-1',
  symbol: 'KO',
  side: 'buy',
  type: 'limit',
  timeInForce: 'gtc',
  quantity: '3',
  notional: null,
  limitPrice: '70',
  stopPrice: null,
  status: 'accepted',
  filledQuantity: '0',
  averageFillPrice: null,
  impact: { estimatedCost: '210.00' },
  routing: { accountId: ACCOUNT, provider: 'alpaca', reason: 'requested' },
  submittedAt: '2026-11-30T10:00:00.000Z',
  updatedAt: '2026-11-30T10:00:00.000Z',
};

/** An Alpaca trade update at the nth second with the order's state then. */
function tradeUpdate(event: string, status: string, filled: string, second: number): OrderEvent {
  const at = `2026-11-30T10:00:${String(second).padStart(2, '0')}.000Z`;
  return {
    type: 'alpaca.trade_update',
    accountId: ACCOUNT,
    payload: {
      accountId: 'alpaca-account',
      event,
      at,
      order: {
        id: 'alpaca-order-1',
        client_order_id: KEY,
        symbol: 'KO',
        side: 'buy',
        type: 'limit',
        time_in_force: 'gtc',
        qty: '3',
        limit_price: '70',
        status,
        filled_qty: filled,
        filled_avg_price: filled === '0' ? null : '69.5',
        updated_at: at,
      },
    },
  };
}

const FACTS: OrderEvent[] = [
  { type: 'order.placed', payload: placed },
  tradeUpdate('new', 'new', '0', 1),
  tradeUpdate('partial_fill', 'partially_filled', '1', 2),
  tradeUpdate('partial_fill', 'partially_filled', '2', 3),
  tradeUpdate('fill', 'filled', '3', 4),
  // A cancel that lost the race with the fill: Alpaca answered the order as filled.
  {
    type: 'order.updated',
    payload: {
      provider: 'alpaca',
      accountId: ACCOUNT,
      brokerageOrderId: 'alpaca-order-1',
      clientOrderId: KEY,
      status: 'filled',
      filledQuantity: '3',
      averageFillPrice: '69.5',
      at: '2026-11-30T10:00:05.000Z',
      source: 'cancel',
    },
  },
];

function fold(events: readonly OrderEvent[]): OrderRecord | undefined {
  const state = emptyOrderProjection();
  for (const event of events) applyOrderEvent(state, USER, event);
  return state.orders.get(ID);
}

describe('the order projection', () => {
  it('ends the same whatever the order of the facts, and with duplicates', () => {
    fc.assert(
      fc.property(
        fc.shuffledSubarray(FACTS, { minLength: FACTS.length, maxLength: FACTS.length }),
        fc.array(fc.integer({ min: 0, max: FACTS.length - 1 }), { maxLength: 4 }),
        (order, repeats) => {
          const events = [...order, ...repeats.map((i) => FACTS[i]!)];
          const result = fold(events)!;
          expect(result.status).toBe('filled');
          expect(result.filledQuantity).toBe('3');
          expect(result.averageFillPrice).toBe('69.5');
          expect(result.routing).toEqual(placed.routing);
          expect(result.impact).toEqual(placed.impact);
          expect(result.brokerageOrderId).toBe('alpaca-order-1');
        },
      ),
      { numRuns: 300 },
    );
  });

  it('never moves a status back nor undoes a final one', () => {
    const rank: Record<OrderStatus, number> = {
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
    const statuses = Object.keys(rank) as OrderStatus[];
    fc.assert(
      fc.property(fc.array(fc.record({ status: fc.constantFrom(...statuses), filled: fc.integer({ min: 0, max: 3 }) }), { minLength: 1, maxLength: 8 }), (updates) => {
        const state = emptyOrderProjection();
        applyOrderEvent(state, USER, { type: 'order.placed', payload: placed });
        let previous = state.orders.get(ID)!;
        for (const [i, u] of updates.entries()) {
          applyOrderEvent(state, USER, {
            type: 'order.updated',
            payload: {
              provider: 'alpaca',
              accountId: ACCOUNT,
              brokerageOrderId: 'alpaca-order-1',
              clientOrderId: null,
              status: u.status,
              filledQuantity: String(u.filled),
              averageFillPrice: '69.5',
              at: `2026-11-30T11:00:0${i}.000Z`,
              source: 'test',
            },
          });
          const now = state.orders.get(ID)!;
          expect(rank[now.status]).toBeGreaterThanOrEqual(rank[previous.status]);
          if (FINAL_STATUSES.has(previous.status)) expect(now.status).toBe(previous.status);
          expect(Number(now.filledQuantity)).toBeGreaterThanOrEqual(Number(previous.filledQuantity));
          previous = now;
        }
      }),
      { numRuns: 300 },
    );
  });

  it('an update about an order it never heard of changes nothing; a snapshot without a size makes no row', () => {
    const state = emptyOrderProjection();
    const { changed } = applyOrderEvent(state, USER, {
      type: 'order.updated',
      payload: { ...(FACTS[5] as Extract<OrderEvent, { type: 'order.updated' }>).payload, clientOrderId: null, brokerageOrderId: 'unknown' },
    });
    expect(changed).toEqual([]);
    const update = tradeUpdate('new', 'new', '0', 1) as Extract<OrderEvent, { type: 'alpaca.trade_update' }>;
    const sizeless = { ...update, payload: { ...update.payload, order: { ...update.payload.order!, qty: null } } };
    expect(applyOrderEvent(state, USER, sizeless).changed).toEqual([]);
    expect(state.orders.size).toBe(0);
  });
});
