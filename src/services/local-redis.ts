import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import type { Logger } from '../logging/logger.ts';
import { freePort } from './free-port.ts';
import { findExecutable, readPidFile, sleep, terminate } from './process-utils.ts';

export interface LocalRedis {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

/**
 * Locates `redis-server`, installing Debian's package when it is missing and we are root with apt
 * (a fresh machine of the kind CI uses); otherwise explains how to get one.
 */
export function ensureRedisServerBinary(log: Logger): string {
  const found = findExecutable('redis-server');
  if (found) return found;
  const isRoot = process.getuid?.() === 0;
  const apt = findExecutable('apt-get');
  if (isRoot && apt) {
    log.info('redis-server not found: installing Debian package redis-server');
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    let result = spawnSync(apt, ['install', '-y', '-qq', 'redis-server'], { env, stdio: 'ignore' });
    if (result.status !== 0) {
      spawnSync(apt, ['update', '-qq'], { env, stdio: 'ignore' });
      result = spawnSync(apt, ['install', '-y', '-qq', 'redis-server'], { env, stdio: 'ignore' });
    }
    const installed = findExecutable('redis-server');
    if (result.status === 0 && installed) return installed;
  }
  throw new Error(
    'redis-server was not found. Install Redis 7 (Debian/Ubuntu: `sudo apt-get install redis-server`, ' +
      'macOS: `brew install redis`) or set REDIS_URL to a running Redis.',
  );
}

/**
 * Starts a private redis-server on a free loopback port with AOF persistence (appendfsync
 * everysec, as we document for production). With `persistent` the data folder is kept between
 * runs (the demo); otherwise it is removed on stop (tests).
 */
export async function startLocalRedis(options: {
  dir: string;
  persistent: boolean;
  log: Logger;
  /** A fixed port (tests restart a server where clients expect it); a free one when unset. */
  port?: number;
}): Promise<LocalRedis> {
  const binary = ensureRedisServerBinary(options.log);
  mkdirSync(options.dir, { recursive: true });
  const pidFile = join(options.dir, 'redis-server.pid');
  // A previous run killed with SIGKILL leaves its server holding our data folder: stop it first.
  const stale = readPidFile(pidFile);
  if (stale) await terminate(stale);

  for (let attempt = 1; ; attempt++) {
    const port = options.port ?? (await freePort());
    const child = spawn(
      binary,
      [
        '--port', String(port),
        '--bind', '127.0.0.1',
        '--dir', options.dir,
        '--appendonly', 'yes',
        '--appendfsync', 'everysec',
        '--save', '',
        '--daemonize', 'no',
        '--protected-mode', 'yes',
        '--loglevel', 'warning',
        '--maxmemory-policy', 'noeviction',
      ],
      // Its own process group: a Ctrl-C in the terminal reaches us, and we stop it after the roles.
      { stdio: ['ignore', 'pipe', 'pipe'], detached: true },
    );
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-4000)));
    child.stderr.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-4000)));
    let exited = false;
    child.once('exit', () => (exited = true));
    // The server must not keep our event loop alive, nor we its pipes.
    child.unref();
    (child.stdout as unknown as { unref?: () => void }).unref?.();
    (child.stderr as unknown as { unref?: () => void }).unref?.();

    const url = `redis://127.0.0.1:${port}`;
    // Generous: a loaded machine (CI running suites side by side) can take seconds to answer PING.
    const ready = await waitForRedis(url, () => exited, 30_000);
    if (!ready) {
      if (child.pid) await terminate(child.pid);
      if (attempt < 3 && options.port === undefined && /Address already in use/i.test(output)) continue;
      throw new Error(`redis-server did not start on port ${port}: ${output.trim() || 'no output'}`);
    }
    const pid = child.pid!;
    writeFileSync(pidFile, `${pid}\n`);
    options.log.info({ url, pid, dir: options.dir }, 'started local redis-server (AOF on)');
    return {
      url,
      pid,
      async stop() {
        await terminate(pid);
        rmSync(pidFile, { force: true });
        if (!options.persistent && existsSync(options.dir)) rmSync(options.dir, { recursive: true, force: true });
      },
    };
  }
}

async function waitForRedis(url: string, exited: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && !exited()) {
    const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    client.on('error', () => undefined);
    try {
      await client.connect();
      if ((await client.ping()) === 'PONG') return true;
    } catch {
      // not up yet
    } finally {
      client.disconnect();
    }
    await sleep(50);
  }
  return false;
}
