import type { ActivityType } from '../../src/activities/activity.ts';
import type { ActivityForReturns } from '../../src/returns/external-cash-flows.ts';
import { rangeReturns, type RangeReturns } from '../../src/returns/range-returns.ts';
import type { ValuePoint } from '../../src/returns/time-weighted-return.ts';

/** Helpers of the golden return scenarios: a USD portfolio, daily closes at 21:00 UTC. */

export const at = (iso: string): Date => new Date(iso);

export const point = (iso: string, value: string): ValuePoint => ({ at: at(iso), value });

export function activity(accountId: string, type: ActivityType, iso: string, amount: string | null): ActivityForReturns {
  return { accountId, type, amount, currency: 'USD', at: at(iso) };
}

export function portfolioReturns(points: ValuePoint[], activities: ActivityForReturns[]): RangeReturns {
  return rangeReturns({
    scope: { kind: 'portfolio' },
    points,
    rangeStart: points[0]!.at,
    now: points[points.length - 1]!.at,
    activities,
    toBase: (amount, currency) => (currency === 'USD' ? amount : null),
    currentValue: points[points.length - 1]!.value,
    unrealizedPl: null,
  });
}

export const markCodes = (returns: RangeReturns): string[] => returns.marks.map((mark) => mark.code);
