import { loadConfigOrExit } from '../config/config.ts';
import { secretBoxFromConfig } from '../crypto/secret-box.ts';
import { createLogger } from '../logging/logger.ts';
import { startServices } from '../services/services.ts';
import { createDatabase } from './knex.ts';
import { pendingMigrations } from './migration-source.ts';
import { resealSecrets } from './reseal-secrets.ts';

/**
 * `npm run secrets:reseal [-- --batch-size=N]`: re-seals every stored brokerage secret with the
 * newest encryption key (ENCRYPTION_KEY, version ENCRYPTION_KEY_VERSION), opening older values
 * with ENCRYPTION_KEYS_PREVIOUS. Safe while the engine runs, and safe to run again. Prints counts
 * and each row that could not be re-sealed (its id and why, never a secret).
 *
 * Exit codes: 0 every secret is under the newest key; 1 some could not be re-sealed (listed), or
 * the run stopped on an error; 2 bad usage, configuration or schema.
 */
const USAGE = 'usage: npm run secrets:reseal [-- --batch-size=N]';

function batchSizeArg(argv: string[]): number | undefined {
  let value: string | undefined;
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i]!;
    if (arg === '--batch-size') value = argv[++i];
    else if (arg.startsWith('--batch-size=')) value = arg.slice('--batch-size='.length);
    else return usage(`unknown argument ${arg}`);
  }
  if (value === undefined) return undefined;
  const n = Number(value);
  return Number.isInteger(n) && n >= 1 && n <= 10_000 ? n : usage('--batch-size must be a whole number from 1 to 10000');
}

function usage(message: string): never {
  console.error(`${message}\n${USAGE}`);
  process.exit(2);
}

const config = loadConfigOrExit(2);
const batchSize = batchSizeArg(process.argv.slice(2));
const box = secretBoxFromConfig(config);
const log = createLogger('reseal');
const services = config.DATABASE_URL
  ? undefined
  : await startServices({ log, dataDir: config.LOCAL_SERVICES_DIR, redisUrl: 'redis://unused', containers: false });
const knex = createDatabase({
  url: config.DATABASE_URL ?? services!.databaseUrl,
  poolMax: 2,
  applicationName: 'foliostream-reseal',
});
try {
  const pending = await pendingMigrations(knex);
  if (pending.length > 0) {
    console.error(
      `the database has ${pending.length} pending migration(s): deploy this version (it migrates at start-up) or run npm run migrate:latest first`,
    );
    process.exitCode = 2;
  } else {
    const previous = (config.ENCRYPTION_KEYS_PREVIOUS ?? []).map((k) => k.version).sort((a, b) => a - b);
    console.log(
      `re-sealing stored secrets with key version ${box.currentVersion} (ENCRYPTION_KEY)` +
        (previous.length ? `, opening versions ${previous.join(', ')} (ENCRYPTION_KEYS_PREVIOUS)` : ''),
    );
    const report = await resealSecrets(knex, box, { ...(batchSize ? { batchSize } : {}) });
    for (const [table, counts] of Object.entries(report.tables)) {
      console.log(`${table}: ${counts.resealed} re-sealed, ${counts.current} already current, ${counts.failed} failed`);
    }
    for (const failure of report.failures) {
      console.log(`failed: ${failure.table} ${failure.table === 'snaptrade_users' ? 'user_id' : 'id'}=${failure.id}: ${failure.reason}`);
    }
    console.log(`total: ${report.resealed} re-sealed, ${report.current} already current, ${report.failed} failed`);
    if (report.failed > 0) {
      console.log('the rows listed are not under the newest key: keep the previous keys until each is fixed (re-linked) or removed');
      process.exitCode = 1;
    }
  }
} catch (err) {
  // A database error's message holds the query and its bindings (sealed values): only its code.
  const code = (err as { code?: unknown } | null)?.code;
  const reason = typeof code === 'string' ? `database error SQLSTATE ${code}` : err instanceof Error ? err.message : String(err);
  console.error(`secrets:reseal stopped: ${reason} (batches committed so far stay re-sealed; run it again)`);
  process.exitCode = 1;
} finally {
  await knex.destroy();
  await services?.stop();
}
