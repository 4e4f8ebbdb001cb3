/**
 * Which points a history range shows (pure): the ranges of `GET /api/portfolio/history`, where
 * each starts, and which store and spacing serves it.
 *
 * - `1D`: the intraday points of the last 24 hours, one a minute.
 * - `1W`: the intraday points of the last 7 days, one per 30 minutes (the last of each bucket).
 * - `1M`, `3M`, `YTD`, `1Y`, `ALL`: daily closes from the range's first day (ALL: every one).
 */

export const HISTORY_RANGES = ['1D', '1W', '1M', '3M', 'YTD', '1Y', 'ALL'] as const;
export type HistoryRange = (typeof HISTORY_RANGES)[number];

/** The spacing of each range's points. */
export const HISTORY_INTERVALS: Record<HistoryRange, 'minute' | '30 minutes' | 'day'> = {
  '1D': 'minute',
  '1W': '30 minutes',
  '1M': 'day',
  '3M': 'day',
  YTD: 'day',
  '1Y': 'day',
  ALL: 'day',
};

export type HistoryPlan =
  | { source: 'intraday'; from: Date; bucketMinutes: number }
  | { source: 'daily'; fromDay: string | null };

const DAY_MS = 86_400_000;

const isoDay = (at: Date): string => at.toISOString().slice(0, 10);

function monthsBack(now: Date, months: number): Date {
  const at = new Date(now);
  at.setUTCMonth(at.getUTCMonth() - months);
  return at;
}

export function planHistory(range: HistoryRange, now: Date): HistoryPlan {
  switch (range) {
    case '1D':
      return { source: 'intraday', from: new Date(now.getTime() - DAY_MS), bucketMinutes: 1 };
    case '1W':
      return { source: 'intraday', from: new Date(now.getTime() - 7 * DAY_MS), bucketMinutes: 30 };
    case '1M':
      return { source: 'daily', fromDay: isoDay(monthsBack(now, 1)) };
    case '3M':
      return { source: 'daily', fromDay: isoDay(monthsBack(now, 3)) };
    case 'YTD':
      return { source: 'daily', fromDay: `${now.getUTCFullYear()}-01-01` };
    case '1Y':
      return { source: 'daily', fromDay: isoDay(monthsBack(now, 12)) };
    case 'ALL':
      return { source: 'daily', fromDay: null };
  }
}
