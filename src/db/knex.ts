import knexFactory, { type Knex } from 'knex';
import pg from 'pg';

// Postgres NUMERIC and BIGINT arrive as strings by default: money and quantities stay exact
// strings (parsed with care by the domain code); int8 counts that fit a double become numbers.
pg.types.setTypeParser(pg.types.builtins.INT8, (value: string) => {
  const n = Number(value);
  return Number.isSafeInteger(n) ? n : value;
});

export type { Knex } from 'knex';

export interface DatabaseOptions {
  url: string;
  /** Pool size per process; keep small: several roles may share one Postgres. */
  poolMax?: number;
  applicationName?: string;
}

export function createDatabase(options: DatabaseOptions): Knex {
  return knexFactory({
    client: 'pg',
    connection: { connectionString: options.url, application_name: options.applicationName ?? 'foliostream' },
    pool: { min: 0, max: options.poolMax ?? 10 },
    acquireConnectionTimeout: 10_000,
  });
}
