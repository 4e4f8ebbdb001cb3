import type { CredentialsStore, AlpacaCredentials } from '../credentials-store.ts';
import type { HoldingsProvider, ProviderAccountList, ProviderActivities, ProviderHoldings, RefreshOutcome } from '../holdings-provider.ts';
import { isRetryableStatus, networkError, ProviderError } from '../provider-error.ts';
import { createAlpacaClient, type AlpacaClient } from './client.ts';

export interface AlpacaProviderOptions {
  tradingUrl?: string | undefined;
  dataUrl?: string | undefined;
  paper?: boolean;
  timeoutMs?: number;
}

/** Alpaca's largest page of activities when no single date is asked for. */
const ALPACA_ACTIVITY_PAGE_SIZE = 100;

/** Alpaca-shaped account, as far as we read it. */
interface AlpacaAccount {
  id: string;
  account_number?: string;
  currency?: string;
  cash?: string;
  buying_power?: string;
  status?: string;
  trading_blocked?: boolean;
}

/**
 * Internal Alpaca accounts as a HoldingsProvider. Each linked account has its own key pair
 * (sealed in `brokerage_connections`); one "connection" per Alpaca account.
 */
export class AlpacaProvider implements HoldingsProvider {
  readonly name = 'alpaca' as const;
  private readonly clients = new Map<string, AlpacaClient>();

  constructor(
    private readonly credentials: CredentialsStore,
    private readonly options: AlpacaProviderOptions,
  ) {}

  /** The SDK client of one key pair (cached; the trading adapter shares it). */
  client(creds: { keyId: string; secretKey: string }): AlpacaClient {
    const key = `${creds.keyId}:${creds.secretKey}`;
    let client = this.clients.get(key);
    if (!client) {
      client = createAlpacaClient({
        keyId: creds.keyId,
        secretKey: creds.secretKey,
        tradingUrl: this.options.tradingUrl,
        dataUrl: this.options.dataUrl,
        paper: this.options.paper ?? true,
        timeoutMs: this.options.timeoutMs ?? 20_000,
        // Retries are the sync job's business (jittered backoff), not the SDK's.
        retry: false,
      });
      this.clients.set(key, client);
    }
    return client;
  }

  /** Reads an Alpaca account with the given keys (used when linking, to learn its id). */
  async fetchAccount(creds: { keyId: string; secretKey: string }): Promise<AlpacaAccount> {
    return toWireShape(await alpacaCall('getAccount', () => this.client(creds).sdk.trading.account.getAccount())) as AlpacaAccount;
  }

  async listAccounts(userId: string): Promise<ProviderAccountList> {
    const links = await this.credentials.alpacaConnections(userId);
    const result: ProviderAccountList = { connections: [], accounts: [] };
    for (const link of links) {
      const account = await this.fetchAccount(link);
      result.connections.push({ externalId: link.accountId, brokerageSlug: 'ALPACA', brokerageName: 'Alpaca', status: 'active' });
      result.accounts.push({
        externalId: link.accountId,
        connectionExternalId: link.accountId,
        name: 'Alpaca brokerage account',
        numberMasked: account.account_number ? `••${account.account_number.slice(-4)}` : null,
        institutionName: 'Alpaca',
        currency: account.currency ?? 'USD',
        tradingAllowed: !account.trading_blocked,
      });
    }
    return result;
  }

  async fetchHoldings(userId: string, accountExternalId: string): Promise<ProviderHoldings> {
    const link = await this.link(userId, accountExternalId);
    const client = this.client(link);
    const asOf = new Date().toISOString();
    const positions = (await alpacaCall('getAllOpenPositions', () => client.sdk.trading.positions.getAllOpenPositions())).map(
      toWireShape,
    ) as { symbol?: string }[];
    const account = await this.fetchAccount(link);
    return {
      positions,
      balances: account,
      asOf,
      positionCount: positions.length,
      symbols: positions.map((p) => p.symbol ?? '').filter(Boolean),
    };
  }

  /**
   * Every page of `GET /v2/account/activities` (newest first, 100 a page, each page one request:
   * the SDK's `getAccountActivities` with the last id as `page_token`). `since` is sent as `after`
   * at UTC midnight of the day before it, so no activity of that New York day is missed.
   */
  async fetchActivities(userId: string, accountExternalId: string, since: string | null): Promise<ProviderActivities> {
    const link = await this.link(userId, accountExternalId);
    const { accountActivities } = this.client(link).sdk.trading;
    const after = since ? new Date(Date.parse(`${since}T00:00:00Z`) - 86_400_000) : undefined;
    const activities: unknown[] = [];
    let requests = 0;
    for (let pageToken: string | undefined; ; ) {
      const page = await alpacaCall('getAccountActivities', () =>
        accountActivities.getAccountActivities({
          direction: 'desc',
          pageSize: ALPACA_ACTIVITY_PAGE_SIZE,
          ...(after ? { after } : {}),
          ...(pageToken ? { pageToken } : {}),
        }),
      );
      requests += 1;
      activities.push(...page.map(toWireShape));
      pageToken = page[page.length - 1]?.id;
      if (page.length < ALPACA_ACTIVITY_PAGE_SIZE || !pageToken) return { activities, requests };
    }
  }

  private async link(userId: string, accountExternalId: string): Promise<AlpacaCredentials> {
    const link = await this.credentials.alpacaByAccount(userId, accountExternalId);
    if (!link) {
      throw new ProviderError('alpaca', 'credentials', 404, 'not_linked', `no Alpaca account ${accountExternalId} linked for ${userId}`, false);
    }
    return link;
  }

  async refreshConnections(): Promise<RefreshOutcome[]> {
    // Alpaca's data is live: there is nothing to refresh.
    return [];
  }
}

/** Runs one Alpaca SDK call and classifies its failure once (`ProviderError`). */
export async function alpacaCall<T>(operation: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    const status = (err as { status?: number }).status;
    if (typeof status === 'number') {
      const code = (err as { code?: number | string }).code;
      throw new ProviderError(
        'alpaca',
        operation,
        status,
        code === undefined ? undefined : String(code),
        `${operation}: HTTP ${status}: ${(err as Error).message}`,
        isRetryableStatus(status),
      );
    }
    throw networkError('alpaca', operation, err);
  }
}

/**
 * The SDK turns Alpaca's snake_case JSON into camelCase models; events keep Alpaca's documented
 * wire shape (`avg_entry_price`, ...) so they read the same as the API reference and replay does
 * not depend on the SDK version.
 */
export function toWireShape(model: unknown): unknown {
  if (Array.isArray(model)) return model.map(toWireShape);
  if (model instanceof Date) return model.toISOString();
  if (model === null || typeof model !== 'object') return model;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(model as Record<string, unknown>)) {
    if (value === undefined) continue;
    out[key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)] = toWireShape(value);
  }
  return out;
}
