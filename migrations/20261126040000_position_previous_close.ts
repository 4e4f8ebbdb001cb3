import type { Knex } from 'knex';

/**
 * The previous close a provider reported with a position (Alpaca's `lastday_price`), per unit in
 * the position's currency. Without it, day change was known only to an actor that had applied a
 * sync since it loaded: a snapshot, the HTTP read model, or an actor loaded again after
 * passivation had none.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('account_positions', (t) => {
    t.decimal('previous_close', 38, 12);
    t.check('previous_close IS NULL OR previous_close >= 0', [], 'account_positions_previous_close_nonnegative');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('account_positions', (t) => {
    t.dropChecks(['account_positions_previous_close_nonnegative']);
    t.dropColumn('previous_close');
  });
}
