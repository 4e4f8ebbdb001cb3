import type { ActivityBatch } from './activity.ts';
import { normalizeAlpacaActivities } from './normalize-alpaca-activities.ts';
import { normalizeSnapTradeActivities } from './normalize-snaptrade-activities.ts';

/**
 * `activities.synced`: one account's activities as a sync job fetched them (the provider's wire
 * shape, at most a page of them), appended to the user's stream; the actor normalises and stores
 * them.
 */
export interface ActivitiesSyncedPayload {
  provider: 'snaptrade' | 'alpaca';
  /** The brokerage's account id. */
  accountId: string;
  /** The first day the fetch asked for (`YYYY-MM-DD`), null for the whole history. */
  since: string | null;
  activities: unknown[];
  fetchedAt: string;
  reason: string;
}

/** The provider's normaliser for a fetched batch (`accountCurrency`: the account's, for SnapTrade rows without one). */
export function normalizeActivitiesSynced(payload: ActivitiesSyncedPayload, accountCurrency: string): ActivityBatch {
  return payload.provider === 'alpaca'
    ? normalizeAlpacaActivities(payload.activities)
    : normalizeSnapTradeActivities(payload.activities, accountCurrency);
}
