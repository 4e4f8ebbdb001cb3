import type { Knex } from 'knex';

/**
 * Activities of brokerage accounts (src/activities/activity.ts has the meaning of each column):
 * written only by the user's actor when it applies `activities.synced`, one row per account and
 * provider id (the provider's id is the dedupe key: the same activity fetched twice is one row).
 *
 * - `amount` is the effect on the account's cash in `currency` (positive in, negative out);
 *   `currency` is null only when the amount is in a security (`amount_symbol`).
 * - Reads are per user, newest first, keyset-paged on (trade_date, account_id,
 *   provider_activity_id): the index `activities_user_recent` serves them, filtered by account,
 *   type or a date range or not.
 * - The rows go with their account (foreign key (account_id, user_id), cascade), so they can never
 *   belong to another user's account.
 */
const AMOUNT = [38, 12] as const;

const ACTIVITY_TYPE_CHECK = `type IN ('buy', 'sell', 'dividend', 'interest', 'fee', 'deposit', 'withdrawal', 'transfer', 'split', 'other')`;

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('activities', (t) => {
    t.uuid('account_id').notNullable();
    t.text('user_id').notNullable();
    t.text('provider').notNullable();
    t.text('provider_activity_id').notNullable();
    t.text('type').notNullable();
    t.text('provider_type').notNullable();
    t.timestamp('trade_date', { useTz: true }).notNullable();
    t.date('settlement_date');
    t.text('symbol');
    t.text('universal_symbol_id');
    t.decimal('units', ...AMOUNT);
    t.decimal('price', ...AMOUNT);
    t.decimal('amount', ...AMOUNT);
    t.decimal('fee', ...AMOUNT);
    t.specificType('currency', 'char(3)');
    t.text('amount_symbol');
    t.text('description');
    t.text('external_reference_id');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.primary(['account_id', 'provider_activity_id']);
    t.foreign(['account_id', 'user_id']).references(['id', 'user_id']).inTable('accounts').onDelete('CASCADE');
    t.check(`provider IN ('snaptrade', 'alpaca')`, [], 'activities_provider');
    t.check(ACTIVITY_TYPE_CHECK, [], 'activities_type');
    t.check(`currency IS NULL OR currency ~ '^[A-Z]{3}$'`, [], 'activities_currency_iso');
    t.check(`currency IS NOT NULL OR amount_symbol IS NOT NULL`, [], 'activities_amount_denomination');
  });
  await knex.raw(
    'CREATE INDEX activities_user_recent ON activities (user_id, trade_date DESC, account_id DESC, provider_activity_id DESC)',
  );
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('activities');
}
