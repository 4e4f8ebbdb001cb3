import { z } from 'zod';
import { canonical, isDecimalText, type DecimalString } from './decimal.ts';
import type { SecurityRef } from './security-identity.ts';

/**
 * The provider-neutral shapes the normalisers produce and the aggregation consumes. They are
 * plain JSON (decimal strings, ISO times), so they go into `positions.synced` events and
 * Postgres as they are, and replay reads them back unchanged.
 */

/** One position in one account, as the provider reported it. */
export interface NormalizedPosition {
  security: SecurityRef;
  /** Units held; negative for a short position. For options, contracts. */
  quantity: DecimalString;
  /** Cost per unit of `quantity`, in `currency`; absent when the provider does not know it. */
  averageCost?: DecimalString;
  /** Last price per unit of `quantity` the provider reported, in `currency`. */
  price?: DecimalString;
  /** Previous close per unit, in `currency`, when the provider gives it (Alpaca `lastday_price`). */
  previousClose?: DecimalString;
  /** Position currency: the currency of `price` and `averageCost` (may differ from the listing currency). */
  currency: string;
  /** Also counted in the account's cash by the brokerage (money-market fund); see `normalize-snaptrade.ts`. */
  cashEquivalent: boolean;
}

/** Cash of one account in one currency. */
export interface NormalizedBalance {
  currency: string;
  /** Cash that is not held as any position (cash equivalents already taken out). */
  cash: DecimalString;
  buyingPower?: DecimalString;
  /** The provider's cash figure before cash equivalents were taken out, when they were. */
  reportedCash?: DecimalString;
  /** True when a cash-equivalent position had no price, so it could not be taken out of `cash`. */
  cashEquivalentUnpriced?: boolean;
}

/** What one account sync yields. */
export interface NormalizedAccountData {
  /** When the provider fetched these positions from the brokerage (ISO 8601, UTC). */
  asOf: string;
  positions: NormalizedPosition[];
  balances: NormalizedBalance[];
}

/** A decimal given as a string (preferred) or a JSON number, canonicalised to a decimal string. */
export const decimalSchema = z
  .union([z.string(), z.number()])
  .refine((v) => (typeof v === 'number' ? Number.isFinite(v) : isDecimalText(v)), { message: 'expected a decimal number' })
  .transform((v) => canonical(v));

/** An ISO 8601 timestamp, canonicalised to `toISOString()` form. */
export const timestampSchema = z
  .string()
  .refine((s) => /^\d{4}-\d{2}-\d{2}T/.test(s) && !Number.isNaN(Date.parse(s)), { message: 'expected an ISO 8601 date-time' })
  .transform((s) => new Date(Date.parse(s)).toISOString());

/** Canonicalise an ISO timestamp given by a caller (throws RangeError when it is not one). */
export function isoTimestamp(value: string): string {
  const parsed = timestampSchema.safeParse(value);
  if (!parsed.success) throw new RangeError(`not an ISO 8601 date-time: ${JSON.stringify(value)}`);
  return parsed.data;
}
