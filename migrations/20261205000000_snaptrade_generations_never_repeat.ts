import type { Knex } from 'knex';

/**
 * `snaptrade_users.generation` comes from one sequence for every registration, so a user deleted
 * at SnapTrade (their row goes) who registers again never gets a generation they had before: a
 * `sync.failed` of the deleted registration that arrives late (401/1083 with its generation) can no
 * longer mark the new registration invalid. Generations stay increasing per user, which is all the
 * comparisons need; the sequence starts above every stored one.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw('CREATE SEQUENCE snaptrade_registration_generation AS integer MINVALUE 1');
  await knex.raw(`SELECT setval('snaptrade_registration_generation', COALESCE((SELECT max(generation) FROM snaptrade_users), 0) + 1, false)`);
  await knex.raw(`ALTER TABLE snaptrade_users ALTER COLUMN generation SET DEFAULT nextval('snaptrade_registration_generation')`);
  await knex.raw('ALTER SEQUENCE snaptrade_registration_generation OWNED BY snaptrade_users.generation');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('ALTER TABLE snaptrade_users ALTER COLUMN generation SET DEFAULT 1');
  await knex.raw('DROP SEQUENCE snaptrade_registration_generation');
}
