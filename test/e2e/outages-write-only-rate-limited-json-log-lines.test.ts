import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { REPEAT_WINDOW_MS } from '../../src/logging/repeat-limiter.ts';
import { startLocalRedis, type LocalRedis } from '../../src/services/local-redis.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { eventually } from '../support/engine.ts';
import { collectLines, repeatedKeys, type CollectedLine } from '../support/log-lines.ts';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.ts';

/**
 * `npm start` as a child process (every role, the embedded sandbox) on a redis-server of this
 * file's own and on the test Postgres behind a proxy of its own. Redis is stopped and started
 * again, then Postgres is cut off and restored. Everything the process writes, on stdout and
 * stderr, must be JSON lines with each key once (no `[ioredis] Unhandled error event`, no stack
 * dumps from BullMQ, no `Connection Error` text from knex), and the lines about the outage must
 * be bounded: one per module and message per window, with the count of those held back.
 */
const PARTITIONS = 4;
const silent = pino({ level: 'silent' });
const root = mkdtempSync(join(tmpdir(), 'foliostream-outage-logs-'));
let redis: LocalRedis | undefined;
let db: TestDatabase | undefined;
let proxy: TcpProxy | undefined;
let child: ChildProcessWithoutNullStreams | undefined;

afterAll(async () => {
  if (child && child.exitCode === null) child.kill('SIGKILL');
  await redis?.stop();
  await proxy?.close();
  await db?.drop();
  rmSync(root, { recursive: true, force: true });
});

async function readyz(url: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(5_000) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

function json(lines: CollectedLine[], from = 0): Record<string, unknown>[] {
  return lines.slice(from).flatMap((l) => (l.json ? [l.json] : []));
}

async function lineMatching(lines: CollectedLine[], from: number, matches: (line: Record<string, unknown>) => boolean, what: string, timeoutMs = 30_000) {
  return eventually(async () => json(lines, from).find(matches), timeoutMs, what);
}

describe('while Redis or Postgres is down', () => {
  it('the engine writes only JSON lines, each key once, one per module and message per window with the count held back', async () => {
    redis = await startLocalRedis({ dir: join(root, 'redis'), persistent: true, log: silent });
    const redisPort = Number(new URL(redis.url).port);
    db = await createTestDatabase({ migrate: false });
    const dbUrl = new URL(db.url);
    proxy = await startTcpProxy({ host: dbUrl.hostname, port: Number(dbUrl.port) });

    const spawned = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '',
        REDIS_URL: redis.url,
        DATABASE_URL: proxy.via(db.url),
        START_SANDBOX: 'true',
        // Port 0: the embedded sandbox and the web role listen on free ports.
        SNAPTRADE_BASE_URL: 'http://127.0.0.1:0',
        ALPACA_TRADING_URL: 'http://127.0.0.1:0',
        PORT: '0',
        PARTITION_COUNT: String(PARTITIONS),
        LOG_LEVEL: 'info',
      },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    child = spawned;
    const lines = collectLines(spawned);
    const exited = new Promise<number | null>((resolve) => spawned.on('exit', (code) => resolve(code)));

    const listening = await lineMatching(lines, 0, (l) => l.msg === 'web role listening', 'the web role', 90_000);
    const url = listening.url as string;
    await eventually(async () => ((await readyz(url)).status === 200 ? true : undefined), 30_000, 'readiness');

    // --- Redis stops, long enough for a window to close, and comes back ----------------------
    const redisDown = lines.length;
    const redisDownAt = Date.now();
    await redis.stop();
    redis = undefined;
    await eventually(async () => ((await readyz(url)).body.redis === 'down' ? true : undefined), 30_000, 'readyz to see Redis down');
    await lineMatching(lines, redisDown, (l) => l.msg === 'redis connection error', 'the Redis connection error line');
    // The end of the first window: a line with the count of those held back (a positive marker,
    // not a sleep).
    const summary = await lineMatching(
      lines,
      redisDown,
      (l) => typeof l.suppressed === 'number' && l.suppressed > 0,
      'a line counting the lines held back',
      REPEAT_WINDOW_MS * 3,
    );
    expect(summary.level).toBeGreaterThanOrEqual(40);
    redis = await startLocalRedis({ dir: join(root, 'redis'), persistent: true, log: silent, port: redisPort });
    await eventually(async () => ((await readyz(url)).status === 200 ? true : undefined), 30_000, 'readiness after Redis came back');

    // --- Postgres is cut off and restored ------------------------------------------------------
    const pgDown = lines.length;
    proxy.cut();
    await eventually(async () => ((await readyz(url)).body.postgres === 'down' ? true : undefined), 30_000, 'readyz to see Postgres down');
    const pgLine = await lineMatching(lines, pgDown, (l) => l.msg === 'postgres connection error', 'the Postgres connection error line');
    expect(pgLine).toMatchObject({ level: 40, module: 'db', detail: expect.any(String) });
    expect(String(pgLine.detail)).not.toContain('\n');
    proxy.restore();
    await eventually(async () => ((await readyz(url)).status === 200 ? true : undefined), 30_000, 'readiness after Postgres came back');
    const outageMs = Date.now() - redisDownAt;

    spawned.kill('SIGTERM');
    const code = await exited;
    expect(code, lines.slice(-30).map((l) => l.text).join('\n')).toBe(0);

    // Every line on stdout and stderr is a JSON object, each key written once.
    const notJson = lines.filter((l) => !l.json).map((l) => `${l.stream}: ${l.text}`);
    expect(notJson).toEqual([]);
    const duplicated = lines.filter((l) => repeatedKeys(l.text).length > 0).map((l) => l.text);
    expect(duplicated).toEqual([]);

    // Bounded: a repeating failure (a line with an error) is written at most once per window per
    // module and message (plus one at the start); anything else at most once per partition and
    // lease (a loaded machine can lose a lease, win it back under a new fencing token and lose that
    // one to the outage: two leases, two lines).
    const perKey = new Map<string, number>();
    for (const line of json(lines, redisDown)) {
      if ((line.level as number) < 40) continue;
      const repeating = 'err' in line || line.msg === 'postgres connection error';
      const lease = !repeating && typeof line.fencingToken === 'number' ? ` / lease ${line.fencingToken}` : '';
      const key = `${String(line.module)} / ${String(line.msg)}${lease} / ${repeating ? 'repeating' : 'once'}`;
      perKey.set(key, (perKey.get(key) ?? 0) + 1);
    }
    const windows = Math.ceil(outageMs / REPEAT_WINDOW_MS) + 1;
    const over = [...perKey].filter(([key, count]) => count > (key.endsWith('repeating') ? windows : PARTITIONS));
    const overLines = json(lines, redisDown).filter((l) => over.some(([key]) => key.startsWith(`${String(l.module)} / ${String(l.msg)} /`)));
    expect(over, `${windows} windows; the lines: ${JSON.stringify(overLines).slice(0, 4_000)}`).toEqual([]);
  });
});
