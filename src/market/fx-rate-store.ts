import type { Knex } from '../db/knex.ts';
import { createDatedFx, utcDay, type DatedFx } from '../portfolio/dated-fx.ts';

/** One exchange rate as the FX refresh fetched it: one unit of `base` is worth `rate` units of `quote`. */
export interface FetchedRate {
  base: string;
  quote: string;
  rate: string;
}

/**
 * Stores a refresh's rates: `fx_rates` gets the latest of each pair (what figures of now are valued
 * with, and what the workers' FX reload watches), `fx_rates_daily` the same rates under the UTC day
 * of `now` (a second refresh that day replaces the day's rows). One transaction, so a reader never
 * sees the latest rates without the day's.
 */
export async function storeFxRates(db: Knex, rates: readonly FetchedRate[], now: Date, source = 'snaptrade'): Promise<void> {
  if (rates.length === 0) return;
  const day = utcDay(now);
  await db.transaction(async (trx) => {
    await trx('fx_rates')
      .insert(rates.map((r) => ({ base: r.base, quote: r.quote, rate: r.rate, as_of: now, source })))
      .onConflict(['base', 'quote'])
      .merge();
    await trx('fx_rates_daily')
      .insert(rates.map((r) => ({ day, base: r.base, quote: r.quote, rate: r.rate, as_of: now, source })))
      .onConflict(['base', 'quote', 'day'])
      .merge();
  });
}

/**
 * The stored daily rates of every pair between `currencies` (and the pivot, USD, which cross rates
 * go through): what `fxRateOn` needs to convert among them on any day.
 */
export async function loadDatedFx(db: Knex, currencies: Iterable<string>): Promise<DatedFx> {
  const codes = [...new Set([...currencies, 'USD'])];
  const rows = await db('fx_rates_daily')
    .whereIn('base', codes)
    .whereIn('quote', codes)
    .select(db.raw(`to_char(day, 'YYYY-MM-DD') AS day`), 'base', 'quote', db.raw('rate::text AS rate'));
  return createDatedFx(
    (rows as { day: string; base: string; quote: string; rate: string }[]).map((r) => ({ day: r.day, from: r.base.trim(), to: r.quote.trim(), rate: r.rate })),
  );
}
