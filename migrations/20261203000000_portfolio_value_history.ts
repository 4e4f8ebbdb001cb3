import type { Knex } from 'knex';

/**
 * Value history per user (src/history/).
 *
 * - `portfolio_snapshots` (from the initial schema, unused until now) holds the intraday points:
 *   one per user per minute while the user is watched, thinned to one per 15 minutes after a day
 *   and deleted after `HISTORY_INTRADAY_RETENTION_DAYS`. Its primary key (user_id, taken_at)
 *   serves the per-user range reads; a BRIN index on `taken_at` serves the retention's
 *   time-range deletes (rows arrive in time order, so each block range covers a narrow time
 *   span: the index is a few pages where a B-tree would be as large as the table's keys).
 * - `portfolio_daily_closes`: one row per user per market day, written by the daily-close job;
 *   kept (a year is 252 rows a user). Primary key (user_id, day) covering the values: a 1Y read
 *   is one index-only range scan.
 */
const AMOUNT = [38, 12] as const;

export async function up(knex: Knex): Promise<void> {
  await knex.raw('CREATE INDEX portfolio_snapshots_taken_at_brin ON portfolio_snapshots USING brin (taken_at)');
  await knex.schema.createTable('portfolio_daily_closes', (t) => {
    t.text('user_id').notNullable().references('id').inTable('users').onDelete('CASCADE');
    t.date('day').notNullable();
    t.specificType('base_currency', 'char(3)').notNullable();
    t.decimal('total_value', ...AMOUNT).notNullable();
    t.decimal('cash_value', ...AMOUNT).notNullable();
    t.decimal('invested_value', ...AMOUNT).notNullable();
    t.decimal('cost_basis', ...AMOUNT);
    t.decimal('unrealized_pl', ...AMOUNT);
    t.decimal('day_change', ...AMOUNT);
    t.integer('holdings_count').notNullable();
    t.integer('day_change_holdings').notNullable();
    t.timestamp('taken_at', { useTz: true }).notNullable();
    t.check(`base_currency ~ '^[A-Z]{3}$'`, [], 'portfolio_daily_closes_currency_iso');
  });
  // The key carries every column a history read returns, so a user's range is an index-only scan
  // over adjacent leaf pages, however the days' rows are spread over the heap (each day's job
  // appends one row per user, so a user's year sits on 252 different heap pages).
  await knex.raw(
    `ALTER TABLE portfolio_daily_closes ADD CONSTRAINT portfolio_daily_closes_pkey PRIMARY KEY (user_id, day)
       INCLUDE (base_currency, total_value, cash_value, invested_value, cost_basis, unrealized_pl, day_change, taken_at)`,
  );
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('portfolio_daily_closes');
  await knex.raw('DROP INDEX IF EXISTS portfolio_snapshots_taken_at_brin');
}
