import type { Knex } from 'knex';

/**
 * Sealed secrets name the version of the key that sealed them (`v<version>.`, see
 * src/crypto/secret-box.ts), so `ENCRYPTION_KEY` can be rotated: the checks accept any key
 * version instead of `v1.` only. Values already stored are `v1.` and stay valid.
 */
const SEALED = `~ '^v[1-9][0-9]{0,3}\\.'`;

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('snaptrade_users', (t) => {
    t.dropChecks(['snaptrade_users_secret_sealed']);
    t.check(`user_secret_sealed ${SEALED}`, [], 'snaptrade_users_secret_sealed');
  });
  await knex.schema.alterTable('brokerage_connections', (t) => {
    t.dropChecks(['brokerage_connections_sealed']);
    t.check(`credentials_sealed IS NULL OR credentials_sealed ${SEALED}`, [], 'brokerage_connections_sealed');
  });
}

export async function down(knex: Knex): Promise<void> {
  const [{ count }] = (await knex.raw(
    `SELECT (SELECT count(*) FROM snaptrade_users WHERE user_secret_sealed NOT LIKE 'v1.%')
          + (SELECT count(*) FROM brokerage_connections WHERE credentials_sealed NOT LIKE 'v1.%') AS count`,
  )).rows as [{ count: number | string }];
  if (Number(count) > 0) {
    throw new Error(
      `${count} stored secret(s) are sealed with an encryption key version other than 1: re-seal them under version 1 ` +
        '(ENCRYPTION_KEY_VERSION=1 with that key, npm run secrets:reseal) before rolling back',
    );
  }
  await knex.schema.alterTable('snaptrade_users', (t) => {
    t.dropChecks(['snaptrade_users_secret_sealed']);
    t.check(`user_secret_sealed LIKE 'v1.%'`, [], 'snaptrade_users_secret_sealed');
  });
  await knex.schema.alterTable('brokerage_connections', (t) => {
    t.dropChecks(['brokerage_connections_sealed']);
    t.check(`credentials_sealed IS NULL OR credentials_sealed LIKE 'v1.%'`, [], 'brokerage_connections_sealed');
  });
}
