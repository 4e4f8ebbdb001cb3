import type { Request } from 'express';
import { AlpacaApiError } from './errors.ts';
import { marketMidnight, parseDateParam } from './market-calendar.ts';

/**
 * Query-string readers for the Alpaca sandbox routes. A malformed value is Alpaca's 400
 * (`40010000`) with a message naming the parameter.
 */

/** The last value of a query parameter, or undefined when it is absent or empty. */
export function queryString(req: Request, name: string): string | undefined {
  const value = (req.query as Record<string, unknown>)[name];
  if (Array.isArray(value)) return value.length > 0 ? String(value[value.length - 1]) : undefined;
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** A list given comma-separated, repeated, or both (`a=x,y&a=z`). */
export function queryList(req: Request, name: string): string[] | undefined {
  const value = (req.query as Record<string, unknown>)[name];
  const raw = Array.isArray(value) ? value.map(String) : typeof value === 'string' ? [value] : [];
  const items = raw.flatMap((v) => v.split(',')).map((s) => s.trim()).filter(Boolean);
  return items.length > 0 ? [...new Set(items)] : undefined;
}

export function queryDate(req: Request, name: string): Date | undefined {
  const value = queryString(req, name);
  if (value === undefined) return undefined;
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) throw new AlpacaApiError('MALFORMED_REQUEST', `invalid ${name}`);
  return date;
}

/** A time given as RFC 3339 or as a date (`YYYY-MM-DD`: that day's New York midnight). */
export function queryTime(req: Request, name: string): Date | undefined {
  const value = queryString(req, name);
  if (value === undefined) return undefined;
  if (/^\d{4}-\d{2}-\d{2}$/.test(value)) {
    const date = parseDateParam(value);
    if (date === undefined) throw new AlpacaApiError('MALFORMED_REQUEST', `invalid ${name}`);
    return marketMidnight(date);
  }
  return queryDate(req, name);
}

/** A calendar date given as `YYYY-MM-DD` or RFC 3339 (its date part). */
export function queryCalendarDate(req: Request, name: string): string | undefined {
  const value = queryString(req, name);
  if (value === undefined) return undefined;
  const date = parseDateParam(value);
  if (date === undefined) throw new AlpacaApiError('MALFORMED_REQUEST', `invalid ${name}`);
  return date;
}

export function queryPositiveInt(req: Request, name: string): number | undefined {
  const value = queryString(req, name);
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || Number(value) < 1) throw new AlpacaApiError('MALFORMED_REQUEST', `invalid ${name}`);
  return Number(value);
}

export function queryDecimal(req: Request, name: string): number | undefined {
  const value = queryString(req, name);
  if (value === undefined) return undefined;
  if (!/^\d+(\.\d+)?$/.test(value)) throw new AlpacaApiError('MALFORMED_REQUEST', `invalid ${name}`);
  return Number(value);
}

export function queryDirection(req: Request): 'asc' | 'desc' | undefined {
  const direction = queryString(req, 'direction');
  if (direction !== undefined && direction !== 'asc' && direction !== 'desc') {
    throw new AlpacaApiError('MALFORMED_REQUEST', 'direction must be asc or desc');
  }
  return direction;
}

export function queryBoolean(req: Request, name: string): boolean | undefined {
  const value = queryString(req, name);
  if (value === undefined) return undefined;
  if (value !== 'true' && value !== 'false') throw new AlpacaApiError('MALFORMED_REQUEST', `invalid ${name}`);
  return value === 'true';
}
