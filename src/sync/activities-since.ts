import type { Knex } from '../db/knex.ts';
import type { ProviderName } from '../providers/provider-error.ts';

/**
 * How far back an activities fetch reaches: brokerages post some activities late or back-dated
 * (a dividend booked days after its pay date, a trade settled and corrected), so each fetch asks
 * again for the weeks before the newest activity already stored. Activities are stored once per
 * provider id, so asking twice costs a few repeated rows in the event, never a duplicate.
 */
export const ACTIVITIES_OVERLAP_DAYS = 30;

/**
 * Where an account's activities fetch starts: `listed` is false while the account has no row yet
 * (its listing has not been applied: the fetch waits rather than spend a request on activities
 * the actor could not place); `since` is the day (`YYYY-MM-DD`) `ACTIVITIES_OVERLAP_DAYS` before
 * the newest stored activity of the account, or null (the whole history) when none is stored yet.
 */
export async function activitiesSince(
  db: Knex,
  userId: string,
  provider: ProviderName,
  accountExternalId: string,
): Promise<{ listed: boolean; since: string | null }> {
  const row = await db('accounts as a')
    .leftJoin('activities as x', 'x.account_id', 'a.id')
    .where({ 'a.user_id': userId, 'a.provider': provider, 'a.external_id': accountExternalId })
    .groupBy('a.id')
    .max({ newest: 'x.trade_date' })
    .first();
  if (!row) return { listed: false, since: null };
  const newest = row.newest as Date | null | undefined;
  if (!newest) return { listed: true, since: null };
  return { listed: true, since: new Date(newest.getTime() - ACTIVITIES_OVERLAP_DAYS * 86_400_000).toISOString().slice(0, 10) };
}
