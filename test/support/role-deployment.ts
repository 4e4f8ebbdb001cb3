import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import pino from 'pino';
import type { RedisClient } from '../../src/runtime/redis-client.ts';
import { startLocalRedis } from '../../src/services/local-redis.ts';
import { startSandbox, type Sandbox } from '../../sandbox/sandbox.ts';
import { createTestDatabase, type TestDatabase } from './database.ts';
import { startTestRedisCluster } from './redis-cluster.ts';
import { roleProcessEnv, roleProcessGroup, type RoleProcessGroup } from './role-process.ts';

/**
 * What a test of engine processes (`roleProcessGroup`) deploys them on, private to its file: a
 * Redis of its own (the processes use the default namespace, so it cannot share the suite's), a
 * migrated Postgres database and the brokerage sandbox.
 */
export interface RoleDeployment {
  /** A client of the test's own on the processes' Redis. */
  client: RedisClient;
  database: TestDatabase;
  sandbox: Sandbox;
  /** The processes' environment: `roleProcessEnv` of the services with the test's settings. */
  env: Record<string, string>;
  processes: RoleProcessGroup;
  /** SIGKILL to every process still running; then the client, sandbox, database and Redis go. */
  close(): Promise<void>;
}

interface DeployedRedis {
  url: string;
  client: RedisClient;
  stop(): Promise<void>;
}

/** One `redis-server` without persistence, in a temporary directory that goes with it. */
async function startPrivateRedis(): Promise<DeployedRedis> {
  const root = mkdtempSync(join(tmpdir(), 'foliostream-role-deployment-'));
  try {
    const server = await startLocalRedis({ dir: join(root, 'redis'), persistent: false, log: pino({ level: 'warn' }) });
    const client = new Redis(server.url);
    return {
      url: server.url,
      client,
      async stop() {
        client.disconnect();
        await server.stop();
        rmSync(root, { recursive: true, force: true });
      },
    };
  } catch (err) {
    rmSync(root, { recursive: true, force: true });
    throw err;
  }
}

async function startPrivateRedisCluster(): Promise<DeployedRedis> {
  const cluster = await startTestRedisCluster();
  return { url: cluster.url, client: cluster.clusterClient, stop: () => cluster.cleanup() };
}

export async function startRoleDeployment(options: {
  /** One server, or a Redis Cluster of 3 masters and 3 replicas (the processes get `REDIS_CLUSTER=true`). */
  redis: 'server' | 'cluster';
  /** Settings of the test's processes, added to or overriding `roleProcessEnv`'s. */
  env: Record<string, string>;
  /** The sandbox's SnapTrade rate limit, for a load its default would refuse. */
  sandboxRateLimit?: { limit: number; windowMs: number };
}): Promise<RoleDeployment> {
  const started = await Promise.allSettled([
    options.redis === 'cluster' ? startPrivateRedisCluster() : startPrivateRedis(),
    createTestDatabase({ migrate: true }),
    startSandbox({ snaptradePort: 0, alpacaPort: 0, webhookUrl: null, rateLimit: options.sandboxRateLimit, logger: pino({ level: 'silent' }) }),
  ]);
  const [redis, database, sandbox] = started;
  if (redis.status === 'rejected' || database.status === 'rejected' || sandbox.status === 'rejected') {
    // What did start would outlive the file (the afterAll has nothing to close): it goes here.
    await Promise.all([
      redis.status === 'fulfilled' ? redis.value.stop() : undefined,
      database.status === 'fulfilled' ? database.value.drop() : undefined,
      sandbox.status === 'fulfilled' ? sandbox.value.close() : undefined,
    ]);
    throw started.flatMap((s) => (s.status === 'rejected' ? [s.reason as unknown] : []))[0];
  }
  const env = roleProcessEnv(
    { redisUrl: redis.value.url, databaseUrl: database.value.url, sandbox: sandbox.value },
    { ...(options.redis === 'cluster' ? { REDIS_CLUSTER: 'true' } : {}), ...options.env },
  );
  const processes = roleProcessGroup(env);
  return {
    client: redis.value.client,
    database: database.value,
    sandbox: sandbox.value,
    env,
    processes,
    async close() {
      await processes.killAll();
      await sandbox.value.close();
      await database.value.drop();
      await redis.value.stop();
    },
  };
}
