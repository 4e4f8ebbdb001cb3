import { Redis } from 'ioredis';
import type { Registry } from 'prom-client';
import type { Config } from '../config/config.ts';
import { secretBoxFromConfig, type SecretBox } from '../crypto/secret-box.ts';
import { createDatabase, type Knex } from '../db/knex.ts';
import { createLogger, type Logger } from '../logging/logger.ts';
import { createMetricsRegistry } from '../metrics/registry.ts';
import { streamKeys, type StreamKeys } from '../../streams/keys.ts';

/**
 * What every role shares in one process: configuration, connections and the metrics registry.
 * Built once at start-up and handed down explicitly (no module-level singletons), so tests build
 * their own against their own database and key namespace.
 */
export interface AppContext {
  config: Config;
  log: Logger;
  redis: Redis;
  db: Knex;
  keys: StreamKeys;
  metrics: Registry;
  secretBox: SecretBox;
  close(): Promise<void>;
}

export interface ContextOptions {
  config: Config;
  redisUrl: string;
  databaseUrl: string;
  namespace?: string;
  log?: Logger;
}

export function createRedisClient(url: string, name: string): Redis {
  return new Redis(url, {
    connectionName: name,
    // Commands fail fast while Redis is down (webhooks then answer 503) instead of queueing.
    maxRetriesPerRequest: 1,
    enableOfflineQueue: true,
    retryStrategy: (attempt) => Math.min(50 * 2 ** attempt, 2_000),
  });
}

export function createContext(options: ContextOptions): AppContext {
  const log = options.log ?? createLogger('app');
  const redis = createRedisClient(options.redisUrl, 'foliostream');
  redis.on('error', (err) => log.warn({ err }, 'redis connection error'));
  const db = createDatabase({ url: options.databaseUrl });
  return {
    config: options.config,
    log,
    redis,
    db,
    keys: streamKeys(options.namespace),
    metrics: createMetricsRegistry(),
    secretBox: secretBoxFromConfig(options.config),
    async close() {
      redis.disconnect();
      await db.destroy();
    },
  };
}
