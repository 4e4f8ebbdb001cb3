import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { createDatabase, type Knex } from '../../src/db/knex.ts';
import { migrateLatest } from '../../src/db/migration-source.ts';
import type { Logger } from '../../src/logging/logger.ts';
import { startServices, type Services } from '../../src/services/services.ts';
import type { RedisClient } from '../../src/runtime/redis-client.ts';

/** Plumbing every benchmark shares: a throwaway database, key cleanup, and its report section. */

export interface BenchDatabase {
  url: string;
  knex: Knex;
  /** Server version, for the report. */
  version: string;
  drop(): Promise<void>;
}

/** A fresh, migrated database on the server of `serverUrl`, dropped by `drop()`. */
export async function freshDatabase(
  serverUrl: string,
  options: { prefix?: string; poolMax?: number; applicationName?: string } = {},
): Promise<BenchDatabase> {
  const name = `${options.prefix ?? 'bench'}_${randomUUID().replace(/-/g, '').slice(0, 16)}`;
  const adminUrl = new URL(serverUrl);
  adminUrl.pathname = '/postgres';
  const admin = async <T>(sql: string): Promise<pg.QueryResult<T & pg.QueryResultRow>> => {
    const client = new pg.Client({ connectionString: adminUrl.toString() });
    await client.connect();
    try {
      return await client.query<T & pg.QueryResultRow>(sql);
    } finally {
      await client.end();
    }
  };
  await admin(`CREATE DATABASE ${name}`);
  const version = (await admin<{ server_version: string }>('SHOW server_version')).rows[0]?.server_version ?? '?';
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  const knex = createDatabase({ url: url.toString(), poolMax: options.poolMax ?? 4, applicationName: options.applicationName ?? 'bench' });
  await migrateLatest(knex);
  return {
    url: url.toString(),
    knex,
    version,
    async drop() {
      await knex.destroy();
      await admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    },
  };
}

/**
 * Redis and Postgres for a benchmark: REDIS_URL / DATABASE_URL when set, else throwaway servers
 * (stopped by `services.stop()`).
 */
export function startBenchServices(log: Logger): Promise<Services> {
  return startServices({
    redisUrl: process.env.REDIS_URL || undefined,
    databaseUrl: process.env.DATABASE_URL || undefined,
    ephemeral: true,
    database: 'foliostream_bench',
    log,
  });
}

/** Deletes every key of a benchmark's namespace. */
export async function deleteNamespace(redis: RedisClient, namespace: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, found] = await redis.scan(cursor, 'MATCH', `${namespace}*`, 'COUNT', 1000);
    cursor = next;
    if (found.length) await redis.del(...found);
  } while (cursor !== '0');
}

const BENCHMARKS_MD = fileURLToPath(new URL('../../docs/BENCHMARKS.md', import.meta.url));

/**
 * Replaces (or appends) one benchmark's section of docs/BENCHMARKS.md, leaving the others alone.
 * The section is `lines`; its first line is the `## heading` it is found by.
 */
export function writeBenchmarkSection(lines: readonly string[]): void {
  const heading = lines[0];
  if (!heading?.startsWith('## ')) throw new Error('a benchmark section starts with its "## " heading');
  const current = existsSync(BENCHMARKS_MD)
    ? readFileSync(BENCHMARKS_MD, 'utf8')
    : '# Benchmarks\n\nMeasured performance; each section says how to reproduce it.\n';
  const section = lines.join('\n');
  const start = current.indexOf(`${heading}\n`);
  let next: string;
  if (start === -1) {
    next = `${current.trimEnd()}\n\n${section}`;
  } else {
    const after = current.indexOf('\n## ', start + 1);
    next = current.slice(0, start) + section.trimEnd() + (after === -1 ? '' : `\n\n${current.slice(after + 1)}`);
  }
  writeFileSync(BENCHMARKS_MD, `${next.trimEnd()}\n`);
}

/** The machine a benchmark ran on, for its report: CPUs, memory, Node. */
export function machineDescription(): string {
  return `${cpus().length} CPUs (${cpus()[0]?.model.trim() ?? 'unknown CPU'}), ${(totalmem() / 2 ** 30).toFixed(1)} GiB memory, Node ${process.version}`;
}

/** The 1, 5 and 15 minute load averages, as a report prints them. */
export function loadAverage(): string {
  return loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
