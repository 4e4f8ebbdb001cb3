import { mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalRedis, type LocalRedis } from '../../src/services/local-redis.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { eventually, startTestEngine, type TestEngine } from '../support/engine.ts';

/**
 * `GET /readyz` (the web role, as `npm start` runs it): 200 while Redis and Postgres answer; 503
 * naming the one that is down while it is (a redis-server of this file's own, stopped and started
 * again on its port; Postgres behind a TCP proxy this file cuts, so the shared server is never
 * touched), 200 again once it is back; and 503 `shutting down` for a request that arrives while
 * the server stops.
 */
const log = pino({ level: 'warn' });
let root: string;
let redis: LocalRedis | undefined;
let redisPort: number;
let database: TestDatabase;
let proxy: PostgresProxy;
let engine: TestEngine;

/** A TCP proxy in front of the test Postgres; `cut()` drops its connections and refuses new ones. */
interface PostgresProxy {
  url: string;
  cut(): void;
  restore(): void;
  close(): Promise<void>;
}

async function startPostgresProxy(databaseUrl: string): Promise<PostgresProxy> {
  const target = new URL(databaseUrl);
  const open = new Set<Socket>();
  let accepting = true;
  const server: Server = createServer((client) => {
    if (!accepting) {
      client.destroy();
      return;
    }
    const upstream = connect(Number(target.port || 5432), target.hostname);
    const end = () => {
      client.destroy();
      upstream.destroy();
      open.delete(client);
      open.delete(upstream);
    };
    for (const socket of [client, upstream]) {
      open.add(socket);
      socket.on('error', end);
      socket.on('close', end);
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = new URL(databaseUrl);
  url.hostname = '127.0.0.1';
  url.port = String((server.address() as AddressInfo).port);
  const cut = () => {
    accepting = false;
    for (const socket of open) socket.destroy();
  };
  return {
    url: url.toString(),
    cut,
    restore() {
      accepting = true;
    },
    async close() {
      cut();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

interface Readiness {
  status: number;
  body: { status?: string; redis?: string; postgres?: string; error?: { code: string; message: string } };
}

async function readyz(): Promise<Readiness> {
  const response = await fetch(`${engine.url}/readyz`);
  return { status: response.status, body: (await response.json()) as Readiness['body'] };
}

/** Polls /readyz until it answers `status` (the answer itself is the marker), and returns it. */
async function readyzUntil(status: number, what: string): Promise<Readiness> {
  return eventually(async () => {
    const answer = await readyz();
    return answer.status === status ? answer : undefined;
  }, 15_000, what);
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'foliostream-readyz-'));
  redis = await startLocalRedis({ dir: join(root, 'redis-1'), persistent: false, log });
  redisPort = Number(new URL(redis.url).port);
  database = await createTestDatabase({ migrate: false });
  proxy = await startPostgresProxy(database.url);
  engine = await startTestEngine({ env: { ROLES: 'web', REDIS_URL: redis.url, DATABASE_URL: proxy.url } });
});

afterAll(async () => {
  await engine?.stop();
  await proxy?.close();
  await database?.drop();
  await redis?.stop();
  if (root) rmSync(root, { recursive: true, force: true });
});

describe('GET /readyz', () => {
  it('answers 200 while Redis and Postgres answer', async () => {
    expect(await readyz()).toEqual({ status: 200, body: { status: 'ok', redis: 'ok', postgres: 'ok' } });
  });

  it('answers 503 naming Redis while Redis is down, and 200 once it is back', async () => {
    await redis!.stop();
    redis = undefined;
    const down = await readyzUntil(503, 'readyz to see Redis down');
    expect(down.body).toEqual({ error: { code: 'FS_NOT_READY', message: 'a dependency is down' }, redis: 'down', postgres: 'ok' });

    redis = await startLocalRedis({ dir: join(root, 'redis-2'), persistent: false, log, port: redisPort });
    const back = await readyzUntil(200, 'readyz to see Redis back');
    expect(back.body).toEqual({ status: 'ok', redis: 'ok', postgres: 'ok' });
  });

  it('answers 503 naming Postgres while Postgres is down, and 200 once it is back', async () => {
    proxy.cut();
    const down = await readyzUntil(503, 'readyz to see Postgres down');
    expect(down.body).toEqual({ error: { code: 'FS_NOT_READY', message: 'a dependency is down' }, redis: 'ok', postgres: 'down' });

    proxy.restore();
    const back = await readyzUntil(200, 'readyz to see Postgres back');
    expect(back.body).toEqual({ status: 'ok', redis: 'ok', postgres: 'ok' });
  });

  it('answers 503 "shutting down" to a request that arrives while the server stops', async () => {
    const server = engine.app.roles.web!.server;
    const { port } = server.address() as AddressInfo;
    // A connection with a request under way (its first bytes sent): the server keeps it open
    // while it stops, so the rest of the request reaches the stopping server.
    const socket = connect(port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    let raw = '';
    socket.on('data', (chunk: Buffer) => (raw += chunk.toString()));
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.write('GET /readyz HTTP/1.1\r\nHost: foliostream\r\n');
    expect(await readyz()).toMatchObject({ status: 200 });

    const stopping = engine.app.stop();
    // Marker: the server stopped listening (closeServer sets the flag in the same tick).
    await eventually(async () => (server.listening ? undefined : true), 10_000, 'the server to stop listening');
    await expect(fetch(`${engine.url}/readyz`)).rejects.toThrow();
    socket.write('Connection: close\r\n\r\n');
    await closed;
    const [head, body] = raw.split('\r\n\r\n') as [string, string];
    expect(head).toMatch(/^HTTP\/1\.1 503 /);
    expect(JSON.parse(body)).toEqual({ error: { code: 'FS_NOT_READY', message: 'shutting down' } });
    await stopping;
  });
});
