import type { Knex } from 'knex';

/**
 * Each day's exchange rates, kept: `fx_rates` holds only the latest rate of each pair (what
 * figures of now are valued with), so the rate of a past day (a purchase's cost, a deposit) was
 * lost at the next refresh. The FX refresh writes every pair under the UTC day it ran (a later
 * refresh the same day replaces that day's row: a day's rate is its last one). Reads take the
 * last day on or before the one asked for (`src/portfolio/dated-fx.ts`). One row per pair per
 * day: SnapTrade lists a dozen or so pairs, a few thousand rows a year.
 *
 * The rates already stored become the rows of the day they were fetched.
 */
const QTY = [38, 12] as const;
const CURRENCY_CHECK = (column: string) => `${column} ~ '^[A-Z]{3}$'`;

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('fx_rates_daily', (t) => {
    t.date('day').notNullable();
    t.specificType('base', 'char(3)').notNullable();
    t.specificType('quote', 'char(3)').notNullable();
    t.decimal('rate', ...QTY).notNullable();
    t.timestamp('as_of', { useTz: true }).notNullable();
    t.text('source').notNullable();
    t.primary(['base', 'quote', 'day']);
    t.check(`base <> quote`, [], 'fx_rates_daily_distinct');
    t.check(`rate > 0`, [], 'fx_rates_daily_positive');
    t.check(`${CURRENCY_CHECK('base')} AND ${CURRENCY_CHECK('quote')}`, [], 'fx_rates_daily_iso');
  });
  await knex.raw(
    `INSERT INTO fx_rates_daily (day, base, quote, rate, as_of, source)
     SELECT (as_of AT TIME ZONE 'UTC')::date, base, quote, rate, as_of, source FROM fx_rates`,
  );
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('fx_rates_daily');
}
