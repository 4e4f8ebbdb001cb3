import { randomUUID } from 'node:crypto';
import { ENVELOPE_SCHEMA_VERSION } from '../../streams/envelope.ts';
import { partitionOf } from '../../streams/partition.ts';
import type { StreamProducer } from '../../streams/producer.ts';
import { waitForCheckpoint } from '../api/checkpoint-wait.ts';
import type { OrderPreviewResponse, OrderRequest, SecuritySearchResponse } from '../api/schemas.ts';
import type { Knex } from '../db/knex.ts';
import { ApiError } from '../http/errors.ts';
import type { Logger } from '../logging/logger.ts';
import type { BrokerageOrder, BrokerageTrading, PreparedOrder, TradeAccount } from './brokerage-trading.ts';
import { readOrder } from './order-queries.ts';
import { bodyHash, OrderRequests, type OrderRequestRow } from './order-requests.ts';
import { chooseAccount, tradingRefusal, type RoutingCandidate } from './order-routing.ts';
import { FINAL_STATUSES, orderIdFor, type OrderProvider, type OrderRecord, type OrderRouting, type OrderUpdatedPayload } from './order-state.ts';

export interface OrderServiceDeps {
  db: Knex;
  producer: StreamProducer;
  partitionCount: number;
  brokerages: Record<OrderProvider, BrokerageTrading>;
  leaseMs: number;
  waitMs: number;
  log: Logger;
  /** Testing: called right after the brokerage accepted an order, before anything is written. */
  afterBrokerageAnswer?: () => void;
}

export interface PlaceResult {
  order: OrderRecord;
  /** An earlier request with this key placed it; this one only answered it. */
  replayed: boolean;
}

/**
 * Preview, placement and cancellation of orders. Placement is exactly once per (user,
 * Idempotency-Key) across web nodes and crashes (`order-requests.ts`); the order becomes a fact
 * in the user's stream (`order.placed`, id derived from the key, so a retry adds nothing new)
 * and the answer waits, up to `waitMs`, until the user's actor applied it.
 */
export class OrderService {
  private readonly requests: OrderRequests;

  constructor(private readonly deps: OrderServiceDeps) {
    this.requests = new OrderRequests(deps.db, deps.leaseMs);
  }

  async preview(userId: string, form: OrderRequest): Promise<OrderPreviewResponse> {
    const { account, routing } = await this.route(userId, form);
    const prepared = await this.deps.brokerages[account.provider].prepare(account, form);
    return { routing, symbol: prepared.symbol, impact: prepared.impact, warnings: prepared.warnings };
  }

  async place(userId: string, key: string, form: OrderRequest): Promise<PlaceResult> {
    const hash = bodyHash(form);
    const orderId = orderIdFor(userId, key);
    const owner = randomUUID();
    const deadline = Date.now() + this.deps.waitMs;
    await this.deps.db('users').insert({ id: userId }).onConflict('id').ignore();
    for (;;) {
      const claim = await this.requests.claim(userId, key, hash, orderId, owner);
      if (claim.kind === 'placed') return { order: await this.publish(userId, key, claim.row), replayed: true };
      if (claim.kind === 'owner') {
        const row = await this.placeAsOwner(userId, key, form, owner, claim.row, claim.recovering);
        return { order: await this.publish(userId, key, row), replayed: false };
      }
      if (Date.now() >= deadline) {
        throw new ApiError('FS_ORDER_IN_PROGRESS', 'An order with this Idempotency-Key is still being placed; retry with the same key to get it.');
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  private async placeAsOwner(
    userId: string,
    key: string,
    form: OrderRequest,
    owner: string,
    row: OrderRequestRow,
    recovering: boolean,
  ): Promise<OrderRequestRow> {
    let reachedBrokerage = recovering;
    const heartbeat = this.keepLease(userId, key, owner);
    try {
      // A recovery keeps the account the first attempt chose: that is where the order may be.
      const routed = await this.route(userId, row.account_id ? { ...form, accountId: row.account_id } : form);
      const { account } = routed;
      const routing = row.routing ?? routed.routing;
      const brokerage = this.deps.brokerages[account.provider];
      let found: BrokerageOrder | null = null;
      if (recovering) {
        found = await brokerage.find(account, form, key, {
          since: row.placing_started_at ?? new Date(0),
          symbol: form.symbol ?? null,
          knownBrokerageIds: await this.requests.knownBrokerageIds(account.id),
        });
        if (found) this.deps.log.info({ userId, orderId: row.order_id, brokerageOrderId: found.brokerageOrderId }, 'order recovered at the brokerage');
      }
      let prepared: PreparedOrder | null = null;
      if (!found) {
        prepared = await brokerage.prepare(account, form);
        if (account.provider === 'snaptrade') await this.checkSyncedPosition(account, form, prepared.symbol);
        if (heartbeat.lost() || !(await this.requests.placing(userId, key, owner, routing))) {
          throw new ApiError('FS_ORDER_IN_PROGRESS', 'Another request took this Idempotency-Key over; retry with the same key to get its order.');
        }
        reachedBrokerage = true;
        found = await brokerage.place(account, form, prepared, key);
        this.deps.afterBrokerageAnswer?.();
      }
      const now = new Date().toISOString();
      const order: OrderRecord = {
        id: row.order_id,
        accountId: account.id,
        provider: account.provider,
        clientOrderId: key,
        brokerageOrderId: found.brokerageOrderId,
        symbol: prepared?.symbol ?? form.symbol ?? form.universalSymbolId!,
        side: form.side,
        type: form.type,
        timeInForce: form.timeInForce,
        quantity: form.quantity ?? null,
        notional: form.notional ?? null,
        limitPrice: form.limitPrice ?? null,
        stopPrice: form.stopPrice ?? null,
        status: found.status,
        filledQuantity: found.filledQuantity,
        averageFillPrice: found.averageFillPrice,
        impact: prepared ? { ...prepared.impact } : null,
        routing,
        submittedAt: found.submittedAt ?? now,
        updatedAt: now,
      };
      return await this.requests.placed(userId, key, order);
    } catch (err) {
      const ambiguous = !(err instanceof ApiError) || err.code === 'FS_BROKERAGE_UNAVAILABLE';
      if (reachedBrokerage && ambiguous) {
        // The brokerage may have the order: keep the key, and let the next request find it.
        await this.requests.abandon(userId, key, owner).catch(() => undefined);
      } else if (!(err instanceof ApiError && err.code === 'FS_ORDER_IN_PROGRESS')) {
        await this.requests.release(userId, key, owner).catch(() => undefined);
      }
      throw err;
    } finally {
      heartbeat.stop();
    }
  }

  /** Renews the lease every third of it while this request places; `lost()` once another took it. */
  private keepLease(userId: string, key: string, owner: string) {
    let lost = false;
    const timer = setInterval(() => {
      this.deps
        .db('order_requests')
        .where({ user_id: userId, idempotency_key: key, owner, state: 'placing' })
        .update({ lease_expires_at: this.deps.db.raw(`now() + make_interval(secs => ?)`, [this.deps.leaseMs / 1000]) })
        .then((n: number) => {
          if (n === 0) lost = true;
        })
        .catch((err: unknown) => this.deps.log.warn({ err }, 'renewing an order lease failed'));
    }, Math.max(100, Math.floor(this.deps.leaseMs / 3)));
    timer.unref();
    return { lost: () => lost, stop: () => clearInterval(timer) };
  }

  /** SnapTrade sells are checked against the positions as last synced (no budget spent). */
  private async checkSyncedPosition(account: TradeAccount, form: OrderRequest, symbol: string): Promise<void> {
    if (form.side !== 'sell' || form.quantity === undefined) return;
    const held = await this.heldQuantities(account.userId, form, symbol);
    const have = held.get(account.id) ?? 0;
    if (have + 1e-9 < Number(form.quantity)) {
      throw new ApiError('FS_INSUFFICIENT_POSITION', `This account holds ${have} ${symbol} (as last synced); the order sells ${form.quantity}.`);
    }
  }

  /** Appends the placement's fact (once per key) and waits for the actor; answers the order as projected. */
  private async publish(userId: string, key: string, row: OrderRequestRow): Promise<OrderRecord> {
    const placed = row.order!;
    let streamId = row.stream_id;
    if (!streamId) {
      streamId = await this.deps.producer.append({
        id: `order.placed:${placed.id}`,
        type: 'order.placed',
        user: userId,
        partition: partitionOf(userId, this.deps.partitionCount),
        time: new Date().toISOString(),
        schema: ENVELOPE_SCHEMA_VERSION,
        payload: placed,
      });
      await this.requests.appended(userId, key, streamId);
    }
    if (await waitForCheckpoint(this.deps.db, userId, streamId, this.deps.waitMs)) {
      const projected = await readOrder(this.deps.db, userId, placed.id);
      if (projected) return projected;
    }
    return placed;
  }

  /**
   * Securities the brokerage of `accountId` trades matching `query` (without an account: the
   * user's Alpaca account, else the first that trades). A connection that cannot trade is refused.
   */
  async search(userId: string, query: string, accountId: string | undefined): Promise<SecuritySearchResponse> {
    const accounts = await this.accounts(userId);
    const account = accountId
      ? accounts.find((a) => a.id === accountId)
      : (accounts.find((a) => a.provider === 'alpaca' && tradingRefusal(a) === null) ?? accounts.find((a) => tradingRefusal(a) === null));
    if (!account) {
      if (accountId) throw new ApiError('FS_NOT_FOUND', 'accountId: not one of your accounts');
      throw new ApiError('FS_NO_TRADING_ACCOUNT', 'None of your accounts trades: connect a brokerage that does, or link Alpaca.');
    }
    const refusal = tradingRefusal(account);
    if (refusal) throw new ApiError(refusal.code, refusal.message);
    const securities = await this.deps.brokerages[account.provider].search(account, query);
    return { accountId: account.id, provider: account.provider, securities };
  }

  async cancel(userId: string, orderId: string): Promise<OrderRecord> {
    const order = await readOrder(this.deps.db, userId, orderId);
    if (!order) throw new ApiError('FS_NOT_FOUND', 'no such order');
    if (FINAL_STATUSES.has(order.status)) throw new ApiError('FS_ORDER_NOT_CANCELABLE', `The order is already ${order.status}.`);
    if (!order.brokerageOrderId) throw new ApiError('FS_ORDER_NOT_CANCELABLE', 'The brokerage has not given this order an id yet; retry shortly.');
    const account = (await this.accounts(userId)).find((a) => a.id === order.accountId);
    if (!account) throw new ApiError('FS_NOT_FOUND', 'the account of this order is gone');
    const refusal = tradingRefusal(account);
    if (refusal?.code === 'FS_CONNECTION_BROKEN') throw new ApiError(refusal.code, refusal.message);
    const answer = await this.deps.brokerages[account.provider].cancel(account, order.brokerageOrderId);
    const update: OrderUpdatedPayload = {
      provider: account.provider,
      accountId: account.id,
      brokerageOrderId: answer.brokerageOrderId,
      clientOrderId: order.clientOrderId,
      status: answer.status,
      filledQuantity: answer.filledQuantity,
      averageFillPrice: answer.averageFillPrice,
      at: new Date().toISOString(),
      source: 'cancel',
    };
    const streamId = await this.deps.producer.append({
      id: `order.updated:${order.id}:cancel:${randomUUID()}`,
      type: 'order.updated',
      user: userId,
      partition: partitionOf(userId, this.deps.partitionCount),
      time: update.at,
      schema: ENVELOPE_SCHEMA_VERSION,
      payload: update,
    });
    if (await waitForCheckpoint(this.deps.db, userId, streamId, this.deps.waitMs)) {
      return (await readOrder(this.deps.db, userId, order.id)) ?? order;
    }
    return { ...order, status: answer.status, filledQuantity: answer.filledQuantity, averageFillPrice: answer.averageFillPrice };
  }

  private async route(userId: string, form: OrderRequest): Promise<{ account: TradeAccount; routing: OrderRouting }> {
    const accounts = await this.accounts(userId);
    const held = await this.heldQuantities(userId, form, form.symbol ?? null);
    const candidates: RoutingCandidate[] = accounts.map((a) => ({ ...a, held: held.get(a.id) ?? 0 }));
    const decision = chooseAccount(candidates, {
      accountId: form.accountId,
      side: form.side,
      quantity: form.quantity === undefined ? null : Number(form.quantity),
      security: form.symbol ?? form.universalSymbolId ?? '',
    });
    if (!decision.ok) throw new ApiError(decision.code, decision.message);
    return { account: decision.account, routing: decision.routing };
  }

  private async accounts(userId: string): Promise<TradeAccount[]> {
    const rows = await this.deps
      .db('accounts as a')
      .join('brokerage_connections as c', 'c.id', 'a.connection_id')
      .where('a.user_id', userId)
      .whereNot('a.status', 'removed')
      .select('a.id', 'a.provider', 'a.external_id', 'a.institution_name', 'a.currency', 'a.trading_allowed', 'a.status', 'c.status as connection_status');
    return rows.map((r) => ({
      id: r.id,
      userId,
      provider: r.provider,
      externalId: r.external_id,
      institution: r.institution_name,
      currency: String(r.currency).trim(),
      tradingAllowed: Boolean(r.trading_allowed) && r.status === 'open',
      connectionStatus: r.connection_status,
    }));
  }

  /** Quantity of the order's security each account holds, as last synced. */
  private async heldQuantities(userId: string, form: OrderRequest, symbol: string | null): Promise<Map<string, number>> {
    const rows = await this.deps
      .db('account_positions as p')
      .join('securities as s', 's.id', 'p.security_id')
      .where('p.user_id', userId)
      .where((q) => {
        if (form.universalSymbolId) q.orWhere('s.snaptrade_symbol_id', form.universalSymbolId);
        if (symbol) q.orWhereRaw('upper(s.ticker) = ?', [symbol.toUpperCase()]);
        if (!form.universalSymbolId && !symbol) q.whereRaw('false');
      })
      .select('p.account_id', 'p.quantity');
    const out = new Map<string, number>();
    for (const r of rows) out.set(r.account_id, (out.get(r.account_id) ?? 0) + Number(r.quantity));
    return out;
  }
}
