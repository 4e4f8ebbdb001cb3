import type { Knex } from '../../src/db/knex.ts';
import type { ActivityView, NormalizedActivity } from '../../src/activities/activity.ts';
import { activityFromRow, activityToRow } from '../../src/activities/activity-queries.ts';
import { normalizeActivitiesSynced, type ActivitiesSyncedPayload } from '../../src/activities/normalize-activities.ts';
import { createLogger } from '../../src/logging/logger.ts';

const log = createLogger('activities');

/** Rows per insert statement (18 columns each, well under Postgres's 65,535 parameters). */
const ROWS_PER_STATEMENT = 500;

/** Columns a later report of the same activity may change (everything but its identity). */
const CHANGEABLE = [
  'type',
  'provider_type',
  'trade_date',
  'settlement_date',
  'symbol',
  'universal_symbol_id',
  'units',
  'price',
  'amount',
  'fee',
  'currency',
  'amount_symbol',
  'description',
  'external_reference_id',
] as const;
const CHANGED_NOW = CHANGEABLE.map((c) => `activities.${c}`).join(', ');
const CHANGED_INCOMING = CHANGEABLE.map((c) => `excluded.${c}`).join(', ');

/**
 * Stores one account's normalised activities in the actor's commit transaction: one row per
 * (account, provider id), so an activity fetched again (a webhook delivered twice, the overlap
 * of the next fetch, a replay) is the same row; a report that changed it (SnapTrade re-fetched
 * it from the brokerage) updates the row. Returns the activities that were new or changed,
 * newest first: what the browser is told about.
 */
export async function storeActivities(
  tx: Knex.Transaction,
  userId: string,
  account: { id: string; provider: ActivityView['provider'] },
  activities: readonly NormalizedActivity[],
): Promise<ActivityView[]> {
  const stored: ActivityView[] = [];
  for (let i = 0; i < activities.length; i += ROWS_PER_STATEMENT) {
    const rows = activities.slice(i, i + ROWS_PER_STATEMENT).map((a) => activityToRow(userId, account.id, account.provider, a));
    // `excluded.updated_at` is the column default, now(): set with the changed columns.
    const written: Record<string, unknown>[] = await tx('activities')
      .insert(rows)
      .onConflict(['account_id', 'provider_activity_id'])
      .merge([...CHANGEABLE, 'updated_at'])
      .where(tx.raw(`(${CHANGED_NOW}) IS DISTINCT FROM (${CHANGED_INCOMING})`))
      .returning('*');
    stored.push(...written.map(activityFromRow));
  }
  return stored.sort((a, b) => (a.tradeDate < b.tradeDate ? 1 : a.tradeDate > b.tradeDate ? -1 : 0));
}

/**
 * `activities.synced` for one of the user's accounts: normalise (items that cannot be read are
 * logged and left out; the event keeps them as fetched) and store. Returns what was new or changed.
 */
export async function applyActivitiesSynced(
  tx: Knex.Transaction,
  userId: string,
  account: { id: string; provider: ActivityView['provider']; currency: string },
  payload: ActivitiesSyncedPayload,
): Promise<ActivityView[]> {
  const batch = normalizeActivitiesSynced(payload, account.currency);
  if (batch.rejected.length) {
    log.warn(
      { userId, provider: payload.provider, accountId: payload.accountId, rejected: batch.rejected.slice(0, 10), count: batch.rejected.length },
      'activities left out: the provider sent items that cannot be read',
    );
  }
  return storeActivities(tx, userId, account, batch.activities);
}
