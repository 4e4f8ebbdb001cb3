import { z } from 'zod';
import { dec, mul, neg, str } from '../portfolio/decimal.ts';
import { decimalSchema } from '../portfolio/normalized.ts';
import { activityTime, isoCurrency, normalizeBatch, requiredDecimal } from './activity-batch.ts';
import type { ActivityBatch, ActivityType } from './activity.ts';

/**
 * Alpaca -> normalised activities.
 *
 * Input: `GET /v2/account/activities` items in Alpaca's wire shape (the SDK's models turned back
 * into snake_case by `toWireShape`, dates as ISO strings). Two kinds, told apart by
 * `activity_type`:
 * - `FILL` (trade activities: `id, side, qty, price, symbol, transaction_time, order_id`): a buy
 *   (`side` buy) or a sell (sell, sell_short); Alpaca gives no amount, so it is computed exactly,
 *   `qty × price`, negative for a buy. Each partial fill is an activity of its own.
 * - everything else (non-trade activities: `id, date, created_at, net_amount, currency, qty,
 *   per_share_amount, symbol, description`): `net_amount` is the amount, signed as ours already;
 *   `per_share_amount` the price (a dividend per share); the time is `created_at`, else `date`'s
 *   midnight UTC.
 * Types: CSD deposit, CSW withdrawal, TRANS by the sign of its amount; DIV and its capital-gain,
 * return-of-capital and tax-exempt kinds dividend; INT interest; FEE, CFEE, PTC (pass-through
 * charge), PTR (its rebate) and the taxes withheld from dividends and interest (DIVNRA, DIVTW,
 * DIVFT, DIVFEE, INTNRA, INTTW) fee; JNL, JNLC, JNLS, ACATC, ACATS transfer; SPLIT split;
 * the rest (option events, mergers, name changes, spin-offs, MISC, types Alpaca adds later)
 * other. Alpaca accounts are USD: an activity without a currency is USD.
 */
const TYPES: Readonly<Record<string, ActivityType>> = {
  CSD: 'deposit',
  CSW: 'withdrawal',
  DIV: 'dividend',
  DIVCGL: 'dividend',
  DIVCGS: 'dividend',
  DIVROC: 'dividend',
  DIVTXEX: 'dividend',
  INT: 'interest',
  FEE: 'fee',
  CFEE: 'fee',
  PTC: 'fee',
  PTR: 'fee',
  DIVNRA: 'fee',
  DIVTW: 'fee',
  DIVFT: 'fee',
  DIVFEE: 'fee',
  INTNRA: 'fee',
  INTTW: 'fee',
  JNL: 'transfer',
  JNLC: 'transfer',
  JNLS: 'transfer',
  ACATC: 'transfer',
  ACATS: 'transfer',
  SPLIT: 'split',
};

const ALPACA_CURRENCY = 'USD';

const optionalText = z.string().nullish();
const timeText = z
  .string()
  .refine((s) => activityTime(s) !== null, { message: 'expected a date or date-time' })
  .nullish();

const fillSchema = z
  .object({
    id: z.string().trim().min(1, 'expected the activity id'),
    activity_type: z.literal('FILL'),
    side: z.string().trim().toLowerCase().pipe(z.enum(['buy', 'sell', 'sell_short'])),
    qty: requiredDecimal,
    price: requiredDecimal,
    symbol: z.string().trim().min(1, 'expected a symbol'),
    transaction_time: z.string().refine((s) => activityTime(s) !== null, { message: 'expected a date-time' }),
    order_id: optionalText,
    type: optionalText,
  })
  .passthrough();

const nonTradeSchema = z
  .object({
    id: z.string().trim().min(1, 'expected the activity id'),
    activity_type: z.string().trim().min(1, 'expected the activity type'),
    net_amount: decimalSchema.nullish(),
    currency: optionalText,
    qty: decimalSchema.nullish(),
    per_share_amount: decimalSchema.nullish(),
    symbol: optionalText,
    date: timeText,
    created_at: timeText,
    description: optionalText,
  })
  .passthrough()
  .refine((a) => Boolean(a.created_at || a.date), { message: 'expected a date', path: ['date'] });

type Fill = z.output<typeof fillSchema>;
type NonTrade = z.output<typeof nonTradeSchema>;

/** A FILL is read as a trade activity (and reports a fill's problems), anything else as a non-trade one. */
function schemaOf(item: unknown): z.ZodType<Fill | NonTrade> {
  return (item as { activity_type?: unknown } | null)?.activity_type === 'FILL' ? fillSchema : nonTradeSchema;
}

export function alpacaActivityType(activityType: string, netAmount: string | null): ActivityType {
  const upper = activityType.trim().toUpperCase();
  if (upper === 'TRANS') return netAmount !== null && dec(netAmount).lt(0) ? 'withdrawal' : 'deposit';
  return TYPES[upper] ?? 'other';
}

/** Normalise one fetched list of an Alpaca account's activities. */
export function normalizeAlpacaActivities(list: unknown): ActivityBatch {
  return normalizeBatch(list, schemaOf, (a) => {
    if (a.activity_type === 'FILL') {
      const fill = a as Fill;
      const gross = mul(dec(fill.qty), dec(fill.price));
      const buy = fill.side === 'buy';
      return {
        providerActivityId: fill.id,
        type: buy ? 'buy' : 'sell',
        providerType: 'FILL',
        amount: str(buy ? neg(gross) : gross),
        currency: ALPACA_CURRENCY,
        amountSymbol: null,
        units: fill.qty,
        price: fill.price,
        fee: null,
        symbol: fill.symbol,
        universalSymbolId: null,
        tradeDate: activityTime(fill.transaction_time)!,
        settlementDate: null,
        description: `${buy ? 'Bought' : 'Sold'} ${fill.qty} ${fill.symbol} @ ${fill.price}`,
        externalReferenceId: fill.order_id ?? null,
      };
    }
    const other = a as NonTrade;
    const amount = other.net_amount ?? null;
    const currency = isoCurrency(other.currency ?? ALPACA_CURRENCY);
    return {
      providerActivityId: other.id,
      type: alpacaActivityType(other.activity_type, amount),
      providerType: other.activity_type,
      amount,
      currency,
      amountSymbol: currency === null ? (other.currency ?? null) : null,
      units: other.qty ?? null,
      price: other.per_share_amount ?? null,
      fee: null,
      symbol: other.symbol || null,
      universalSymbolId: null,
      tradeDate: activityTime((other.created_at || other.date)!)!,
      settlementDate: null,
      description: other.description ?? null,
      externalReferenceId: null,
    };
  });
}
