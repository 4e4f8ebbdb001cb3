import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';
import { createDatabase, type Knex } from '../../src/db/knex.ts';

export interface TestDatabase {
  url: string;
  knex: Knex;
  drop(): Promise<void>;
}

function serverUrl(database: string): string {
  const url = new URL(inject('databaseUrl'));
  url.pathname = `/${database}`;
  return url.toString();
}

async function admin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: serverUrl('postgres') });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/**
 * A database of its own for one test file (or test): created empty, migrated unless asked not to,
 * and dropped by `drop()`. Tests never share rows.
 */
export async function createTestDatabase(options: { migrate?: boolean } = {}): Promise<TestDatabase> {
  const name = `t_${randomUUID().replace(/-/g, '')}`;
  const migrated = options.migrate !== false;
  // Migrated: a copy of the run's migrated template (global-setup.ts), whose migration records
  // are copied too, so `migrateLatest` after it finds nothing to do.
  const template = migrated ? ` TEMPLATE ${inject('templateDatabase')}` : '';
  await admin((c) => c.query(`CREATE DATABASE ${c.escapeIdentifier(name)}${template}`));
  const url = serverUrl(name);
  const knex = createDatabase({ url, poolMax: 5, applicationName: 'foliostream-test' });
  return {
    url,
    knex,
    async drop() {
      await knex.destroy();
      await admin((c) => c.query(`DROP DATABASE IF EXISTS ${c.escapeIdentifier(name)} WITH (FORCE)`));
    },
  };
}
