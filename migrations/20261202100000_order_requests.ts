import type { Knex } from 'knex';

/**
 * Trading: `order_requests` holds one row per (user, Idempotency-Key) from before the brokerage
 * is called until forever (it is the proof a key was used), with a hash of the normalized body
 * (a key reused with another body is refused) and an owner lease (a placer that crashed leaves
 * a row whose lease expires; the next request with the key takes it over and looks the order up
 * at the brokerage before ever placing again). `orders.routing` keeps which account routing
 * chose and why.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('order_requests', (t) => {
    t.text('user_id').notNullable().references('id').inTable('users').onDelete('CASCADE');
    t.text('idempotency_key').notNullable();
    t.text('body_hash').notNullable();
    t.uuid('order_id').notNullable();
    t.text('state').notNullable().defaultTo('placing');
    t.text('owner');
    t.timestamp('lease_expires_at', { useTz: true });
    t.integer('attempts').notNullable().defaultTo(1);
    t.uuid('account_id');
    t.text('provider');
    t.jsonb('routing');
    t.timestamp('placing_started_at', { useTz: true });
    t.text('brokerage_order_id');
    t.jsonb('order');
    t.text('stream_id');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.primary(['user_id', 'idempotency_key']);
    t.check(`state IN ('placing', 'placed')`, [], 'order_requests_state');
    t.check(`body_hash ~ '^[0-9a-f]{64}$'`, [], 'order_requests_body_hash');
    t.check(`char_length(idempotency_key) BETWEEN 1 AND 128`, [], 'order_requests_key_length');
    t.check(`state = 'placing' OR "order" IS NOT NULL`, [], 'order_requests_placed_has_order');
    t.check(`provider IS NULL OR provider IN ('snaptrade', 'alpaca')`, [], 'order_requests_provider');
  });
  await knex.schema.alterTable('orders', (t) => {
    t.jsonb('routing');
    t.index(['user_id', 'status']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('orders', (t) => {
    t.dropIndex(['user_id', 'status']);
    t.dropColumn('routing');
  });
  await knex.schema.dropTable('order_requests');
}
