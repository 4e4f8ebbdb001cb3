import type { OrderRequest, SecurityMatch } from '../api/schemas.ts';
import { ApiError } from '../http/errors.ts';
import type { CredentialsStore } from '../providers/credentials-store.ts';
import { ProviderError } from '../providers/provider-error.ts';
import type { SnapTradeClient, SnapTradeOrderForm, SnapTradeUser } from '../providers/snaptrade/client.ts';
import { money, SEARCH_LIMIT, searchError, upstreamError, type BrokerageOrder, type BrokerageTrading, type PreparedOrder, type TradeAccount } from './brokerage-trading.ts';
import { snaptradeStatus } from './order-state.ts';

/**
 * Orders of external accounts, through SnapTrade's SDK: symbol lookup for the account, then the
 * order impact (estimated cash, commissions, and a trade id valid 5 minutes), then placing that
 * impact. Every call goes through the client's shared rate limiter (the whole deployment's
 * SnapTrade budget, and the user's fair share of it). A 429 is retried, each attempt taking a
 * new token from that budget, never past `attempts`: a throttled brokerage is reported, not
 * hammered. SnapTrade's impact path carries no client order id, so an attempt that lost its
 * answer is found again among the account's recent orders (same security, side and quantity,
 * placed since the attempt began, and not already one of our orders).
 */
export class SnapTradeTrading implements BrokerageTrading {
  readonly provider = 'snaptrade' as const;

  constructor(
    private readonly client: SnapTradeClient,
    private readonly credentials: CredentialsStore,
    private readonly attempts = 3,
  ) {}

  private async user(account: TradeAccount): Promise<SnapTradeUser> {
    const creds = await this.credentials.snaptrade(account.userId);
    if (!creds || creds.invalidSince) {
      throw new ApiError('FS_CONNECTION_BROKEN', 'SnapTrade no longer accepts your registration: connect your brokerages again.');
    }
    return { userId: creds.snaptradeUserId, userSecret: creds.userSecret };
  }

  /** Retries throttling (429) within the shared budget; anything else is the caller's to judge. */
  private async withRetry<T>(run: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await run();
      } catch (err) {
        if (!(err instanceof ProviderError) || err.status !== 429 || attempt >= this.attempts) throw err;
      }
    }
  }

  async prepare(account: TradeAccount, form: OrderRequest): Promise<PreparedOrder> {
    const user = await this.user(account);
    const universalSymbolId = form.universalSymbolId ?? (await this.lookup(user, account, form.symbol!));
    let impact;
    try {
      impact = await this.withRetry(() => this.client.orderImpact(user, snaptradeForm(account, form, universalSymbolId)));
    } catch (err) {
      throw refusal(err, 'checking the order impact');
    }
    const trade = impact.trade;
    const line = impact.trade_impacts?.[0];
    const price = trade?.price ?? null;
    const units = trade?.units ?? (form.quantity !== undefined ? Number(form.quantity) : null);
    const cost = form.notional !== undefined ? Number(form.notional) : price !== null && units !== null ? price * units : null;
    const remaining = typeof line?.remaining_cash === 'number' ? line.remaining_cash : null;
    const commissions = Number(line?.estimated_commission ?? 0);
    const fees = Number(line?.forex_fees ?? 0);
    if (form.side === 'buy' && remaining !== null && remaining < 0) {
      throw new ApiError(
        'FS_INSUFFICIENT_BUYING_POWER',
        `This order costs about ${cost === null ? 'more' : money(cost)} and would leave ${money(remaining)} in cash: not enough buying power.`,
      );
    }
    const before = remaining === null || cost === null ? null : form.side === 'buy' ? remaining + cost + commissions + fees : remaining - cost + commissions + fees;
    const symbol = trade?.symbol?.symbol ?? form.symbol ?? universalSymbolId;
    if (!trade?.id) throw new ApiError('FS_BROKERAGE_UNAVAILABLE', 'SnapTrade answered the impact without a trade id; retry.');
    return {
      symbol,
      tradeId: trade.id,
      universalSymbolId,
      warnings: [],
      impact: {
        currency: currencyCode(trade.symbol?.currency?.code) ?? currencyCode(account.currency) ?? 'USD',
        price: price === null ? null : String(price),
        estimatedQuantity: units === null ? null : String(units),
        estimatedCost: cost === null ? null : money(cost),
        commissions: money(commissions),
        fees: money(fees),
        buyingPowerBefore: before === null ? null : money(before),
        buyingPowerAfter: remaining === null ? null : money(remaining),
      },
    };
  }

  async place(account: TradeAccount, form: OrderRequest, prepared: PreparedOrder): Promise<BrokerageOrder> {
    const user = await this.user(account);
    try {
      const order = await this.withRetry(() => this.client.placeImpact(user, prepared.tradeId!));
      return fromSnapTrade(order);
    } catch (err) {
      if (err instanceof ProviderError && err.status === 400 && /not found or expired/i.test(err.message)) {
        // The impact expired between preview and place: check it again and place the new one.
        const again = await this.prepare(account, form);
        return this.place(account, form, again);
      }
      throw refusal(err, 'placing the order');
    }
  }

  async find(
    account: TradeAccount,
    form: OrderRequest,
    _clientOrderId: string,
    context: { since: Date; symbol: string | null; knownBrokerageIds: ReadonlySet<string> },
  ): Promise<BrokerageOrder | null> {
    const user = await this.user(account);
    let recent;
    try {
      recent = await this.withRetry(() => this.client.recentOrders(user, account.externalId));
    } catch (err) {
      throw upstreamError('snaptrade', err, 'looking for an order an earlier attempt may have placed');
    }
    // A little slack: the brokerage's clock and ours differ.
    const since = context.since.getTime() - 5_000;
    const wanted = form.quantity !== undefined ? Number(form.quantity) : null;
    const candidates = (recent.orders ?? [])
      .filter((o) => o.brokerage_order_id && !context.knownBrokerageIds.has(o.brokerage_order_id))
      .filter((o) => (o.action ?? '').toUpperCase() === form.side.toUpperCase())
      .filter((o) => {
        const id = (o.universal_symbol as { id?: string } | null | undefined)?.id;
        const ticker = (o.universal_symbol as { symbol?: string } | null | undefined)?.symbol;
        return (form.universalSymbolId !== undefined && id === form.universalSymbolId) || (context.symbol !== null && ticker === context.symbol);
      })
      .filter((o) => wanted === null || Number(o.total_quantity) === wanted)
      .filter((o) => o.time_placed && Date.parse(o.time_placed) >= since)
      .sort((a, b) => Date.parse(a.time_placed!) - Date.parse(b.time_placed!));
    const first = candidates[0];
    return first ? fromSnapTrade(first) : null;
  }

  async cancel(account: TradeAccount, brokerageOrderId: string): Promise<BrokerageOrder> {
    const user = await this.user(account);
    try {
      await this.withRetry(() => this.client.cancelOrder(user, account.externalId, brokerageOrderId));
    } catch (err) {
      if (err instanceof ProviderError && err.status === 400) throw new ApiError('FS_ORDER_NOT_CANCELABLE', `The brokerage cannot cancel it: ${err.message}`);
      if (err instanceof ProviderError && err.status === 404) throw new ApiError('FS_NOT_FOUND', 'The brokerage does not know this order.');
      throw upstreamError('snaptrade', err, 'canceling the order');
    }
    try {
      return fromSnapTrade(await this.withRetry(() => this.client.orderDetail(user, account.externalId, brokerageOrderId)));
    } catch (err) {
      throw upstreamError('snaptrade', err, 'reading the canceled order');
    }
  }

  /** SnapTrade's symbol search for the account (its brokerage's securities), through the shared budget. */
  async search(account: TradeAccount, query: string): Promise<SecurityMatch[]> {
    const user = await this.user(account);
    let found;
    try {
      found = await this.withRetry(() => this.client.symbolSearch(user, account.externalId, query));
    } catch (err) {
      throw searchError('snaptrade', err);
    }
    return found.slice(0, SEARCH_LIMIT).flatMap((s) =>
      s.symbol
        ? [{ symbol: s.symbol, name: s.description ?? null, universalSymbolId: s.id ?? null, exchange: s.exchange?.code ?? null, currency: s.currency?.code ?? null }]
        : [],
    );
  }

  /** The universal symbol id the account's brokerage trades under `symbol`. */
  private async lookup(user: SnapTradeUser, account: TradeAccount, symbol: string): Promise<string> {
    let found;
    try {
      found = await this.withRetry(() => this.client.symbolSearch(user, account.externalId, symbol));
    } catch (err) {
      throw refusal(err, 'looking up the security');
    }
    const exact = found.find((s) => (s.symbol ?? '').toUpperCase() === symbol);
    if (!exact?.id) throw new ApiError('FS_UNKNOWN_SECURITY', `${account.institution} does not trade ${symbol} (no such symbol for this account).`);
    return exact.id;
  }
}

/** An ISO 4217 code, or undefined (SnapTrade's impact lines name currencies by id). */
function currencyCode(value: unknown): string | undefined {
  return typeof value === 'string' && /^[A-Za-z]{3}$/.test(value.trim()) ? value.trim().toUpperCase() : undefined;
}

const ORDER_TYPES: Record<OrderRequest['type'], SnapTradeOrderForm['order_type']> = {
  market: 'Market',
  limit: 'Limit',
  stop: 'Stop',
  stop_limit: 'StopLimit',
};
const TIMES_IN_FORCE: Record<OrderRequest['timeInForce'], SnapTradeOrderForm['time_in_force']> = {
  day: 'Day',
  gtc: 'GTC',
  ioc: 'IOC',
  fok: 'FOK',
};

function snaptradeForm(account: TradeAccount, form: OrderRequest, universalSymbolId: string): SnapTradeOrderForm {
  return {
    account_id: account.externalId,
    action: form.side === 'buy' ? 'BUY' : 'SELL',
    universal_symbol_id: universalSymbolId,
    order_type: ORDER_TYPES[form.type],
    time_in_force: TIMES_IN_FORCE[form.timeInForce],
    ...(form.limitPrice !== undefined ? { price: Number(form.limitPrice) } : {}),
    ...(form.stopPrice !== undefined ? { stop: Number(form.stopPrice) } : {}),
    ...(form.quantity !== undefined ? { units: Number(form.quantity) } : { notional_value: Number(form.notional) }),
  };
}

interface SnapTradeOrderRecord {
  brokerage_order_id?: string | null;
  status?: string | null;
  filled_quantity?: string | number | null;
  total_quantity?: string | number | null;
  execution_price?: string | number | null;
  time_placed?: string | null;
}

function fromSnapTrade(order: SnapTradeOrderRecord): BrokerageOrder {
  if (!order.brokerage_order_id) throw new ApiError('FS_BROKERAGE_UNAVAILABLE', 'SnapTrade answered an order without an id; retry with the same Idempotency-Key.');
  const filled = Number(order.filled_quantity ?? 0);
  const total = Number(order.total_quantity ?? 0);
  return {
    brokerageOrderId: order.brokerage_order_id,
    status: snaptradeStatus(order.status, filled, total),
    filledQuantity: String(filled),
    averageFillPrice: order.execution_price === null || order.execution_price === undefined ? null : String(Number(order.execution_price)),
    submittedAt: order.time_placed ?? null,
  };
}

/** A SnapTrade 4xx as the refusal it is; 429 (after retries), 5xx and network failures as unavailable. */
function refusal(err: unknown, action: string): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof ProviderError && err.status === 400) {
    if (/buying power|insufficient funds/i.test(err.message)) return new ApiError('FS_INSUFFICIENT_BUYING_POWER', `The brokerage: ${err.message}`);
    if (/cannot sell|held|insufficient (qty|quantity|shares)/i.test(err.message)) {
      return new ApiError('FS_INSUFFICIENT_POSITION', `The brokerage: ${err.message}`);
    }
    if (/symbol/i.test(err.message)) return new ApiError('FS_UNKNOWN_SECURITY', `The brokerage: ${err.message}`);
    return new ApiError('FS_ORDER_REJECTED', `The brokerage refused the order while ${action}: ${err.message}`);
  }
  if (err instanceof ProviderError && err.status === 404) return new ApiError('FS_UNKNOWN_SECURITY', `SnapTrade: ${err.message}`);
  return upstreamError('snaptrade', err, action);
}
