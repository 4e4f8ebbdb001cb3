import type * as Testcontainers from 'testcontainers';
import type { Logger } from '../logging/logger.ts';

export interface ContainerServices {
  redisUrl: string;
  databaseUrl: string;
  stop(): Promise<void>;
}

/**
 * Redis and Postgres in containers, when testcontainers is installed (a dev dependency) and a
 * container runtime answers. Returns undefined otherwise: without a runtime testcontainers fails
 * within milliseconds, so asking costs nothing on machines without Docker.
 */
export async function tryStartContainers(database: string, log: Logger): Promise<ContainerServices | undefined> {
  let tc: typeof Testcontainers;
  try {
    tc = await import('testcontainers');
  } catch {
    return undefined;
  }
  try {
    await tc.getContainerRuntimeClient();
  } catch {
    return undefined;
  }
  log.info('container runtime found: starting Redis and Postgres containers');
  const redis = await new tc.GenericContainer('redis:7')
    .withCommand(['redis-server', '--appendonly', 'yes', '--appendfsync', 'everysec'])
    .withExposedPorts(6379)
    .withWaitStrategy(tc.Wait.forLogMessage(/Ready to accept connections/))
    .start();
  const postgres = await new tc.GenericContainer('postgres:17')
    .withEnvironment({ POSTGRES_PASSWORD: 'foliostream-local', POSTGRES_DB: database })
    .withExposedPorts(5432)
    .withWaitStrategy(tc.Wait.forLogMessage(/database system is ready to accept connections/, 2))
    .start();
  return {
    redisUrl: `redis://${redis.getHost()}:${redis.getMappedPort(6379)}`,
    databaseUrl: `postgres://postgres:foliostream-local@${postgres.getHost()}:${postgres.getMappedPort(5432)}/${database}`,
    async stop() {
      await Promise.all([redis.stop(), postgres.stop()]);
    },
  };
}
