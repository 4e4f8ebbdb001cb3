import type { Knex } from 'knex';

/**
 * One row per user per admin replay: what the replay found (the diff between the live projection
 * and the one rebuilt from the stream) and whether it repaired it. Written by the user's actor in
 * the transaction that applies the `admin.replay` event, with the checkpoint, so a report exists
 * exactly when the replay (and its repair) committed. Reports older than a week are deleted when
 * a new replay starts.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('replay_reports', (t) => {
    t.text('replay_id').notNullable();
    t.text('user_id').notNullable();
    t.boolean('differed').notNullable();
    t.boolean('repaired').notNullable();
    t.jsonb('report').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.primary(['replay_id', 'user_id']);
    t.index(['created_at']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('replay_reports');
}
