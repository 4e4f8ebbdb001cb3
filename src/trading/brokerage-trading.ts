import type { OrderImpactView, OrderRequest, SecurityMatch } from '../api/schemas.ts';
import { ApiError } from '../http/errors.ts';
import { ProviderError } from '../providers/provider-error.ts';
import type { OrderProvider, OrderStatus } from './order-state.ts';

/**
 * What the order service needs from a brokerage, one adapter per provider (Alpaca for internal
 * accounts, SnapTrade for external ones). Every refusal is an `ApiError` with a stable code; a
 * refusal thrown before `place` guarantees nothing was placed.
 */

/** An account of the user that an order may be routed to. */
export interface TradeAccount {
  /** Our account id. */
  id: string;
  userId: string;
  provider: OrderProvider;
  /** The brokerage's account id. */
  externalId: string;
  institution: string;
  currency: string;
  tradingAllowed: boolean;
  connectionStatus: string;
}

/** At most this many securities answer a search. */
export const SEARCH_LIMIT = 10;

/** What preview (and place) worked out before anything is placed. */
export interface PreparedOrder {
  symbol: string;
  impact: OrderImpactView;
  warnings: string[];
  /** Provider-specific: SnapTrade's trade id (the impact to place), the universal symbol id. */
  tradeId?: string;
  universalSymbolId?: string;
}

/** The brokerage's answer about one order. */
export interface BrokerageOrder {
  brokerageOrderId: string;
  status: OrderStatus;
  filledQuantity: string;
  averageFillPrice: string | null;
  submittedAt: string | null;
}

export interface BrokerageTrading {
  readonly provider: OrderProvider;
  /** Checks the security, the market hours, buying power or position, and estimates the impact. */
  prepare(account: TradeAccount, form: OrderRequest): Promise<PreparedOrder>;
  /** Places the prepared order with `clientOrderId`; throws an ApiError when refused. */
  place(account: TradeAccount, form: OrderRequest, prepared: PreparedOrder, clientOrderId: string): Promise<BrokerageOrder>;
  /**
   * The order a previous attempt with `clientOrderId` may have placed (that attempt crashed or
   * lost its answer): found at the brokerage, or null when it certainly was not placed.
   */
  find(
    account: TradeAccount,
    form: OrderRequest,
    clientOrderId: string,
    context: { since: Date; symbol: string | null; knownBrokerageIds: ReadonlySet<string> },
  ): Promise<BrokerageOrder | null>;
  /** Securities the account's brokerage trades matching `query` (a symbol prefix or name words), best first. */
  search(account: TradeAccount, query: string): Promise<SecurityMatch[]>;
  /** Asks the brokerage to cancel; answers the order as the brokerage then reports it. */
  cancel(account: TradeAccount, brokerageOrderId: string): Promise<BrokerageOrder>;
}

/** A brokerage call that failed in a way no retry here can fix, as the user's error. */
export function upstreamError(provider: OrderProvider, err: unknown, action: string, retry = 'retry with the same Idempotency-Key'): ApiError {
  const name = provider === 'alpaca' ? 'Alpaca' : 'The brokerage (through SnapTrade)';
  if (err instanceof ApiError) return err;
  if (err instanceof ProviderError) {
    if (err.status === 401 || err.status === 402 || err.status === 403) {
      return new ApiError('FS_CONNECTION_BROKEN', `${name} refused our credentials while ${action}: reconnect the account.`);
    }
    if (err.retryable) {
      return new ApiError(
        'FS_BROKERAGE_UNAVAILABLE',
        `${name} is unavailable or throttling (${err.status ?? err.code ?? 'network'}) while ${action}; ${retry}.`,
      );
    }
    return new ApiError('FS_ORDER_REJECTED', `${name} refused it while ${action}: ${err.message}`);
  }
  return new ApiError('FS_BROKERAGE_UNAVAILABLE', `${name} did not answer while ${action}; ${retry}.`);
}

/**
 * A failed security search as the user's error: credentials refused is a broken connection;
 * anything else the brokerage answered or failed is 503 (no order is involved: search again).
 */
export function searchError(provider: OrderProvider, err: unknown): ApiError {
  const error = upstreamError(provider, err, 'searching securities', 'search again shortly');
  return error.code === 'FS_ORDER_REJECTED' ? new ApiError('FS_BROKERAGE_UNAVAILABLE', error.message) : error;
}

/** Decimal arithmetic for estimates only (money shown to 2 decimals, never stored as a fact). */
export function money(value: number): string {
  const rounded = Math.round(value * 100) / 100;
  return (Object.is(rounded, -0) ? 0 : rounded).toFixed(2);
}
