import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  applyOrderEvent,
  emptyOrderProjection,
  FINAL_STATUSES,
  orderEventsOf,
  orderIdFor,
  reportedClientOrderId,
  type OrderEvent,
  type OrderRecord,
  type OrderStatus,
} from '../../src/trading/order-state.ts';
import { tradeUpdateDetails } from '../../sandbox/snaptrade/webhook-events.ts';

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

const SNAP_KEY = 'client-order-snap';
const SNAP_ID = orderIdFor(USER, SNAP_KEY);
const snapPlaced: OrderRecord = {
  ...placed,
  id: SNAP_ID,
  provider: 'snaptrade',
  clientOrderId: SNAP_KEY,
  brokerageOrderId: 'st-order-1',
  symbol: 'SHOP',
  type: 'market',
  timeInForce: 'day',
  limitPrice: null,
  impact: { estimatedCost: '300.00' },
  routing: { accountId: ACCOUNT, provider: 'snaptrade', reason: 'holds the security' },
};

/** A SnapTrade TRADE_* webhook about one order (as the sandbox sends it), read as the actor reads it. */
function snaptradeWebhook(
  eventType: 'TRADE_DETECTION' | 'TRADE_UPDATE',
  order: { id: string; symbol: string; action: 'BUY' | 'SELL'; type: string; units: number; limit: number | null },
  status: string,
  filled: number,
  second: number,
): OrderEvent[] {
  const placedAt = new Date('2026-11-30T10:00:00.000Z');
  const details = tradeUpdateDetails({
    brokerageOrderId: order.id,
    status,
    action: order.action,
    orderType: order.type,
    timeInForce: 'day',
    symbol: order.symbol,
    description: order.symbol,
    figi: null,
    mic: 'XNAS',
    currency: 'USD',
    units: order.units,
    filledUnits: filled,
    executionPrice: filled > 0 ? 101.5 : null,
    limitPrice: order.limit,
    stopPrice: null,
    placedAt,
    executedAt: filled > 0 ? placedAt : null,
  });
  const envelope = {
    type: 'snaptrade.webhook',
    payload: { eventType, accountId: 'snap-account', details, eventTimestamp: `2026-11-30T10:00:${String(second).padStart(2, '0')}.000Z` },
  };
  const events = orderEventsOf(envelope, (provider, id) => (provider === 'snaptrade' && id === 'snap-account' ? ACCOUNT : undefined));
  expect(events).toHaveLength(1);
  return events;
}

const SHOP = { id: 'st-order-1', symbol: 'SHOP', action: 'BUY', type: 'Market', units: 3, limit: null } as const;
const SNAPTRADE_FACTS: OrderEvent[] = [
  { type: 'order.placed', payload: snapPlaced },
  ...snaptradeWebhook('TRADE_DETECTION', SHOP, 'PENDING', 0, 1),
  ...snaptradeWebhook('TRADE_UPDATE', SHOP, 'PARTIAL', 1, 2),
  ...snaptradeWebhook('TRADE_UPDATE', SHOP, 'EXECUTED', 3, 3),
  ...snaptradeWebhook('TRADE_DETECTION', { id: 'st-outside-1', symbol: 'TD', action: 'SELL', type: 'Limit', units: 5, limit: 80 }, 'ACCEPTED', 0, 4),
];

function foldAll(events: readonly OrderEvent[]): Map<string, OrderRecord> {
  const state = emptyOrderProjection();
  for (const event of events) applyOrderEvent(state, USER, event);
  return state.orders;
}

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

  it('merges a SnapTrade order reported by TRADE_* webhooks before its placement into the placed order, whatever the order', () => {
    const canonical = foldAll(SNAPTRADE_FACTS);
    const ours = canonical.get(SNAP_ID)!;
    expect(ours).toMatchObject({ status: 'filled', filledQuantity: '3', averageFillPrice: '101.5', clientOrderId: SNAP_KEY, brokerageOrderId: 'st-order-1' });
    expect(ours.routing).toEqual(snapPlaced.routing);
    // The order placed at the brokerage outside foliostream is a row of its own.
    const outsideId = orderIdFor(USER, reportedClientOrderId('snaptrade', 'st-outside-1'));
    expect(canonical.get(outsideId)).toMatchObject({ symbol: 'TD', side: 'sell', type: 'limit', limitPrice: '80', quantity: '5', status: 'accepted', routing: null });
    expect([...canonical.keys()].sort()).toEqual([SNAP_ID, outsideId].sort());
    fc.assert(
      fc.property(
        fc.shuffledSubarray(SNAPTRADE_FACTS, { minLength: SNAPTRADE_FACTS.length, maxLength: SNAPTRADE_FACTS.length }),
        fc.array(fc.integer({ min: 0, max: SNAPTRADE_FACTS.length - 1 }), { maxLength: 4 }),
        (order, repeats) => {
          expect(foldAll([...order, ...repeats.map((i) => SNAPTRADE_FACTS[i]!)])).toEqual(canonical);
        },
      ),
      { numRuns: 300 },
    );
    // The case a live stream meets: every webhook first, then the placement.
    expect(foldAll([...SNAPTRADE_FACTS.slice(1), SNAPTRADE_FACTS[0]!])).toEqual(canonical);
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
