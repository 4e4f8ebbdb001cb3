import { Writable } from 'node:stream';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { loggerOptions } from '../../src/logging/logger.ts';
import { scrubSecrets } from '../../src/logging/redact.ts';

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
