import type { RequestCounts as AlpacaRequestCounts } from './alpaca/request-guards.ts';
import type {
  AddFaultInput,
  AlpacaCreateAccountInput,
  AlpacaFaultsInput,
  AlpacaSetPositionsInput,
  AlpacaStreamKind,
  ConnectInput,
  ControlAlpacaAccount,
  ControlAlpacaConnections,
  ControlAlpacaFaults,
  ControlAlpacaTrading,
  AlpacaTradingInput,
  ControlAlpacaInfo,
  ControlAccount,
  ControlAuthorization,
  ControlUser,
  FireWebhookInput,
  RecordActivityInput,
  SetPositionsInput,
  SetPricesInput,
  SettingsInput,
  UpsertPositionInput,
  WebhookConfigInput,
} from './control-api-types.ts';
import type { FaultRule } from './snaptrade/fault-injector.ts';
import type { RateLimitConfig } from './snaptrade/rate-limiter.ts';
import type { RequestCountFilter, RequestCounts, RequestRecord } from './snaptrade/request-counter.ts';
import type { WebhookDelivery, WebhookDeliveryState } from './snaptrade/webhook-dispatcher.ts';

export type * from './control-api-types.ts';
export type { AlpacaRequestCounts, FaultRule, RateLimitConfig, RequestCounts, RequestRecord, WebhookDelivery };

/** A control API call answered with an error (`{error: {code, message}}`). */
export class SandboxControlError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'SandboxControlError';
  }
}

/**
 * Typed client of the sandbox control API (`/__sandbox/...` on the SnapTrade sandbox; the
 * `alpaca*` methods script the Alpaca sandbox through it).
 * `new SandboxControlClient('http://127.0.0.1:4010')`. Every method is one HTTP call.
 */
export class SandboxControlClient {
  private readonly base: string;

  constructor(snaptradeUrl: string) {
    this.base = `${snaptradeUrl.replace(/\/+$/, '')}/__sandbox`;
  }

  private async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const response = await fetch(`${this.base}${path}`, {
      method,
      headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const data = (await response.json()) as T & { error?: { code: string; message: string } };
    if (!response.ok) {
      throw new SandboxControlError(response.status, data.error?.code ?? 'unknown', data.error?.message ?? response.statusText);
    }
    return data;
  }

  // --- world ---------------------------------------------------------------------------
  state(): Promise<{ users: ControlUser[] }> {
    return this.call('GET', '/state');
  }
  reset(): Promise<{ ok: true }> {
    return this.call('POST', '/reset');
  }
  createUser(input: { userId?: string; webhook?: boolean } = {}): Promise<{ userId: string; userSecret: string }> {
    return this.call('POST', '/users', input);
  }
  user(userId: string): Promise<ControlUser> {
    return this.call('GET', `/users/${encodeURIComponent(userId)}`);
  }
  deleteUser(userId: string): Promise<{ ok: true }> {
    return this.call('DELETE', `/users/${encodeURIComponent(userId)}`);
  }
  /** Connect a brokerage directly (no portal): authorization, accounts, webhooks. */
  connect(userId: string, input: ConnectInput): Promise<ControlAuthorization> {
    return this.call('POST', `/users/${encodeURIComponent(userId)}/connections`, input);
  }
  breakConnection(authorizationId: string, options: { webhook?: boolean } = {}): Promise<ControlAuthorization> {
    return this.call('POST', `/authorizations/${authorizationId}/break`, options);
  }
  fixConnection(authorizationId: string, options: { webhook?: boolean } = {}): Promise<ControlAuthorization> {
    return this.call('POST', `/authorizations/${authorizationId}/fix`, options);
  }
  /** ACCOUNT_HOLDINGS_UPDATED for every account of the connection, now. */
  syncConnection(authorizationId: string): Promise<{ webhookIds: string[] }> {
    return this.call('POST', `/authorizations/${authorizationId}/sync`);
  }
  removeConnection(authorizationId: string): Promise<{ ok: true }> {
    return this.call('DELETE', `/authorizations/${authorizationId}`);
  }
  account(accountId: string): Promise<ControlAccount> {
    return this.call('GET', `/accounts/${accountId}`);
  }
  setPositions(accountId: string, input: SetPositionsInput): Promise<ControlAccount> {
    return this.call('PUT', `/accounts/${accountId}/positions`, input);
  }
  setPosition(accountId: string, input: UpsertPositionInput): Promise<ControlAccount> {
    return this.call('POST', `/accounts/${accountId}/positions`, input);
  }
  setCash(accountId: string, input: { currency: string; amount: number; notify?: boolean }): Promise<ControlAccount> {
    return this.call('PUT', `/accounts/${accountId}/cash`, input);
  }
  /** Record an activity in the account's history (a dividend, a fee...), then ACCOUNT_TRANSACTIONS_UPDATED unless `notify: false`. */
  recordActivity(accountId: string, input: RecordActivityInput): Promise<{ id: string; type: string; amount: number | null; currency: string }> {
    return this.call('POST', `/accounts/${accountId}/activities`, input);
  }

  // --- market --------------------------------------------------------------------------
  securities(): Promise<Array<{ symbol: string; snaptradeId: string; currency: string; price: number | null }>> {
    return this.call('GET', '/securities');
  }
  setPrices(input: SetPricesInput): Promise<{ prices: Record<string, number | null> }> {
    return this.call('POST', '/prices', input);
  }
  setExchangeRate(pair: string, rate: number): Promise<{ pair: string; rate: number }> {
    return this.call('PUT', '/exchange-rates', { pair, rate });
  }

  // --- faults and limits ---------------------------------------------------------------
  addFault(input: AddFaultInput): Promise<FaultRule> {
    return this.call('POST', '/faults', input);
  }
  faults(): Promise<{ faults: FaultRule[] }> {
    return this.call('GET', '/faults');
  }
  removeFault(id: string): Promise<{ ok: true }> {
    return this.call('DELETE', `/faults/${id}`);
  }
  clearFaults(): Promise<{ ok: true }> {
    return this.call('DELETE', '/faults');
  }
  rateLimit(): Promise<RateLimitConfig> {
    return this.call('GET', '/rate-limit');
  }
  setRateLimit(input: Partial<RateLimitConfig>): Promise<RateLimitConfig> {
    return this.call('PUT', '/rate-limit', input);
  }
  resetRateLimit(): Promise<{ ok: true }> {
    return this.call('POST', '/rate-limit/reset');
  }
  settings(input: SettingsInput): Promise<{ refreshDelayMs: number; refreshCooldownMs: number }> {
    return this.call('PUT', '/settings', input);
  }
  setAutoHoldings(intervalMs: number): Promise<{ intervalMs: number }> {
    return this.call('PUT', '/auto-holdings', { intervalMs });
  }
  autoHoldingsStep(): Promise<{ account: ControlAccount | null }> {
    return this.call('POST', '/auto-holdings/step');
  }

  // --- webhooks ------------------------------------------------------------------------
  webhooks(filter: { eventType?: string; userId?: string; state?: WebhookDeliveryState } = {}): Promise<WebhookDelivery[]> {
    const query = new URLSearchParams(Object.entries(filter).filter(([, v]) => v !== undefined) as [string, string][]);
    return this.call<{ deliveries: WebhookDelivery[] }>('GET', `/webhooks?${query.toString()}`).then((r) => r.deliveries);
  }
  clearWebhooks(): Promise<{ ok: true }> {
    return this.call('DELETE', '/webhooks');
  }
  webhookConfig(): Promise<{ url: string | null; retryScheduleMs: number[] }> {
    return this.call('GET', '/webhooks/config');
  }
  configureWebhooks(input: WebhookConfigInput): Promise<{ url: string | null; retryScheduleMs: number[] }> {
    return this.call('PUT', '/webhooks/config', input);
  }
  fireWebhook(input: FireWebhookInput): Promise<WebhookDelivery> {
    return this.call('POST', '/webhooks/fire', input);
  }
  /** Poll the delivery log until `predicate` holds (default timeout 5 s). */
  async waitForWebhooks(
    predicate: (deliveries: WebhookDelivery[]) => boolean,
    filter: { eventType?: string; userId?: string; state?: WebhookDeliveryState } = {},
    // A guard against deliveries that never come, not a speed limit: a loaded machine is slow.
    timeoutMs = 60_000,
  ): Promise<WebhookDelivery[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const deliveries = await this.webhooks(filter);
      if (predicate(deliveries)) return deliveries;
      if (Date.now() > deadline) {
        throw new Error(`timed out waiting for webhooks (${deliveries.length} matching: ${deliveries.map((d) => `${d.eventType}/${d.state}`).join(', ')})`);
      }
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  // --- request counts ------------------------------------------------------------------
  requests(filter: RequestCountFilter = {}): Promise<RequestCounts> {
    const query = new URLSearchParams(
      Object.entries(filter)
        .filter(([, v]) => v !== undefined)
        .map(([k, v]) => [k, String(v)]),
    );
    return this.call('GET', `/requests?${query.toString()}`);
  }
  /** How many requests matched the filter (e.g. positions/all calls for one account). */
  async requestCount(filter: RequestCountFilter): Promise<number> {
    return (await this.requests(filter)).total;
  }
  /** The matching requests themselves, in arrival order (`at` in epoch ms, `outcome`). */
  requestLog(filter: RequestCountFilter = {}): Promise<RequestRecord[]> {
    const query = new URLSearchParams(
      Object.entries(filter)
        .filter(([, v]) => v !== undefined)
        .map(([k, v]) => [k, String(v)]),
    );
    return this.call<{ requests: RequestRecord[] }>('GET', `/requests/log?${query.toString()}`).then((r) => r.requests);
  }
  resetRequests(): Promise<{ ok: true }> {
    return this.call('DELETE', '/requests');
  }

  // --- Alpaca sandbox (`/__sandbox/alpaca`); accounts by account id or key id ------------
  /** The Alpaca server's URLs, default account and limits. */
  alpaca(): Promise<ControlAlpacaInfo> {
    return this.call('GET', '/alpaca');
  }
  alpacaAccounts(): Promise<ControlAlpacaAccount[]> {
    return this.call<{ accounts: ControlAlpacaAccount[] }>('GET', '/alpaca/accounts').then((r) => r.accounts);
  }
  /** A new account with its key pair (generated unless given); 409 if the key id is taken. */
  alpacaCreateAccount(input: AlpacaCreateAccountInput = {}): Promise<ControlAlpacaAccount> {
    return this.call('POST', '/alpaca/accounts', input);
  }
  alpacaAccount(idOrKeyId: string): Promise<ControlAlpacaAccount> {
    return this.call('GET', `/alpaca/accounts/${encodeURIComponent(idOrKeyId)}`);
  }
  /** Deposit (negative: withdraw) USD; 422 `insufficient_cash` when a withdrawal exceeds cash. */
  alpacaFund(idOrKeyId: string, amount: number): Promise<ControlAlpacaAccount> {
    return this.call('POST', `/alpaca/accounts/${encodeURIComponent(idOrKeyId)}/fund`, { amount });
  }
  /** Replace the account's positions (cash is unchanged). */
  alpacaSetPositions(idOrKeyId: string, input: AlpacaSetPositionsInput): Promise<ControlAlpacaAccount> {
    return this.call('PUT', `/alpaca/accounts/${encodeURIComponent(idOrKeyId)}/positions`, input);
  }
  /** Open stream sockets. */
  alpacaConnections(): Promise<ControlAlpacaConnections> {
    return this.call('GET', '/alpaca/connections');
  }
  /** Drop stream sockets (SDK clients reconnect); answers how many of each were dropped. */
  alpacaKillStreams(kind: AlpacaStreamKind = 'all'): Promise<ControlAlpacaConnections> {
    return this.call('POST', '/alpaca/streams/kill', { kind });
  }
  /** Most distinct symbols per market-data connection (error 405 beyond it); 0 removes the limit. */
  alpacaSetSymbolLimit(limit: number): Promise<{ limit: number }> {
    return this.call('PUT', '/alpaca/streams/symbol-limit', { limit });
  }
  alpacaRateLimit(): Promise<{ perMinute: number }> {
    return this.call('GET', '/alpaca/rate-limit');
  }
  /** REST requests per minute per key (429 beyond it); 0 disables the limit. */
  alpacaSetRateLimit(perMinute: number): Promise<{ perMinute: number }> {
    return this.call('PUT', '/alpaca/rate-limit', { perMinute });
  }
  alpacaFaults(): Promise<ControlAlpacaFaults> {
    return this.call('GET', '/alpaca/faults');
  }
  /** Fail REST requests at random (replaces the previous config). */
  alpacaSetFaults(input: AlpacaFaultsInput): Promise<ControlAlpacaFaults> {
    return this.call('PUT', '/alpaca/faults', input);
  }
  /** Script market hours, rejections after acceptance and partial fills (merged into the current script). */
  alpacaSetTrading(input: AlpacaTradingInput): Promise<ControlAlpacaTrading> {
    return this.call('PUT', '/alpaca/trading', input);
  }
  alpacaClearFaults(): Promise<{ ok: true }> {
    return this.call('DELETE', '/alpaca/faults');
  }
  alpacaRequests(): Promise<AlpacaRequestCounts> {
    return this.call('GET', '/alpaca/requests');
  }
  alpacaResetRequests(): Promise<{ ok: true }> {
    return this.call('DELETE', '/alpaca/requests');
  }
}
