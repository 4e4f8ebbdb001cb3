/**
 * Time in the sandbox's market: Alpaca's US equity markets keep New York time, so dates
 * (activity dates, daily bars, calendar days), activity ids and clock times are computed in
 * America/New_York. The sandbox market never closes: every calendar day is a market day whose
 * one core session runs from midnight to the next midnight, New York time. The clock, the
 * calendar and the daily bars all follow that one rule.
 */

export const MARKET_TIMEZONE = 'America/New_York';

/** A market as Alpaca's v3 clock and calendar describe it (`PublicMarket`). */
export interface MarketInfo {
  acronym: string;
  mic: string;
  name: string;
  timezone: string;
}

/** The markets whose listings the sandbox carries (see `assets.ts`), by acronym. */
export const SANDBOX_MARKETS: Readonly<Record<string, MarketInfo>> = {
  NYSE: { acronym: 'NYSE', mic: 'XNYS', name: 'New York Stock Exchange', timezone: MARKET_TIMEZONE },
  NASDAQ: { acronym: 'NASDAQ', mic: 'XNAS', name: 'Nasdaq Stock Market', timezone: MARKET_TIMEZONE },
};

/** Find a sandbox market by acronym or MIC (case-insensitive). */
export function findMarket(code: string): MarketInfo | undefined {
  const wanted = code.trim().toUpperCase();
  return Object.values(SANDBOX_MARKETS).find((m) => m.acronym === wanted || m.mic === wanted);
}

const DAY_MS = 86_400_000;

const partsFormatter = new Intl.DateTimeFormat('en-US', {
  timeZone: MARKET_TIMEZONE,
  hourCycle: 'h23',
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
});

interface WallTime {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

function wallTime(at: Date): WallTime {
  const out: Record<string, number> = {};
  for (const part of partsFormatter.formatToParts(at)) {
    if (part.type !== 'literal') out[part.type] = Number(part.value);
  }
  return { year: out.year!, month: out.month!, day: out.day!, hour: out.hour!, minute: out.minute!, second: out.second! };
}

/** New York's offset from UTC at an instant, in ms (e.g. -4 h in summer). */
export function marketOffsetMs(at: Date): number {
  const wall = wallTime(at);
  const asUtc = Date.UTC(wall.year, wall.month - 1, wall.day, wall.hour, wall.minute, wall.second);
  return asUtc - Math.floor(at.getTime() / 1000) * 1000;
}

function pad(value: number, width = 2): string {
  return String(value).padStart(width, '0');
}

/** The New York date (`YYYY-MM-DD`) of an instant. */
export function marketDate(at: Date): string {
  const wall = wallTime(at);
  return `${wall.year}-${pad(wall.month)}-${pad(wall.day)}`;
}

/** `YYYY-MM-DD` plus `days` calendar days. */
export function addDays(date: string, days: number): string {
  return new Date(Date.parse(`${date}T00:00:00Z`) + days * DAY_MS).toISOString().slice(0, 10);
}

/** The instant New York's day `date` starts (midnight is never inside a DST change). */
export function marketMidnight(date: string): Date {
  const utcMidnight = Date.parse(`${date}T00:00:00Z`);
  const guess = utcMidnight - marketOffsetMs(new Date(utcMidnight));
  return new Date(utcMidnight - marketOffsetMs(new Date(guess)));
}

/** The next New York midnight after `at`: when the sandbox's current session ends. */
export function nextMarketMidnight(at: Date): Date {
  return marketMidnight(addDays(marketDate(at), 1));
}

/** New York wall time with milliseconds, `YYYY-MM-DDTHH:MM:SS.mmm`, and the offset in ms. */
function localIso(at: Date): { local: string; offset: number } {
  const offset = marketOffsetMs(at);
  return { local: new Date(at.getTime() + offset).toISOString().slice(0, 23), offset };
}

/**
 * RFC 3339 in New York time, as Alpaca writes clock times: `2024-03-22T16:36:27.528-04:00`,
 * `2024-03-25T09:30:00-04:00` (no fraction on whole seconds).
 */
export function marketTimestamp(at: Date): string {
  const { local, offset } = localIso(at);
  const sign = offset < 0 ? '-' : '+';
  const minutes = Math.abs(offset) / 60_000;
  return `${local.replace(/\.000$/, '')}${sign}${pad(Math.floor(minutes / 60))}:${pad(minutes % 60)}`;
}

/** The time part of an activity id, New York time: `YYYYMMDDHHMMSSmmm`. */
export function activityIdTime(at: Date): string {
  return localIso(at).local.replace(/[-:T.]/g, '');
}

/** Accepts `YYYY-MM-DD` or an RFC 3339 time (the SDK sends `toISOString()`); returns the date. */
export function parseDateParam(value: string): string | undefined {
  const match = /^(\d{4}-\d{2}-\d{2})(T.*)?$/.exec(value.trim());
  if (!match) return undefined;
  const date = match[1]!;
  if (Number.isNaN(Date.parse(`${date}T00:00:00Z`)) || new Date(`${date}T00:00:00Z`).toISOString().slice(0, 10) !== date) return undefined;
  if (match[2] !== undefined && Number.isNaN(Date.parse(value))) return undefined;
  return date;
}

/** One sandbox session: midnight to midnight, New York time. */
export interface MarketSession {
  date: string;
  start: Date;
  end: Date;
}

export function sessionOf(date: string): MarketSession {
  return { date, start: marketMidnight(date), end: marketMidnight(addDays(date, 1)) };
}

/** `GET /v2/clock` at `at`: always open; the session closes (and the next opens) at midnight. */
export function legacyClockJson(at: Date, open = true): Record<string, unknown> {
  const boundary = marketTimestamp(nextMarketMidnight(at));
  // Closed (scripted): it opens at the next session, which then runs to the one after.
  if (!open) return { timestamp: marketTimestamp(at), is_open: false, next_open: boundary, next_close: boundary };
  return { timestamp: marketTimestamp(at), is_open: true, next_open: boundary, next_close: boundary };
}

/** One entry of `GET /v3/clock`'s `clocks`. */
export function clockJson(market: MarketInfo, at: Date, open = true): Record<string, unknown> {
  const boundary = marketTimestamp(nextMarketMidnight(at));
  return {
    market: { ...market },
    timestamp: marketTimestamp(at),
    is_market_day: true,
    phase: open ? 'core' : 'closed',
    phase_until: boundary,
    next_market_open: boundary,
    next_market_close: boundary,
  };
}

/** Every date from `start` to `end`, both included. */
export function datesBetween(start: string, end: string): string[] {
  const dates: string[] = [];
  for (let date = start; date <= end; date = addDays(date, 1)) dates.push(date);
  return dates;
}

/** A `GET /v2/calendar` day. Trades settle at once in the sandbox, so settlement is the same day. */
export function legacyCalendarDayJson(date: string): Record<string, unknown> {
  return { date, open: '00:00', close: '24:00', session_open: '0000', session_close: '2400', settlement_date: date };
}

/** A `GET /v3/calendar/{market}` day, in the market's time or UTC. */
export function calendarDayJson(date: string, utc: boolean): Record<string, unknown> {
  const session = sessionOf(date);
  const format = (at: Date) => (utc ? at.toISOString().replace('.000Z', 'Z') : marketTimestamp(at));
  return { date, core_start: format(session.start), core_end: format(session.end), settlement_date: date };
}
