import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/config.ts';
import { configurationTable, errorTable } from '../../src/config/docs-table.ts';

function problemsOf(env: Record<string, string>): { variable: string; message: string }[] {
  try {
    loadConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems;
  }
  throw new Error('expected a ConfigError');
}

describe('configuration', () => {
  it('works with no variables at all outside production (the demo needs nothing)', () => {
    const config = loadConfig({});
    expect(config.PORT).toBe(3000);
    expect(config.PARTITION_COUNT).toBe(16);
    expect(config.ROLES).toEqual(['web', 'worker', 'market']);
    expect(config.ENCRYPTION_KEY).toHaveLength(32);
    expect(config.DATABASE_URL).toBeUndefined();
  });

  it('names each invalid variable and what is wrong with it', () => {
    const problems = problemsOf({ PORT: 'eighty', PARTITION_COUNT: '0', ROLES: 'web,cook' });
    expect(problems.map((p) => p.variable).sort()).toEqual(['PARTITION_COUNT', 'PORT', 'ROLES']);
    expect(problems.find((p) => p.variable === 'PORT')!.message).toContain('"eighty"');
  });

  it('names every variable production requires and does not print secret values', () => {
    const problems = problemsOf({ NODE_ENV: 'production', ENCRYPTION_KEY: 'short-secret-value' });
    const names = problems.map((p) => p.variable);
    for (const required of [
      'DATABASE_URL',
      'REDIS_URL',
      'SNAPTRADE_CLIENT_ID',
      'SNAPTRADE_CONSUMER_KEY',
      'ALPACA_SECRET_KEY',
      'ADMIN_TOKEN',
      'ENCRYPTION_KEY',
      'AUTH_SECRET',
    ]) {
      expect(names).toContain(required);
    }
    const encryption = problems.find((p) => p.variable === 'ENCRYPTION_KEY')!;
    expect(encryption.message).toContain('32 bytes');
    expect(encryption.message).not.toContain('short-secret-value');
  });

  it('requires AUTH_ISSUER and AUTH_AUDIENCE with AUTH_JWKS_URL in production, naming each', () => {
    const production = { NODE_ENV: 'production', AUTH_JWKS_URL: 'https://id.example.com/.well-known/jwks.json' };
    const problems = problemsOf(production);
    expect(problems.find((p) => p.variable === 'AUTH_ISSUER')?.message).toContain('AUTH_JWKS_URL');
    expect(problems.find((p) => p.variable === 'AUTH_AUDIENCE')?.message).toContain('AUTH_JWKS_URL');
    const withBoth = problemsOf({ ...production, AUTH_ISSUER: 'https://id.example.com/', AUTH_AUDIENCE: 'foliostream' });
    expect(withBoth.map((p) => p.variable)).not.toContain('AUTH_ISSUER');
    expect(withBoth.map((p) => p.variable)).not.toContain('AUTH_AUDIENCE');
    // Outside production, and with the HS256 secret, they stay optional.
    expect(loadConfig({ AUTH_JWKS_URL: production.AUTH_JWKS_URL }).AUTH_ISSUER).toBeUndefined();
  });

  it('refuses user tokens living longer than a day by default', () => {
    expect(loadConfig({}).AUTH_MAX_TOKEN_LIFETIME_SECONDS).toBe(86_400);
    expect(problemsOf({ AUTH_MAX_TOKEN_LIFETIME_SECONDS: '0' }).map((p) => p.variable)).toEqual(['AUTH_MAX_TOKEN_LIFETIME_SECONDS']);
  });

  it('refuses to start in production with metrics public on PORT (needs METRICS_TOKEN or METRICS_PORT)', () => {
    const problem = problemsOf({ NODE_ENV: 'production' }).find((p) => p.variable === 'METRICS_TOKEN');
    expect(problem?.message).toContain('METRICS_PORT');
    expect(problemsOf({ NODE_ENV: 'production', METRICS_TOKEN: 'a-metrics-token-0123' }).map((p) => p.variable)).not.toContain('METRICS_TOKEN');
    expect(problemsOf({ NODE_ENV: 'production', METRICS_PORT: '9464' }).map((p) => p.variable)).not.toContain('METRICS_TOKEN');
    // Outside production metrics stay public on PORT, as documented.
    expect(loadConfig({}).METRICS_PORT).toBeUndefined();
    expect(problemsOf({ PORT: '3000', METRICS_PORT: '3000' }).map((p) => p.variable)).toEqual(['METRICS_PORT']);
  });

  it('accepts a 32-byte encryption key as hex or base64 and rejects other lengths', () => {
    const hex = 'ab'.repeat(32);
    expect(loadConfig({ ENCRYPTION_KEY: hex }).ENCRYPTION_KEY.toString('hex')).toBe(hex);
    expect(loadConfig({ ENCRYPTION_KEY: Buffer.alloc(32, 7).toString('base64') }).ENCRYPTION_KEY[0]).toBe(7);
    expect(problemsOf({ ENCRYPTION_KEY: 'ab'.repeat(16) }).map((p) => p.variable)).toEqual(['ENCRYPTION_KEY']);
  });

  it('treats empty strings as unset', () => {
    expect(loadConfig({ PORT: '', DATABASE_URL: '' }).PORT).toBe(3000);
  });

  it('keeps the README configuration table in step with the declarations', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    expect(readme).toContain(configurationTable());
  });

  it('keeps the README error-code table in step with the error registry', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    expect(readme).toContain(errorTable());
  });
});
