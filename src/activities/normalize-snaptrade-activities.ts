import { z } from 'zod';
import { dec, isZero, str } from '../portfolio/decimal.ts';
import { decimalSchema } from '../portfolio/normalized.ts';
import { activityDay, activityTime, isoCurrency, normalizeBatch } from './activity-batch.ts';
import type { ActivityBatch, ActivityType } from './activity.ts';

/**
 * SnapTrade -> normalised activities.
 *
 * Input: the `data` of `GET /accounts/{accountId}/activities` pages (`AccountUniversalActivity`:
 * `id, type, amount, currency {code}, currency_universal_symbol, units, price, fee, symbol
 * {id, symbol}, option_symbol {ticker}, trade_date, settlement_date, description,
 * external_reference_id`), numbers as SnapTrade sends them.
 *
 * - `type` maps by the table below; a type not in it (SnapTrade adds some over time) is `other`,
 *   and `providerType` keeps it. REI (a dividend reinvested) is a buy of the units it bought.
 * - `amount` keeps SnapTrade's sign (positive in, negative out) and may be null; `currency` is
 *   the activity's, else, when it is denominated in a security (`currency_universal_symbol`),
 *   null with that security's ticker in `amountSymbol`; else the account's currency (given by
 *   the caller, since SnapTrade's activity does not repeat it).
 * - `units` and `price` are null for a cash activity (no symbol) that reports them as 0.
 * - `trade_date` may be null in SnapTrade's schema: the settlement date stands in for it; an
 *   activity with neither cannot be placed in time and is rejected with that reason.
 * - An option activity's symbol is the option's ticker.
 */
const TYPES: Readonly<Record<string, ActivityType>> = {
  BUY: 'buy',
  REI: 'buy',
  SELL: 'sell',
  DIVIDEND: 'dividend',
  SUBSTITUTE_DIVIDEND: 'dividend',
  STOCK_DIVIDEND: 'dividend',
  INTEREST: 'interest',
  FEE: 'fee',
  TAX: 'fee',
  CONTRIBUTION: 'deposit',
  WITHDRAWAL: 'withdrawal',
  TRANSFER: 'transfer',
  EXTERNAL_ASSET_TRANSFER_IN: 'transfer',
  EXTERNAL_ASSET_TRANSFER_OUT: 'transfer',
  SPLIT: 'split',
};

export function snapTradeActivityType(providerType: string): ActivityType {
  return TYPES[providerType.trim().toUpperCase()] ?? 'other';
}

const optionalText = z.string().nullish();
const symbolSchema = z.object({ id: optionalText, symbol: optionalText }).passthrough().nullish();

const activitySchema = z
  .object({
    id: z.string().trim().min(1, 'expected the activity id'),
    type: z.string().trim().min(1, 'expected the activity type'),
    amount: decimalSchema.nullish(),
    units: decimalSchema.nullish(),
    price: decimalSchema.nullish(),
    fee: decimalSchema.nullish(),
    currency: z.object({ code: optionalText }).passthrough().nullish(),
    currency_universal_symbol: symbolSchema,
    symbol: symbolSchema,
    option_symbol: z.object({ ticker: optionalText, id: optionalText }).passthrough().nullish(),
    trade_date: optionalText,
    settlement_date: optionalText,
    description: optionalText,
    external_reference_id: optionalText,
  })
  .passthrough()
  .superRefine((a, ctx) => {
    const tradeDate = a.trade_date ? activityTime(a.trade_date) : null;
    if (a.trade_date && tradeDate === null) {
      ctx.addIssue({ code: 'custom', path: ['trade_date'], message: 'expected a date-time' });
    }
    if (a.settlement_date && activityDay(a.settlement_date) === null) {
      ctx.addIssue({ code: 'custom', path: ['settlement_date'], message: 'expected a date' });
    }
    if (!a.trade_date && !a.settlement_date) {
      ctx.addIssue({ code: 'custom', path: ['trade_date'], message: 'expected a trade or settlement date' });
    }
  });

type SnapTradeActivity = z.output<typeof activitySchema>;

const zeroAsNull = (value: string | null | undefined, cash: boolean): string | null =>
  value === null || value === undefined || (cash && isZero(dec(value))) ? null : value;

/** Normalise one fetched list of a SnapTrade account's activities (`accountCurrency`: the account's). */
export function normalizeSnapTradeActivities(list: unknown, accountCurrency: string): ActivityBatch {
  return normalizeBatch(list, () => activitySchema, (a: SnapTradeActivity) => {
    const symbol = a.option_symbol?.ticker ?? a.symbol?.symbol ?? null;
    const cash = symbol === null;
    const quote = a.currency_universal_symbol?.symbol ?? null;
    const currency = isoCurrency(a.currency?.code) ?? (quote === null ? isoCurrency(a.currency?.code ?? accountCurrency) : null);
    return {
      providerActivityId: a.id,
      type: snapTradeActivityType(a.type),
      providerType: a.type,
      amount: a.amount ?? null,
      currency,
      amountSymbol: currency === null ? (quote ?? a.currency?.code ?? accountCurrency) : null,
      units: zeroAsNull(a.units, cash),
      price: zeroAsNull(a.price, cash),
      fee: a.fee === null || a.fee === undefined ? null : str(dec(a.fee).abs()),
      symbol,
      universalSymbolId: a.option_symbol ? null : (a.symbol?.id ?? null),
      tradeDate: activityTime((a.trade_date || a.settlement_date)!)!,
      settlementDate: a.settlement_date ? activityDay(a.settlement_date) : null,
      description: a.description ?? null,
      externalReferenceId: a.external_reference_id ?? null,
    };
  });
}
