import { Snaptrade, SnaptradeAuth, type CommercialApiKeyAuth } from 'snaptrade-typescript-sdk';
import { networkError, ProviderError, isRetryableStatus } from '../provider-error.ts';
import type { RateGrant, RateLimiter } from '../rate-limiter.ts';

/** The axios options we pass on every call (the SDK forwards them to axios). */
interface CallOptions {
  validateStatus: (status: number) => boolean;
  timeout: number;
}

interface HttpAnswer<T> {
  status: number;
  data: T;
}

export interface SnapTradeUser {
  userId: string;
  userSecret: string;
}

/** SnapTrade's order form (impact and force order), as the SDK takes it. */
export interface SnapTradeOrderForm {
  account_id: string;
  action: 'BUY' | 'SELL';
  universal_symbol_id: string;
  order_type: 'Market' | 'Limit' | 'Stop' | 'StopLimit';
  time_in_force: 'Day' | 'GTC' | 'FOK' | 'IOC';
  price?: number | null;
  stop?: number | null;
  units?: number | null;
  notional_value?: number | null;
}

export interface SnapTradeClientOptions {
  clientId: string;
  consumerKey: string;
  basePath: string;
  /** Shared request budget; every call waits for it. */
  limiter: RateLimiter;
  timeoutMs?: number;
}

/** Default time limit of one SnapTrade call; the budget holds a request at most this long (plus a margin). */
export const SNAPTRADE_TIMEOUT_MS = 20_000;

/**
 * The official SDK with three changes of behaviour that matter in production:
 * - every call first takes a token from the shared rate limiter, so the engine never causes 429s;
 * - every HTTP status comes back as a response (`validateStatus`), which keeps the SDK from
 *   sleeping 5+10+20 s on a 429 itself and lets us classify errors once (ProviderError);
 * - a timeout on every call.
 */
export class SnapTradeClient {
  private readonly sdk: Snaptrade<CommercialApiKeyAuth>;
  private readonly axiosOptions: CallOptions;
  /** Aborted on shutdown: calls still waiting for the rate limiter give up at once. */
  private readonly stopping = new AbortController();

  constructor(private readonly options: SnapTradeClientOptions) {
    this.sdk = new Snaptrade({
      auth: SnaptradeAuth.commercialApiKey({ clientId: options.clientId, consumerKey: options.consumerKey }),
      basePath: options.basePath.replace(/\/+$/, ''),
    });
    this.axiosOptions = { validateStatus: () => true, timeout: options.timeoutMs ?? SNAPTRADE_TIMEOUT_MS };
  }

  /**
   * Stops waiting for the rate limiter: a call still waiting fails at once with a retryable
   * error (its sync job is retried later, by this worker or another) instead of holding the
   * shutdown for up to a whole budget window.
   */
  stopWaiting(): void {
    this.stopping.abort(new Error('the engine is stopping'));
  }

  /** `userId`: whose share of the budget the call counts against (none for client-wide calls). */
  private async call<T>(operation: string, run: (opts: CallOptions) => Promise<HttpAnswer<T>>, userId?: string): Promise<T> {
    let grant: RateGrant;
    try {
      grant = await this.options.limiter.acquire(this.stopping.signal, userId);
    } catch (err) {
      if (!this.stopping.signal.aborted) throw networkError('snaptrade', operation, err);
      throw new ProviderError('snaptrade', operation, undefined, 'stopping', `${operation}: not sent, the engine is stopping`, true);
    }
    let response: HttpAnswer<T>;
    try {
      response = await run(this.axiosOptions);
    } catch (err) {
      throw networkError('snaptrade', operation, err);
    } finally {
      await grant.settle();
    }
    if (response.status >= 200 && response.status < 300) return response.data;
    const body = (response.data ?? {}) as { detail?: unknown; code?: unknown };
    const detail = typeof body.detail === 'string' ? body.detail : JSON.stringify(response.data)?.slice(0, 300);
    throw new ProviderError(
      'snaptrade',
      operation,
      response.status,
      body.code === undefined ? undefined : String(body.code),
      `${operation}: HTTP ${response.status}: ${detail}`,
      isRetryableStatus(response.status),
    );
  }

  registerUser(userId: string) {
    return this.call('registerUser', (o) => this.sdk.authentication.registerSnapTradeUser({ userId }, o), userId);
  }

  deleteUser(userId: string) {
    return this.call('deleteUser', (o) => this.sdk.authentication.deleteSnapTradeUser({ userId }, o), userId);
  }

  loginUrl(user: SnapTradeUser, options: { broker?: string; customRedirect?: string; reconnect?: string } = {}) {
    return this.call(
      'login',
      (o) => this.sdk.authentication.loginSnapTradeUser({ ...user, ...options, connectionType: 'trade' }, o),
      user.userId,
    );
  }

  listAuthorizations(user: SnapTradeUser) {
    return this.call('listAuthorizations', (o) => this.sdk.connections.listBrokerageAuthorizations(user, o), user.userId);
  }

  refreshAuthorization(user: SnapTradeUser, authorizationId: string) {
    return this.call(
      'refreshAuthorization',
      (o) => this.sdk.connections.refreshBrokerageAuthorization({ ...user, authorizationId }, o),
      user.userId,
    );
  }

  removeAuthorization(user: SnapTradeUser, authorizationId: string) {
    return this.call(
      'removeAuthorization',
      (o) => this.sdk.connections.removeBrokerageAuthorization({ ...user, authorizationId }, o),
      user.userId,
    );
  }

  listAccounts(user: SnapTradeUser) {
    return this.call('listAccounts', (o) => this.sdk.accountInformation.listUserAccounts(user, o), user.userId);
  }

  positions(user: SnapTradeUser, accountId: string) {
    return this.call('positions', (o) => this.sdk.accountInformation.getAllAccountPositions({ ...user, accountId }, o), user.userId);
  }

  balances(user: SnapTradeUser, accountId: string) {
    return this.call('balances', (o) => this.sdk.accountInformation.getUserAccountBalance({ ...user, accountId }, o), user.userId);
  }

  /**
   * One page of an account's activities (newest first; `offset`/`limit` page them, `startDate`
   * `YYYY-MM-DD` leaves out older ones).
   */
  accountActivities(user: SnapTradeUser, accountId: string, page: { offset: number; limit: number; startDate?: string }) {
    return this.call(
      'getAccountActivities',
      (o) => this.sdk.accountInformation.getAccountActivities({ ...user, accountId, ...page }, o),
      user.userId,
    );
  }

  // --- trading (every call within the shared budget, counted against the user's share) -----

  /** Securities the account's brokerage trades that match `substring` (symbol lookup for the account). */
  symbolSearch(user: SnapTradeUser, accountId: string, substring: string) {
    return this.call(
      'symbolSearchUserAccount',
      (o) => this.sdk.referenceData.symbolSearchUserAccount({ ...user, accountId, substring }, o),
      user.userId,
    );
  }

  /** The order's impact (estimated cash, commissions), and a trade id to place it within 5 minutes. */
  orderImpact(user: SnapTradeUser, form: SnapTradeOrderForm) {
    return this.call('getOrderImpact', (o) => this.sdk.trading.getOrderImpact({ ...user, ...form }, o), user.userId);
  }

  /** Places a trade an impact check returned. */
  placeImpact(user: SnapTradeUser, tradeId: string) {
    return this.call('placeOrder', (o) => this.sdk.trading.placeOrder({ ...user, tradeId }, o), user.userId);
  }

  /** Places an order without an impact check (brokerages without impacts). */
  placeForceOrder(user: SnapTradeUser, form: SnapTradeOrderForm & { client_order_id?: string }) {
    return this.call('placeForceOrder', (o) => this.sdk.trading.placeForceOrder({ ...user, ...form }, o), user.userId);
  }

  /** Orders of the last 24 hours, open ones included. */
  recentOrders(user: SnapTradeUser, accountId: string) {
    return this.call(
      'getUserAccountRecentOrders',
      (o) => this.sdk.accountInformation.getUserAccountRecentOrders({ ...user, accountId, onlyExecuted: false }, o),
      user.userId,
    );
  }

  orderDetail(user: SnapTradeUser, accountId: string, brokerageOrderId: string) {
    return this.call(
      'getUserAccountOrderDetail',
      (o) => this.sdk.accountInformation.getUserAccountOrderDetail({ ...user, accountId, brokerage_order_id: brokerageOrderId }, o),
      user.userId,
    );
  }

  cancelOrder(user: SnapTradeUser, accountId: string, brokerageOrderId: string) {
    return this.call(
      'cancelOrder',
      (o) => this.sdk.trading.cancelOrder({ ...user, accountId, brokerage_order_id: brokerageOrderId }, o),
      user.userId,
    );
  }

  exchangeRates() {
    return this.call('exchangeRates', (o) => this.sdk.referenceData.listAllCurrenciesRates(o));
  }
}
