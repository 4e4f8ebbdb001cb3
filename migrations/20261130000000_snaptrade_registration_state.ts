import type { Knex } from 'knex';

/**
 * What the product knows about a user's SnapTrade registration, and what a deleted user leaves.
 *
 * - `snaptrade_users.generation` counts registrations of the user (a re-registration after
 *   SnapTrade stopped accepting the secret takes the next one), so a failure reported for an old
 *   secret can never mark a newer registration invalid. `registered_at` is when the current one
 *   was made: a USER_DELETED older than it is about an earlier registration. `invalid_since` and
 *   `invalid_reason` are set when SnapTrade answers 401 "Invalid userID or userSecret".
 * - Connections gain the status `needs_relink`: the registration they hung off is gone, so they
 *   cannot be repaired in the portal, only connected again.
 * - `deleted_users` holds a SHA-256 of each deleted user's id and when it was deleted: enough to
 *   drop late events about the user (a webhook or sync result still in flight) instead of
 *   re-creating them, and nothing personal.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('snaptrade_users', (t) => {
    t.integer('generation').notNullable().defaultTo(1);
    t.timestamp('registered_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('invalid_since', { useTz: true });
    t.text('invalid_reason');
    t.check('generation >= 1', [], 'snaptrade_users_generation_positive');
  });
  await knex.raw('UPDATE snaptrade_users SET registered_at = created_at');
  await knex.schema.alterTable('brokerage_connections', (t) => {
    t.dropChecks(['brokerage_connections_status']);
    t.check(`status IN ('active', 'broken', 'disabled', 'removed', 'needs_relink')`, [], 'brokerage_connections_status');
  });
  await knex.schema.createTable('deleted_users', (t) => {
    t.text('user_hash').primary();
    t.timestamp('deleted_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.check(`user_hash ~ '^[0-9a-f]{64}$'`, [], 'deleted_users_hash_hex');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('deleted_users');
  await knex('brokerage_connections').where({ status: 'needs_relink' }).update({ status: 'broken' });
  await knex.schema.alterTable('brokerage_connections', (t) => {
    t.dropChecks(['brokerage_connections_status']);
    t.check(`status IN ('active', 'broken', 'disabled', 'removed')`, [], 'brokerage_connections_status');
  });
  await knex.schema.alterTable('snaptrade_users', (t) => {
    t.dropChecks(['snaptrade_users_generation_positive']);
    t.dropColumns('generation', 'registered_at', 'invalid_since', 'invalid_reason');
  });
}
