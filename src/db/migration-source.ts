import { readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Knex } from 'knex';

export const MIGRATIONS_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../../migrations');

interface MigrationModule {
  up(knex: Knex): Promise<void>;
  down(knex: Knex): Promise<void>;
}

/**
 * Loads the TypeScript migrations in `migrations/` through the ESM loader (knex's own loader
 * uses require(), which cannot load our ESM TypeScript files). Names sort by their timestamp.
 */
export class TypeScriptMigrationSource implements Knex.MigrationSource<string> {
  constructor(private readonly dir = MIGRATIONS_DIR) {}

  async getMigrations(): Promise<string[]> {
    return readdirSync(this.dir)
      .filter((file) => /^\d{14}_[a-z0-9_]+\.ts$/.test(file))
      .sort();
  }

  getMigrationName(migration: string): string {
    return migration;
  }

  async getMigration(migration: string): Promise<MigrationModule> {
    return (await import(pathToFileURL(join(this.dir, migration)).href)) as MigrationModule;
  }
}

/** Key of the Postgres advisory lock held while migrating ("foli"). */
const MIGRATION_LOCK_KEY = 0x666f6c69;

/**
 * Brings the schema to the latest migration. Processes that start together (several roles, a
 * release step beside a running one) take turns on an advisory lock: knex's own lock makes a
 * second concurrent run fail ("Migration table is already locked"), where it should wait and
 * then find nothing to do. Needs a pool of two connections or more (the lock holds one).
 */
export async function migrateLatest(knex: Knex): Promise<string[]> {
  return withMigrationLock(knex, async () => {
    const [, applied] = (await knex.migrate.latest({ migrationSource: new TypeScriptMigrationSource() })) as [number, string[]];
    return applied;
  });
}

async function withMigrationLock<T>(knex: Knex, run: () => Promise<T>): Promise<T> {
  const client = knex.client as { acquireConnection(): Promise<unknown>; releaseConnection(connection: unknown): Promise<void> };
  const connection = await client.acquireConnection();
  try {
    await knex.raw('select pg_advisory_lock(?)', [MIGRATION_LOCK_KEY]).connection(connection);
    try {
      return await run();
    } finally {
      await knex.raw('select pg_advisory_unlock(?)', [MIGRATION_LOCK_KEY]).connection(connection);
    }
  } finally {
    await client.releaseConnection(connection);
  }
}

/** Names of the migrations not applied yet. */
export async function pendingMigrations(knex: Knex): Promise<string[]> {
  const [, pending] = (await knex.migrate.list({ migrationSource: new TypeScriptMigrationSource() })) as [unknown[], { file?: string; name?: string }[] | string[]];
  return pending.map((m) => (typeof m === 'string' ? m : (m.file ?? m.name ?? String(m))));
}

export async function migrateRollback(knex: Knex, all = false): Promise<string[]> {
  const [, rolledBack] = (await knex.migrate.rollback(
    { migrationSource: new TypeScriptMigrationSource() },
    all,
  )) as [number, string[]];
  return rolledBack;
}
