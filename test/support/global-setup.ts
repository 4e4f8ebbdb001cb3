import { randomUUID } from 'node:crypto';
import type { TestProject } from 'vitest/node';
import pg from 'pg';
import pino from 'pino';
import { createDatabase } from '../../src/db/knex.ts';
import { migrateLatest } from '../../src/db/migration-source.ts';
import { startServices } from '../../src/services/services.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
    databaseUrl: string;
    /** A migrated database that test databases are copied from (`CREATE DATABASE ... TEMPLATE`). */
    templateDatabase: string;
  }
}

function databaseUrl(serverUrl: string, database: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${database}`;
  return url.toString();
}

/**
 * Migrates once for the whole run: copying a migrated template is several times faster than
 * running every migration again for each test file's database.
 */
async function createTemplate(serverUrl: string): Promise<{ name: string; drop(): Promise<void> }> {
  const name = `t_template_${randomUUID().replace(/-/g, '')}`;
  const admin = async (sql: string) => {
    const client = new pg.Client({ connectionString: databaseUrl(serverUrl, 'postgres') });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  await admin(`CREATE DATABASE ${name}`);
  const knex = createDatabase({ url: databaseUrl(serverUrl, name), poolMax: 2, applicationName: 'foliostream-test-template' });
  try {
    await migrateLatest(knex);
  } finally {
    // A template must have no session open while it is copied.
    await knex.destroy();
  }
  return { name, drop: () => admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
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
  const template = await createTemplate(services.databaseUrl);
  project.provide('templateDatabase', template.name);
  return async () => {
    await template.drop().catch(() => undefined);
    await services.stop();
  };
}
