import type { Registry } from 'prom-client';
import type { Config } from '../config/config.ts';
import { secretBoxFromConfig, type SecretBox } from '../crypto/secret-box.ts';
import { createDatabase, type Knex } from '../db/knex.ts';
import { createLogger, type Logger } from '../logging/logger.ts';
import { createMetricsRegistry } from '../metrics/registry.ts';
import { streamKeys, type StreamKeys } from '../../streams/keys.ts';
import { createRedisClient, type RedisClient, type RedisTarget } from './redis-client.ts';

/**
 * What every role shares in one process: configuration, connections and the metrics registry.
 * Built once at start-up and handed down explicitly (no module-level singletons), so tests build
 * their own against their own database and key namespace.
 */
export interface AppContext {
  config: Config;
  log: Logger;
  redis: RedisClient;
  /** Where Redis is, for the connections a component makes itself (BullMQ, blocking reads, threads). */
  redisTarget: RedisTarget;
  db: Knex;
  keys: StreamKeys;
  metrics: Registry;
  secretBox: SecretBox;
  close(): Promise<void>;
}

export interface ContextOptions {
  config: Config;
  redisTarget: RedisTarget;
  databaseUrl: string;
  namespace?: string;
  log?: Logger;
}

export function createContext(options: ContextOptions): AppContext {
  const log = options.log ?? createLogger('app');
  // Commands fail fast while Redis is down (webhooks then answer 503) instead of queueing.
  const redis = createRedisClient(options.redisTarget, { name: 'foliostream' });
  redis.on('error', (err) => log.warn({ err }, 'redis connection error'));
  const db = createDatabase({ url: options.databaseUrl });
  return {
    config: options.config,
    log,
    redis,
    redisTarget: options.redisTarget,
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
