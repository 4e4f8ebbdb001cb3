import { Redis } from 'ioredis';
import pg from 'pg';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { isAlive } from '../../src/services/process-utils.ts';
import { startServices } from '../../src/services/services.ts';

describe('local services', () => {
  it('start a real Redis (AOF on) and Postgres, and stop them leaving no process behind', async () => {
    const services = await startServices({ ephemeral: true, containers: false, log: pino({ level: 'silent' }) });
    try {
      expect(services.source).toEqual({ redis: 'local', postgres: 'local' });
      expect(services.pids).toHaveLength(2);
      for (const pid of services.pids) expect(isAlive(pid)).toBe(true);

      const redis = new Redis(services.redisUrl);
      expect(await redis.ping()).toBe('PONG');
      expect(await redis.config('GET', 'appendonly')).toEqual(['appendonly', 'yes']);
      redis.disconnect();

      const client = new pg.Client({ connectionString: services.databaseUrl });
      await client.connect();
      const { rows } = await client.query('SELECT current_database() AS db');
      expect(rows[0].db).toBe('foliostream');
      await client.end();
    } finally {
      await services.stop();
    }
    for (const pid of services.pids) expect(isAlive(pid)).toBe(false);
  });

  it('use REDIS_URL and DATABASE_URL as given and never stop them', async () => {
    const services = await startServices({
      redisUrl: 'redis://127.0.0.1:1',
      databaseUrl: 'postgres://u:p@127.0.0.1:1/db',
      log: pino({ level: 'silent' }),
    });
    expect(services.source).toEqual({ redis: 'environment', postgres: 'environment' });
    expect(services.pids).toEqual([]);
    await services.stop();
  });
});
