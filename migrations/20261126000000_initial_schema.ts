import type { Knex } from 'knex';

/**
 * The whole foliostream schema. Later changes add columns in new migrations; this file is never
 * edited once released. Conventions:
 * - user ids are the identity provider's subject (text); internal ids are UUIDs;
 * - enumerations are text with CHECK constraints (easier to extend than Postgres enums);
 * - quantities and money are NUMERIC (exact), currencies ISO 4217 upper-case codes;
 * - rows that belong to a user carry `user_id`, and child rows reference (id, user_id) so a row
 *   can never point at another user's parent.
 */

const QTY = [38, 12] as const;
const CURRENCY_CHECK = (column: string) => `${column} ~ '^[A-Z]{3}$'`;

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('users', (t) => {
    t.text('id').primary();
    t.specificType('base_currency', 'char(3)').notNullable().defaultTo('USD');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.check(`char_length(id) BETWEEN 1 AND 200`, [], 'users_id_length');
    t.check(CURRENCY_CHECK('base_currency'), [], 'users_base_currency_iso');
  });

  await knex.schema.createTable('snaptrade_users', (t) => {
    t.text('user_id').primary().references('id').inTable('users').onDelete('CASCADE');
    t.text('snaptrade_user_id').notNullable().unique();
    // AES-256-GCM sealed (src/crypto/secret-box.ts); never stored in clear.
    t.text('user_secret_sealed').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.check(`user_secret_sealed LIKE 'v1.%'`, [], 'snaptrade_users_secret_sealed');
  });

  await knex.schema.createTable('brokerage_connections', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.text('user_id').notNullable().references('id').inTable('users').onDelete('CASCADE');
    t.text('provider').notNullable();
    // SnapTrade brokerage authorization id, or the Alpaca account id.
    t.text('external_id').notNullable();
    t.text('brokerage_slug');
    t.text('brokerage_name');
    t.text('status').notNullable().defaultTo('active');
    t.text('status_reason');
    t.timestamp('status_changed_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    // Alpaca key pair of an internal account, sealed; SnapTrade connections use the user secret.
    t.text('credentials_sealed');
    t.timestamp('last_synced_at', { useTz: true });
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.unique(['provider', 'external_id']);
    t.unique(['id', 'user_id']);
    t.index(['user_id']);
    t.check(`provider IN ('snaptrade', 'alpaca')`, [], 'brokerage_connections_provider');
    t.check(`status IN ('active', 'broken', 'disabled', 'removed')`, [], 'brokerage_connections_status');
    t.check(
      `(provider = 'alpaca') = (credentials_sealed IS NOT NULL)`,
      [],
      'brokerage_connections_credentials_only_for_alpaca',
    );
    t.check(`credentials_sealed IS NULL OR credentials_sealed LIKE 'v1.%'`, [], 'brokerage_connections_sealed');
  });

  await knex.schema.createTable('accounts', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.text('user_id').notNullable();
    t.uuid('connection_id').notNullable();
    t.text('provider').notNullable();
    t.text('external_id').notNullable();
    t.text('name');
    t.text('number_masked');
    t.text('institution_name').notNullable();
    t.specificType('currency', 'char(3)').notNullable();
    t.boolean('trading_allowed').notNullable().defaultTo(false);
    t.text('status').notNullable().defaultTo('open');
    // `as_of` of the positions last applied: an older sync result is ignored.
    t.timestamp('positions_as_of', { useTz: true });
    t.timestamp('last_synced_at', { useTz: true });
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.unique(['provider', 'external_id']);
    t.unique(['id', 'user_id']);
    t.index(['user_id']);
    t.index(['connection_id']);
    t.foreign(['connection_id', 'user_id'])
      .references(['id', 'user_id'])
      .inTable('brokerage_connections')
      .onDelete('CASCADE');
    t.check(`provider IN ('snaptrade', 'alpaca')`, [], 'accounts_provider');
    t.check(`status IN ('open', 'closed', 'removed')`, [], 'accounts_status');
    t.check(CURRENCY_CHECK('currency'), [], 'accounts_currency_iso');
  });

  await knex.schema.createTable('securities', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    // Canonical identity (src/portfolio identity rules): `snaptrade:<universal symbol id>`,
    // `figi:<FIGI>`, or `listing:<ticker>@<MIC>:<currency>`. A ticker alone never is one.
    t.text('identity_key').notNullable().unique();
    t.uuid('snaptrade_symbol_id').unique();
    t.text('figi').unique();
    t.text('ticker').notNullable();
    t.text('exchange_mic');
    t.specificType('currency', 'char(3)').notNullable();
    t.text('description');
    t.text('security_type');
    t.boolean('is_cash_equivalent').notNullable().defaultTo(false);
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(['ticker']);
    t.check(CURRENCY_CHECK('currency'), [], 'securities_currency_iso');
    t.check(`figi IS NULL OR figi ~ '^[A-Z0-9]{12}$'`, [], 'securities_figi_format');
    t.check(`exchange_mic IS NULL OR exchange_mic ~ '^[A-Z0-9]{4}$'`, [], 'securities_mic_format');
    t.check(`char_length(ticker) BETWEEN 1 AND 64`, [], 'securities_ticker_length');
  });

  await knex.schema.createTable('account_positions', (t) => {
    t.uuid('account_id').notNullable();
    t.text('user_id').notNullable();
    t.uuid('security_id').notNullable().references('id').inTable('securities').onDelete('RESTRICT');
    t.decimal('quantity', ...QTY).notNullable();
    // Per unit, in the position's currency.
    t.decimal('average_cost', ...QTY);
    t.decimal('price', ...QTY);
    t.timestamp('price_as_of', { useTz: true });
    t.specificType('currency', 'char(3)').notNullable();
    t.timestamp('as_of', { useTz: true }).notNullable();
    t.primary(['account_id', 'security_id']);
    t.index(['user_id', 'security_id']);
    t.foreign(['account_id', 'user_id']).references(['id', 'user_id']).inTable('accounts').onDelete('CASCADE');
    t.check(`quantity <> 0`, [], 'account_positions_nonzero');
    t.check(`average_cost IS NULL OR average_cost >= 0`, [], 'account_positions_cost_nonnegative');
    t.check(`price IS NULL OR price >= 0`, [], 'account_positions_price_nonnegative');
    t.check(CURRENCY_CHECK('currency'), [], 'account_positions_currency_iso');
  });

  await knex.schema.createTable('holdings', (t) => {
    t.text('user_id').notNullable().references('id').inTable('users').onDelete('CASCADE');
    t.uuid('security_id').notNullable().references('id').inTable('securities').onDelete('RESTRICT');
    t.decimal('quantity', ...QTY).notNullable();
    t.specificType('currency', 'char(3)').notNullable();
    t.decimal('average_cost', ...QTY);
    t.decimal('cost_basis', ...QTY);
    t.decimal('price', ...QTY);
    t.timestamp('price_as_of', { useTz: true });
    t.decimal('market_value', ...QTY);
    t.decimal('unrealized_pl', ...QTY);
    t.specificType('base_currency', 'char(3)').notNullable();
    t.decimal('market_value_base', ...QTY);
    t.integer('account_count').notNullable();
    // Per-account breakdown: [{accountId, quantity, averageCost, marketValue}, ...].
    t.jsonb('accounts').notNullable().defaultTo('[]');
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.primary(['user_id', 'security_id']);
    t.check(`account_count >= 1`, [], 'holdings_account_count_positive');
    t.check(`jsonb_typeof(accounts) = 'array'`, [], 'holdings_accounts_array');
    t.check(CURRENCY_CHECK('currency'), [], 'holdings_currency_iso');
    t.check(CURRENCY_CHECK('base_currency'), [], 'holdings_base_currency_iso');
  });

  await knex.schema.createTable('cash_balances', (t) => {
    t.uuid('account_id').notNullable();
    t.text('user_id').notNullable();
    t.specificType('currency', 'char(3)').notNullable();
    t.decimal('amount', ...QTY).notNullable();
    t.decimal('buying_power', ...QTY);
    t.timestamp('as_of', { useTz: true }).notNullable();
    t.primary(['account_id', 'currency']);
    t.index(['user_id']);
    t.foreign(['account_id', 'user_id']).references(['id', 'user_id']).inTable('accounts').onDelete('CASCADE');
    t.check(CURRENCY_CHECK('currency'), [], 'cash_balances_currency_iso');
  });

  // No foreign key to users: a purged user's checkpoint must survive, or a replay of its old
  // events would bring it back.
  await knex.schema.createTable('actor_checkpoints', (t) => {
    t.text('user_id').primary();
    t.integer('partition').notNullable();
    t.bigInteger('last_stream_ms').notNullable();
    t.bigInteger('last_stream_seq').notNullable();
    t.specificType(
      'last_stream_id',
      `text GENERATED ALWAYS AS (last_stream_ms::text || '-' || last_stream_seq::text) STORED`,
    );
    t.bigInteger('fencing_token').notNullable();
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(['partition']);
    t.check(`partition >= 0`, [], 'actor_checkpoints_partition');
    t.check(`last_stream_ms >= 0 AND last_stream_seq >= 0`, [], 'actor_checkpoints_stream_id');
    t.check(`fencing_token >= 0`, [], 'actor_checkpoints_fencing_token');
  });

  // The highest fencing token that committed per partition: a transaction from an older lease
  // holder finds a higher token here and rolls back.
  await knex.schema.createTable('partition_fences', (t) => {
    t.integer('partition').primary();
    t.bigInteger('fencing_token').notNullable();
    t.text('owner').notNullable();
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.check(`partition >= 0`, [], 'partition_fences_partition');
    t.check(`fencing_token >= 0`, [], 'partition_fences_token');
  });

  await knex.schema.createTable('webhook_inbox', (t) => {
    t.text('webhook_id').primary();
    t.text('event_type').notNullable();
    t.text('snaptrade_user_id');
    t.integer('partition');
    t.text('stream_id');
    t.timestamp('event_timestamp', { useTz: true });
    t.timestamp('received_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('applied_at', { useTz: true });
    t.jsonb('payload').notNullable();
    t.index(['snaptrade_user_id', 'received_at']);
    t.check(`char_length(webhook_id) BETWEEN 1 AND 200`, [], 'webhook_inbox_id_length');
  });

  await knex.schema.createTable('orders', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.text('user_id').notNullable();
    t.uuid('account_id').notNullable();
    t.text('client_order_id').notNullable();
    t.text('provider').notNullable();
    t.text('brokerage_order_id');
    t.uuid('security_id').references('id').inTable('securities').onDelete('RESTRICT');
    t.text('symbol').notNullable();
    t.text('side').notNullable();
    t.text('order_type').notNullable();
    t.text('time_in_force').notNullable().defaultTo('day');
    t.decimal('quantity', ...QTY);
    t.decimal('notional', ...QTY);
    t.decimal('limit_price', ...QTY);
    t.decimal('stop_price', ...QTY);
    t.text('status').notNullable().defaultTo('pending');
    t.decimal('filled_quantity', ...QTY).notNullable().defaultTo(0);
    t.decimal('average_fill_price', ...QTY);
    t.jsonb('impact');
    t.jsonb('error');
    t.timestamp('submitted_at', { useTz: true });
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.unique(['user_id', 'client_order_id']);
    t.index(['user_id', 'created_at']);
    t.foreign(['account_id', 'user_id']).references(['id', 'user_id']).inTable('accounts').onDelete('CASCADE');
    t.check(`provider IN ('snaptrade', 'alpaca')`, [], 'orders_provider');
    t.check(`side IN ('buy', 'sell')`, [], 'orders_side');
    t.check(`order_type IN ('market', 'limit', 'stop', 'stop_limit')`, [], 'orders_type');
    t.check(`time_in_force IN ('day', 'gtc', 'ioc', 'fok', 'opg', 'cls')`, [], 'orders_time_in_force');
    t.check(
      `status IN ('pending', 'submitted', 'accepted', 'partially_filled', 'filled', 'canceled', 'rejected', 'expired', 'failed')`,
      [],
      'orders_status',
    );
    t.check(`(quantity IS NULL) <> (notional IS NULL)`, [], 'orders_quantity_xor_notional');
    t.check(`quantity IS NULL OR quantity > 0`, [], 'orders_quantity_positive');
    t.check(`notional IS NULL OR notional > 0`, [], 'orders_notional_positive');
    t.check(
      `(order_type IN ('limit', 'stop_limit')) = (limit_price IS NOT NULL)`,
      [],
      'orders_limit_price_iff_limit',
    );
    t.check(`(order_type IN ('stop', 'stop_limit')) = (stop_price IS NOT NULL)`, [], 'orders_stop_price_iff_stop');
    t.check(`limit_price IS NULL OR limit_price > 0`, [], 'orders_limit_price_positive');
    t.check(`stop_price IS NULL OR stop_price > 0`, [], 'orders_stop_price_positive');
    t.check(`filled_quantity >= 0`, [], 'orders_filled_nonnegative');
    t.check(`char_length(client_order_id) BETWEEN 1 AND 128`, [], 'orders_client_order_id_length');
  });
  await knex.raw(
    `CREATE UNIQUE INDEX orders_provider_brokerage_order_id_unique ON orders (provider, brokerage_order_id)
     WHERE brokerage_order_id IS NOT NULL`,
  );

  await knex.schema.createTable('portfolio_snapshots', (t) => {
    t.text('user_id').notNullable().references('id').inTable('users').onDelete('CASCADE');
    t.timestamp('taken_at', { useTz: true }).notNullable();
    t.specificType('base_currency', 'char(3)').notNullable();
    t.decimal('total_value', ...QTY).notNullable();
    t.decimal('cash_value', ...QTY).notNullable();
    t.decimal('invested_value', ...QTY).notNullable();
    t.decimal('cost_basis', ...QTY);
    t.decimal('unrealized_pl', ...QTY);
    t.decimal('day_change', ...QTY);
    t.primary(['user_id', 'taken_at']);
    t.check(CURRENCY_CHECK('base_currency'), [], 'portfolio_snapshots_currency_iso');
  });

  await knex.schema.createTable('fx_rates', (t) => {
    t.specificType('base', 'char(3)').notNullable();
    t.specificType('quote', 'char(3)').notNullable();
    t.decimal('rate', ...QTY).notNullable();
    t.timestamp('as_of', { useTz: true }).notNullable();
    t.text('source').notNullable();
    t.primary(['base', 'quote']);
    t.check(`base <> quote`, [], 'fx_rates_distinct');
    t.check(`rate > 0`, [], 'fx_rates_positive');
    t.check(`${CURRENCY_CHECK('base')} AND ${CURRENCY_CHECK('quote')}`, [], 'fx_rates_iso');
  });

  await knex.schema.createTable('sync_runs', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.text('user_id').notNullable().references('id').inTable('users').onDelete('CASCADE');
    t.uuid('account_id');
    t.text('kind').notNullable();
    t.text('status').notNullable().defaultTo('queued');
    t.integer('attempts').notNullable().defaultTo(0);
    t.integer('positions_count');
    t.jsonb('error');
    t.timestamp('requested_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('started_at', { useTz: true });
    t.timestamp('finished_at', { useTz: true });
    t.index(['user_id', 'requested_at']);
    t.foreign(['account_id', 'user_id']).references(['id', 'user_id']).inTable('accounts').onDelete('CASCADE');
    t.check(`kind IN ('account', 'user', 'nightly', 'refresh')`, [], 'sync_runs_kind');
    t.check(`status IN ('queued', 'running', 'succeeded', 'failed')`, [], 'sync_runs_status');
    t.check(`attempts >= 0`, [], 'sync_runs_attempts');
    t.check(`finished_at IS NULL OR started_at IS NOT NULL`, [], 'sync_runs_finished_after_start');
  });
}

export async function down(knex: Knex): Promise<void> {
  for (const table of [
    'sync_runs',
    'fx_rates',
    'portfolio_snapshots',
    'orders',
    'webhook_inbox',
    'partition_fences',
    'actor_checkpoints',
    'cash_balances',
    'holdings',
    'account_positions',
    'securities',
    'accounts',
    'brokerage_connections',
    'snaptrade_users',
    'users',
  ]) {
    await knex.schema.dropTableIfExists(table);
  }
}
