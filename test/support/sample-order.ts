import type { OrderRecord } from '../../src/trading/order-types.ts';

/** An accepted market order to buy 2 MSFT at Alpaca, nothing filled yet; `fields` override. */
export function sampleOrder(fields: Partial<OrderRecord> = {}): OrderRecord {
  return {
    id: '0b8e7c1a-1111-4000-8000-000000000001',
    accountId: 'a1',
    provider: 'alpaca',
    clientOrderId: 'c1',
    brokerageOrderId: 'b1',
    symbol: 'MSFT',
    side: 'buy',
    type: 'market',
    timeInForce: 'day',
    quantity: '2',
    notional: null,
    limitPrice: null,
    stopPrice: null,
    status: 'accepted',
    filledQuantity: '0',
    averageFillPrice: null,
    impact: null,
    routing: null,
    submittedAt: '2026-12-01T14:02:00.000Z',
    updatedAt: '2026-12-01T14:02:00.000Z',
    ...fields,
  };
}
