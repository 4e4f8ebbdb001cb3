import { Writable } from 'node:stream';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { loggerOptions } from '../../src/logging/logger.ts';
import { scrubSecrets } from '../../src/logging/redact.ts';
import { repeatedKeys, topLevelKeys } from '../support/log-lines.ts';

function capture(): { logger: pino.Logger; lines: () => string } {
  let out = '';
  const stream = new Writable({
    write(chunk, _enc, done) {
      out += chunk.toString();
      done();
    },
  });
  return { logger: pino(loggerOptions('info'), stream), lines: () => out };
}

describe('logging redacts secrets', () => {
  it('scrubs userSecret and other secret parameters from URLs', () => {
    const url = 'http://h/accounts?clientId=C&userId=u1&userSecret=abc123&timestamp=1';
    expect(scrubSecrets(url)).toBe('http://h/accounts?clientId=C&userId=u1&userSecret=[redacted]&timestamp=1');
    expect(scrubSecrets('redis://user:hunter2@host:6379')).toBe('redis://user:[redacted]@host:6379');
    expect(scrubSecrets('Authorization: Bearer eyJhbGc.x.y')).toBe('Authorization: Bearer [redacted]');
  });

  it('never writes known secret fields, secret URLs or error messages that echo them', () => {
    const { logger, lines } = capture();
    const err = new Error('GET http://h/positions?userSecret=s3cr3t failed');
    logger.info(
      { userSecret: 's3cr3t', consumerKey: 'ck-value', nested: { token: 'tok-value' }, url: 'http://h/?userSecret=s3cr3t', err },
      'calling http://h/?userSecret=s3cr3t',
    );
    const text = lines();
    for (const secret of ['s3cr3t', 'ck-value', 'tok-value']) expect(text).not.toContain(secret);
    expect(text).toContain('[redacted]');
  });
});

describe('log lines', () => {
  it("carry each key once: a child's module replaces its parent's", () => {
    const { logger, lines } = capture();
    // What the entry points do: the app logs as `main`, its components as children of that.
    const main = logger.child({ module: 'main' });
    main.child({ module: 'sync' }).child({ partition: 3 }).info({ jobId: 'j1' }, 'synced');
    main.info('started');
    const [child, parent] = lines().trim().split('\n') as [string, string];
    expect(repeatedKeys(child)).toEqual([]);
    expect(topLevelKeys(child)).toEqual(['level', 'time', 'service', 'module', 'partition', 'jobId', 'msg']);
    expect(JSON.parse(child)).toMatchObject({ module: 'sync', partition: 3, msg: 'synced' });
    // The parent keeps its own.
    expect(JSON.parse(parent)).toMatchObject({ module: 'main', msg: 'started' });
  });
});
