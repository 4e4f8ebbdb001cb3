import { z } from 'zod';
import { decimalSchema } from '../portfolio/normalized.ts';
import { formatPath } from '../portfolio/payload-error.ts';
import type { ActivityBatch, NormalizedActivity } from './activity.ts';

/**
 * Normalise a provider's list of activities one item at a time: an item that cannot be read is
 * left out with every problem found (path and message), the others are kept. One malformed
 * activity (a new field shape, a missing date) must not hide a year of good ones, and the event
 * keeps the item as fetched, so a corrected normaliser picks it up on replay.
 */
export function normalizeBatch<T>(
  list: unknown,
  schemaOf: (item: unknown) => z.ZodType<T>,
  toActivity: (item: T) => NormalizedActivity,
): ActivityBatch {
  const batch: ActivityBatch = { activities: [], rejected: [] };
  if (!Array.isArray(list)) {
    batch.rejected.push({ index: -1, providerActivityId: null, problems: ['(root): expected a list of activities'] });
    return batch;
  }
  const seen = new Set<string>();
  list.forEach((item: unknown, index) => {
    const parsed = schemaOf(item).safeParse(item);
    if (!parsed.success) {
      const id = (item as { id?: unknown } | null)?.id;
      batch.rejected.push({
        index,
        providerActivityId: typeof id === 'string' && id !== '' ? id : null,
        problems: parsed.error.issues.map((issue) => `${formatPath(issue.path) || '(root)'}: ${issue.message}`),
      });
      return;
    }
    const activity = toActivity(parsed.data);
    // The provider's id is the identity: a page boundary that moved under us repeats an item.
    if (seen.has(activity.providerActivityId)) return;
    seen.add(activity.providerActivityId);
    batch.activities.push(activity);
  });
  return batch;
}

/** A decimal that must be there: a missing one says so rather than zod's union message. */
export const requiredDecimal = z
  .custom<string | number>((v) => v !== undefined && v !== null, { message: 'expected a decimal number' })
  .pipe(decimalSchema);

const ISO_CURRENCY = /^[A-Z]{3}$/;

/** An ISO 4217 code (upper-cased), or null when `code` is not one (a crypto quote such as `USDC`). */
export function isoCurrency(code: string | null | undefined): string | null {
  const upper = code?.trim().toUpperCase() ?? '';
  return ISO_CURRENCY.test(upper) ? upper : null;
}

/**
 * A provider's date-time as ISO 8601 UTC, or null when it is not one. Accepts ISO forms,
 * SnapTrade's `2024-03-22 16:27:55+00:00`, and a bare `YYYY-MM-DD` (its midnight UTC).
 */
export function activityTime(text: string): string | null {
  const trimmed = text.trim();
  const iso = /^\d{4}-\d{2}-\d{2}$/.test(trimmed) ? `${trimmed}T00:00:00Z` : trimmed.replace(/^(\d{4}-\d{2}-\d{2}) /, '$1T');
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/.test(iso)) return null;
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? null : new Date(ms).toISOString();
}

/** The `YYYY-MM-DD` day of a provider's date or date-time (UTC), or null. */
export function activityDay(text: string): string | null {
  const time = activityTime(text);
  return time === null ? null : time.slice(0, 10);
}
