import type { TestProject } from 'vitest/node';
import pino from 'pino';
import { startServices } from '../../src/services/services.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
    databaseUrl: string;
  }
}

export default async function setup(project: TestProject) {
  const services = await startServices({
    redisUrl: process.env.REDIS_URL || undefined,
    databaseUrl: process.env.DATABASE_URL || undefined,
    ephemeral: true,
    database: 'foliostream_test',
    log: pino({ level: process.env.LOG_LEVEL ?? 'warn' }),
  });
  project.provide('redisUrl', services.redisUrl);
  project.provide('databaseUrl', services.databaseUrl);
  return async () => {
    await services.stop();
  };
}
