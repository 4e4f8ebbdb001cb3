import { randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cluster } from 'ioredis';
import pino from 'pino';
import { startLocalRedisCluster, type LocalRedisCluster } from '../../src/services/local-redis-cluster.ts';
import type { TestRedis } from './redis.ts';

export interface TestRedisCluster extends TestRedis {
  cluster: LocalRedisCluster;
  /** A cluster client of the test's own (`client` is it too). */
  clusterClient: Cluster;
}

/**
 * A private Redis Cluster (3 masters, 3 replicas) for one test file, started from `redis-server`
 * on free ports like the single test Redis, and a client and key prefix of the test's own.
 * `cleanup()` closes the client and stops every node (their data goes with them).
 */
export async function startTestRedisCluster(): Promise<TestRedisCluster> {
  const cluster = await startLocalRedisCluster({
    dir: join(tmpdir(), `foliostream-cluster-${randomUUID()}`),
    log: pino({ level: process.env.LOG_LEVEL ?? 'warn' }),
  });
  const clusterClient = new Cluster(cluster.nodes.map((n) => ({ host: '127.0.0.1', port: n.port })), {
    scaleReads: 'master',
    redisOptions: { maxRetriesPerRequest: 3 },
  });
  clusterClient.on('error', () => undefined);
  return {
    url: cluster.urls[0]!,
    prefix: `test-${randomUUID()}:`,
    // TestRedis's `client` is typed as one server; the calls tests make on it (XRANGE, GET, ...) are
    // the same on a cluster client, which routes each to the node of its key's slot.
    client: clusterClient as never,
    clusterClient,
    cluster,
    async cleanup() {
      clusterClient.disconnect();
      await cluster.stop();
    },
  };
}
