import knexFactory, { type Knex } from 'knex';
import pg from 'pg';
import { createLogger, type Logger } from '../logging/logger.ts';
import { REPEATABLE } from '../logging/repeat-limiter.ts';

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
  /** Where knex's own warnings go (default: the `db` module of the root logger). */
  log?: Logger;
}

/** knex reports a lost connection as text: `Connection Error: …`, `Acquire connection error: …`. */
const CONNECTION_WARNING = /^(Connection Error|Acquire connection error): /;

/**
 * knex prints its warnings with console.log as plain text (a Postgres outage prints one per pooled
 * connection and per acquire attempt, with a stack). They become structured lines of our logger
 * instead; connection failures are marked repeatable, so the repeat limiter writes one per window.
 */
function knexLog(log: Logger): Knex.Config['log'] {
  const text = (message: unknown) => (typeof message === 'string' ? message : JSON.stringify(message));
  return {
    warn(message: unknown) {
      const line = text(message);
      if (CONNECTION_WARNING.test(line)) {
        // The first line only: the rest is a stack trace of knex's pool, no help to an operator.
        const detail = line.replace(CONNECTION_WARNING, '').split('\n')[0]!.replace(/^Error: /, '');
        log.warn({ [REPEATABLE]: true, detail }, 'postgres connection error');
      } else {
        log.warn({ detail: line }, 'knex warning');
      }
    },
    error(message: unknown) {
      log.error({ detail: text(message) }, 'knex error');
    },
    deprecate(message: unknown) {
      log.warn({ detail: text(message) }, 'knex deprecation');
    },
    debug(message: unknown) {
      log.debug({ detail: text(message) }, 'knex debug');
    },
  };
}

export function createDatabase(options: DatabaseOptions): Knex {
  return knexFactory({
    client: 'pg',
    connection: { connectionString: options.url, application_name: options.applicationName ?? 'foliostream' },
    pool: { min: 0, max: options.poolMax ?? 10 },
    acquireConnectionTimeout: 10_000,
    log: knexLog(options.log ?? createLogger('db')),
  });
}
