import type { ProviderName } from './provider-error.ts';

/**
 * The one interface a source of holdings implements (SnapTrade, Alpaca; Plaid later). Sync jobs
 * call it; they never write holdings, they append what it returns to the user's stream.
 * Positions and balances stay in the provider's own shape (the actor normalizes them with the
 * pure functions in src/portfolio), so a replay can re-derive holdings with improved rules.
 */
export interface ProviderConnection {
  externalId: string;
  brokerageSlug: string | null;
  brokerageName: string | null;
  status: 'active' | 'broken' | 'disabled';
}

export interface ProviderAccount {
  externalId: string;
  connectionExternalId: string;
  name: string | null;
  numberMasked: string | null;
  institutionName: string;
  currency: string;
  tradingAllowed: boolean;
}

export interface ProviderAccountList {
  connections: ProviderConnection[];
  accounts: ProviderAccount[];
}

export interface ProviderHoldings {
  /** The provider's positions body as fetched (SnapTrade `positions/all` response, Alpaca `/v2/positions`). */
  positions: unknown;
  /** The provider's cash body (SnapTrade `/balances`, Alpaca `/v2/account`). */
  balances: unknown;
  /** When the brokerage says the data is from (ISO 8601). */
  asOf: string;
  /** Positions in the body, and their tickers (for sync stats). */
  positionCount: number;
  symbols: string[];
}

/** An account's activities as fetched (the provider's wire shape), for `activities.synced`. */
export interface ProviderActivities {
  /** Every activity the provider reported since the date asked for, newest first, in its wire shape. */
  activities: unknown[];
  /** Requests it took. */
  requests: number;
}

export interface RefreshOutcome {
  connectionExternalId: string;
  ok: boolean;
  error?: string;
  /** Whether asking again later can succeed (false for a disabled connection: the user must reconnect). */
  retryable?: boolean;
}

export interface HoldingsProvider {
  readonly name: ProviderName;
  listAccounts(userId: string): Promise<ProviderAccountList>;
  fetchHoldings(userId: string, accountExternalId: string): Promise<ProviderHoldings>;
  /**
   * The account's activities (trades, dividends, cash in and out...), every page of them; from
   * `since` (a day, `YYYY-MM-DD`, inclusive) when given, else the whole history the provider keeps.
   */
  fetchActivities(userId: string, accountExternalId: string, since: string | null): Promise<ProviderActivities>;
  /** Ask the brokerage for fresh data (SnapTrade's billed refresh); a no-op where data is live. */
  refreshConnections(userId: string): Promise<RefreshOutcome[]>;
}
