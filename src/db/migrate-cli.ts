import { loadConfig } from '../config/config.ts';
import { createLogger } from '../logging/logger.ts';
import { startServices } from '../services/services.ts';
import { createDatabase } from './knex.ts';
import { migrateLatest, migrateRollback } from './migration-source.ts';

/**
 * `npm run migrate:latest` / `npm run migrate:rollback [-- --all]` against DATABASE_URL, or
 * against the local Postgres the demo uses when DATABASE_URL is unset.
 */
const command = process.argv[2];
if (command !== 'latest' && command !== 'rollback') {
  console.error('usage: migrate-cli.ts latest|rollback [--all]');
  process.exit(2);
}
const config = loadConfig();
const log = createLogger('migrate');
const services = config.DATABASE_URL
  ? undefined
  : await startServices({ log, dataDir: config.LOCAL_SERVICES_DIR, redisUrl: 'redis://unused', containers: false });
const knex = createDatabase({ url: config.DATABASE_URL ?? services!.databaseUrl, poolMax: 2 });
try {
  const names =
    command === 'latest' ? await migrateLatest(knex) : await migrateRollback(knex, process.argv.includes('--all'));
  log.info({ names }, names.length ? `${command}: ${names.length} migration(s)` : `${command}: nothing to do`);
} finally {
  await knex.destroy();
  await services?.stop();
}
