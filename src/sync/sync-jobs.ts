import type { ProviderName } from '../providers/provider-error.ts';

/** The BullMQ queue every sync job goes through. */
export const SYNC_QUEUE = 'sync';

/** Fetch one account's positions and balances and append `positions.synced`. */
export interface AccountSyncJob {
  kind: 'account';
  userId: string;
  provider: ProviderName;
  /** The brokerage's account id (SnapTrade account id, Alpaca account id). */
  accountId: string;
  reason: string;
  requestedAt: string;
}

/** Fetch one account's activities and append `activities.synced`. */
export interface ActivitiesSyncJob {
  kind: 'activities';
  userId: string;
  provider: ProviderName;
  /** The brokerage's account id. */
  accountId: string;
  reason: string;
  requestedAt: string;
}

/** List a user's connections and accounts, append `accounts.synced`, then sync each account. */
export interface UserSyncJob {
  kind: 'user';
  userId: string;
  reason: string;
  /** Also ask SnapTrade to refresh each connection first (billed; used by the refresh API). */
  refreshConnections: boolean;
  requestedAt: string;
}

/** Refresh the FX table from SnapTrade's exchange rates (hourly). */
export interface FxRatesJob {
  kind: 'fx';
}

/** Enqueue a user sync for every user, spread over time to stay inside the request budget. */
export interface NightlySyncJob {
  kind: 'nightly';
}

export type SyncJob = AccountSyncJob | ActivitiesSyncJob | UserSyncJob | FxRatesJob | NightlySyncJob;

export function accountDedupeId(userId: string, provider: ProviderName, accountId: string): string {
  return `account:${userId}:${provider}:${accountId}`;
}

export function activitiesDedupeId(userId: string, provider: ProviderName, accountId: string): string {
  return `activities:${userId}:${provider}:${accountId}`;
}

export function userDedupeId(userId: string): string {
  return `user:${userId}`;
}
