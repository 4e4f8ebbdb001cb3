import { createServer, type AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createDatabase } from '../../src/db/knex.ts';
import { loggerOptions } from '../../src/logging/logger.ts';
import { isConnectionError } from '../../src/logging/repeat-limiter.ts';

/**
 * While Redis or Postgres is away every client and retry loop reports the same failure again and
 * again. Such lines (a warning or error whose `err` is a lost connection, or knex's own text
 * about one) are written once per window per module and message; at the window's end one line
 * repeats the latest with `suppressed`, the count held back. Nothing else is held back.
 */
const WINDOW_MS = 300;

function capture(windowMs = WINDOW_MS) {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split('\n')) if (line) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { log: pino(loggerOptions('info', { repeatWindowMs: windowMs }), stream), lines };
}

function refused(port = 6379): Error {
  return Object.assign(new Error(`connect ECONNREFUSED 127.0.0.1:${port}`), { code: 'ECONNREFUSED', syscall: 'connect' });
}

afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

describe('lines about a lost connection', () => {
  it('are written once per window per module and message, then once with the count of those held back', () => {
    // The clock is the test's: a window passes when the test says so.
    vi.useFakeTimers({ toFake: ['Date', 'setTimeout', 'clearTimeout'] });
    const { log, lines } = capture();
    const redis = log.child({ module: 'main' });
    const sync = log.child({ module: 'sync' });
    for (let i = 0; i < 50; i++) redis.warn({ err: refused(), connection: `c${i}` }, 'redis connection error');
    for (let i = 0; i < 20; i++) sync.warn({ err: refused() }, 'sync worker error');
    // Another message of the same module is its own source.
    redis.warn({ err: refused() }, 'presence refresh failed');

    expect(lines.map((l) => [l.module, l.msg, l.suppressed])).toEqual([
      ['main', 'redis connection error', undefined],
      ['sync', 'sync worker error', undefined],
      ['main', 'presence refresh failed', undefined],
    ]);
    expect(lines[0]).toMatchObject({ connection: 'c0', err: { code: 'ECONNREFUSED' } });

    // Nothing more until the window closes; then one line each for what was held back,
    // repeating the latest (the source with nothing held back writes nothing).
    vi.advanceTimersByTime(WINDOW_MS - 1);
    expect(lines).toHaveLength(3);
    vi.advanceTimersByTime(1);
    expect(lines.slice(3).map((l) => [l.module, l.msg, l.suppressed, l.connection])).toEqual(
      expect.arrayContaining([
        ['main', 'redis connection error', 49, 'c49'],
        ['sync', 'sync worker error', 19, undefined],
      ]),
    );
    expect(lines).toHaveLength(5);
  });

  it('never hold back other lines, nor the first failure after a quiet window', () => {
    vi.useFakeTimers({ toFake: ['Date', 'setTimeout', 'clearTimeout'] });
    const { log, lines } = capture();
    const worker = log.child({ module: 'sync' });
    for (let i = 0; i < 5; i++) worker.warn({ err: new Error('provider said no'), jobId: i }, 'sync job failed');
    for (let i = 0; i < 5; i++) worker.warn({ partition: i }, 'partition lease lost');
    for (let i = 0; i < 5; i++) worker.info({ err: refused() }, 'retrying at info level');
    expect(lines).toHaveLength(15);

    worker.warn({ err: refused() }, 'redis connection error');
    vi.advanceTimersByTime(WINDOW_MS);
    worker.warn({ err: refused() }, 'redis connection error');
    expect(lines.slice(15).map((l) => [l.msg, l.suppressed])).toEqual([
      ['redis connection error', undefined],
      ['redis connection error', undefined],
    ]);
  });

  it('are recognised by what the clients throw: refused, reset, closed, timed out, Postgres shutting down', () => {
    const maxRetries = Object.assign(new Error('Reached the max retries per request limit (which is 1).'), { name: 'MaxRetriesPerRequestError' });
    const closed = new Error('Connection is closed.');
    const pgTerminated = new Error('Connection terminated unexpectedly');
    const pgAdminShutdown = Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' });
    const wrapped = new Error('BEGIN; - read ECONNRESET', { cause: Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }) });
    const both = new AggregateError([refused(1), refused(2)], '');
    for (const err of [refused(), maxRetries, closed, pgTerminated, pgAdminShutdown, wrapped, both]) expect(isConnectionError(err)).toBe(true);
    for (const err of [new Error('ERR wrong number of arguments'), new Error('duplicate key value violates unique constraint'), undefined, 'ECONNREFUSED'])
      expect(isConnectionError(err)).toBe(false);
  });
});

describe("knex's warnings", () => {
  it('are structured lines: a Postgres that refuses connections is one line per window, no console text, no stack', async () => {
    const console_ = vi.spyOn(console, 'log');
    // A port nothing listens on.
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));

    const { log, lines } = capture(60_000);
    const db = createDatabase({ url: `postgres://nobody:nothing@127.0.0.1:${port}/none`, log: log.child({ module: 'db' }) });
    try {
      for (let i = 0; i < 3; i++) await expect(db.raw('select 1')).rejects.toThrow(/ECONNREFUSED/);
    } finally {
      await db.destroy();
    }
    expect(console_).not.toHaveBeenCalled();
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 40, module: 'db', msg: 'postgres connection error', detail: `connect ECONNREFUSED 127.0.0.1:${port}` });
  });
});
