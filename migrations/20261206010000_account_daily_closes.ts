import type { Knex } from 'knex';

/**
 * Each account's value at the daily close (`src/history/account-values.ts`), so an account's
 * returns have value points like the portfolio's: one row per account per market day, written by
 * the daily-close job beside `portfolio_daily_closes`, kept like them. Read per user and account
 * over a range of days: the primary key serves it. The rows go with their account.
 */
const AMOUNT = [38, 12] as const;

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('account_daily_closes', (t) => {
    t.text('user_id').notNullable();
    t.uuid('account_id').notNullable();
    t.date('day').notNullable();
    t.specificType('base_currency', 'char(3)').notNullable();
    t.decimal('total_value', ...AMOUNT).notNullable();
    t.timestamp('taken_at', { useTz: true }).notNullable();
    t.primary(['user_id', 'account_id', 'day']);
    t.foreign(['account_id', 'user_id']).references(['id', 'user_id']).inTable('accounts').onDelete('CASCADE');
    t.check(`base_currency ~ '^[A-Z]{3}$'`, [], 'account_daily_closes_currency_iso');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('account_daily_closes');
}
