import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dryRunUser } from '../../src/replay/user-replay.ts';
import { tradeUpdateDetails } from '../../sandbox/snaptrade/webhook-events.ts';
import { orderIdFor, reportedClientOrderId, type OrderRecord } from '../../src/trading/order-state.ts';
import { ENVELOPE_SCHEMA_VERSION } from '../../streams/envelope.ts';
import { streamKeys } from '../../streams/keys.ts';
import { partitionOf } from '../../streams/partition.ts';
import { createStreamProducer } from '../../streams/producer.ts';
import { eventually, startTestEngine, type TestEngine } from '../support/engine.ts';
import { userSettled, webhookType } from '../support/user-stream.ts';

/**
 * The web node appends a SnapTrade order's `order.placed` after the brokerage answered, so the
 * brokerage's TRADE_UPDATE webhook (delivered to another node) can be in the user's stream
 * first. The actor keeps what the webhook reports as an order row of its own (an order placed
 * outside foliostream shows up the same way), and the placement merges into it by brokerage
 * order id: one order, the placed one, filled. A replay of the stream agrees with the rows.
 */
const USER = 'e2e-webhook-before-placement-user';
let engine: TestEngine;
let externalAccountId: string;
let accountId: string;

beforeAll(async () => {
  engine = await startTestEngine();
  const control = engine.sandbox.control;
  expect((await engine.api(USER, 'POST', '/api/snaptrade/connection-url', {})).status).toBe(200);
  const auth = await control.connect(USER, { brokerage: 'QUESTRADE', accounts: [{ name: 'Margin', currency: 'USD', positions: [{ symbol: 'AAPL', units: 1 }] }] });
  externalAccountId = auth.accounts[0]!.id;
  // The connection's webhooks reach the engine after connect() returns: wait for the account row
  // (a positive marker), then for the syncs it started to settle.
  accountId = await eventually(
    async () => ((await engine.db.knex('accounts').where({ user_id: USER, external_id: externalAccountId }).first('id')) as { id: string } | undefined)?.id,
    30_000,
    'the connected account synced',
  );
  await userSettled(engine, USER);
});
afterAll(async () => {
  await engine?.stop();
});

async function orders(): Promise<OrderRecord[]> {
  const { status, body } = await engine.api<{ orders: OrderRecord[] }>(USER, 'GET', '/api/orders');
  expect(status).toBe(200);
  return body.orders;
}

describe('a TRADE_UPDATE webhook before the order.placed of its order', () => {
  it('is kept, and the placement merges into it: one order, filled', async () => {
    const brokerageOrderId = `st-${randomUUID()}`;
    const placedAt = new Date();
    const details = tradeUpdateDetails({
      brokerageOrderId,
      status: 'EXECUTED',
      action: 'BUY',
      orderType: 'Market',
      timeInForce: 'Day',
      symbol: 'MSFT',
      description: 'Microsoft Corporation',
      figi: null,
      mic: 'XNAS',
      currency: 'USD',
      units: 2,
      filledUnits: 2,
      executionPrice: 410.25,
      limitPrice: null,
      stopPrice: null,
      placedAt,
      executedAt: placedAt,
    });
    await engine.sandbox.control.fireWebhook({ eventType: 'TRADE_UPDATE', userId: USER, accountId: externalAccountId, fields: { details } });
    await engine.applied(USER, (e) => webhookType(e) === 'TRADE_UPDATE');

    // Before the placement: the brokerage's order, as it reported it.
    const reportedId = orderIdFor(USER, reportedClientOrderId('snaptrade', brokerageOrderId));
    expect(await orders()).toMatchObject([
      { id: reportedId, accountId, provider: 'snaptrade', brokerageOrderId, symbol: 'MSFT', side: 'buy', type: 'market', quantity: '2', status: 'filled', filledQuantity: '2', averageFillPrice: '410.25', routing: null },
    ]);

    // The web node's fact arrives: the brokerage accepted the order (its answer at that moment).
    const key = `key-${randomUUID()}`;
    const placed: OrderRecord = {
      id: orderIdFor(USER, key),
      accountId,
      provider: 'snaptrade',
      clientOrderId: key,
      brokerageOrderId,
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
      impact: { estimatedCost: '820.50' },
      routing: { accountId, provider: 'snaptrade', reason: 'requested' },
      submittedAt: placedAt.toISOString(),
      updatedAt: new Date().toISOString(),
    };
    const producer = createStreamProducer(engine.redis.client, streamKeys(engine.namespace));
    await producer.append({
      id: `order.placed:${placed.id}`,
      type: 'order.placed',
      user: USER,
      partition: partitionOf(USER, engine.config.PARTITION_COUNT),
      time: new Date().toISOString(),
      schema: ENVELOPE_SCHEMA_VERSION,
      payload: placed,
    });
    await engine.applied(USER, (e) => e.id === `order.placed:${placed.id}`);

    const after = await orders();
    expect(after).toHaveLength(1);
    expect(after[0]).toMatchObject({ id: placed.id, clientOrderId: key, brokerageOrderId, status: 'filled', filledQuantity: '2', averageFillPrice: '410.25', routing: placed.routing });
    expect((await engine.api<OrderRecord>(USER, 'GET', `/api/orders/${placed.id}`)).body.status).toBe('filled');
    expect(await engine.db.knex('orders').where({ id: reportedId }).first()).toBeUndefined();

    // The replay's fold of the same stream ends with the same order (and nothing else differs).
    const report = await dryRunUser(engine.db.knex, engine.redis.client, streamKeys(engine.namespace), engine.config.PARTITION_COUNT, USER, true);
    expect(report.differences.orders).toEqual({ added: [], removed: [], changed: [] });
    expect(report.differed).toBe(false);
  });
});
