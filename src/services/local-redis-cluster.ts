import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import type { Logger } from '../logging/logger.ts';
import { freePort } from './free-port.ts';
import { ensureRedisServerBinary } from './local-redis.ts';
import { findExecutable, sleep, terminate } from './process-utils.ts';

export interface LocalRedisNode {
  url: string;
  port: number;
  pid: number;
}

export interface LocalRedisCluster {
  /** Every node, masters first as `--cluster create` assigned them (the first `masters`). */
  nodes: LocalRedisNode[];
  /** The node URLs, for `REDIS_NODES`. */
  urls: string[];
  stop(): Promise<void>;
}

/** A port whose cluster bus port (port + 10000) is free too. */
async function freeClusterPort(): Promise<number> {
  for (;;) {
    const port = await freePort();
    if (port + 10_000 > 65_535) continue;
    const busFree = await new Promise<boolean>((resolve) => {
      const server = createServer();
      server.once('error', () => resolve(false));
      server.listen(port + 10_000, '127.0.0.1', () => server.close(() => resolve(true)));
    });
    if (busFree) return port;
  }
}

/**
 * Starts a private Redis Cluster on loopback: `masters` masters with `replicasPerMaster` replicas
 * each, every node a `redis-server --cluster-enabled yes` on free ports (and their bus ports),
 * joined with `redis-cli --cluster create`. For tests of the engine in cluster mode; `stop()`
 * kills every node and removes their folder.
 */
export async function startLocalRedisCluster(options: {
  dir: string;
  log: Logger;
  /** @default 3 */
  masters?: number;
  /** @default 1 */
  replicasPerMaster?: number;
}): Promise<LocalRedisCluster> {
  const binary = ensureRedisServerBinary(options.log);
  const cli = findExecutable('redis-cli');
  if (!cli) throw new Error('redis-cli was not found (it comes with redis-server): it creates the cluster');
  const masters = options.masters ?? 3;
  const replicas = options.replicasPerMaster ?? 1;
  const count = masters * (1 + replicas);
  mkdirSync(options.dir, { recursive: true });
  const nodes: LocalRedisNode[] = [];
  const stop = async () => {
    await Promise.all(nodes.map((node) => terminate(node.pid)));
    rmSync(options.dir, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < count; i++) {
      const port = await freeClusterPort();
      const dir = join(options.dir, String(port));
      mkdirSync(dir, { recursive: true });
      const child = spawn(
        binary,
        [
          '--port', String(port),
          '--bind', '127.0.0.1',
          '--dir', dir,
          '--cluster-enabled', 'yes',
          '--cluster-config-file', 'nodes.conf',
          '--cluster-node-timeout', '2000',
          '--appendonly', 'yes',
          '--appendfsync', 'everysec',
          '--save', '',
          '--daemonize', 'no',
          '--loglevel', 'warning',
          '--maxmemory-policy', 'noeviction',
        ],
        { stdio: 'ignore', detached: true },
      );
      child.unref();
      nodes.push({ url: `redis://127.0.0.1:${port}`, port, pid: child.pid! });
    }
    for (const node of nodes) await waitForPing(node.url, 30_000);
    const created = spawnSync(
      cli,
      ['--cluster', 'create', ...nodes.map((n) => `127.0.0.1:${n.port}`), '--cluster-replicas', String(replicas), '--cluster-yes'],
      { encoding: 'utf8', timeout: 60_000 },
    );
    if (created.status !== 0) throw new Error(`redis-cli --cluster create failed: ${(created.stdout + created.stderr).slice(-2000)}`);
    await waitForClusterOk(nodes, count, 60_000);
    options.log.info({ nodes: nodes.map((n) => n.url) }, 'started local redis cluster');
    return { nodes, urls: nodes.map((n) => n.url), stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

async function waitForPing(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    client.on('error', () => undefined);
    try {
      await client.connect();
      if ((await client.ping()) === 'PONG') return;
    } catch {
      // not up yet
    } finally {
      client.disconnect();
    }
    if (Date.now() > deadline) throw new Error(`redis-server at ${url} did not start`);
    await sleep(50);
  }
}

/** Every node says `cluster_state:ok` and knows all the others (replicas attached). */
async function waitForClusterOk(nodes: LocalRedisNode[], count: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const states = await Promise.all(
      nodes.map(async (node) => {
        const client = new Redis(node.url, { maxRetriesPerRequest: 0 });
        client.on('error', () => undefined);
        try {
          const info = await client.cluster('INFO');
          return /cluster_state:ok/.test(info) && new RegExp(`cluster_known_nodes:${count}\\b`).test(info);
        } catch {
          return false;
        } finally {
          client.disconnect();
        }
      }),
    );
    if (states.every(Boolean)) return;
    if (Date.now() > deadline) throw new Error('the local redis cluster did not reach cluster_state:ok');
    await sleep(200);
  }
}
