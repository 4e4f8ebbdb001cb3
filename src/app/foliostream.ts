import type { Config } from '../config/config.ts';
import { migrateLatest, pendingMigrations } from '../db/migration-source.ts';
import { createLogger, type Logger } from '../logging/logger.ts';
import { createContext, type AppContext } from '../runtime/context.ts';
import { startServices, type Services } from '../services/services.ts';
import { startRoles, type RunningRoles } from './roles.ts';
import { redisTarget } from '../runtime/redis-client.ts';

export interface Foliostream {
  ctx: AppContext;
  roles: RunningRoles;
  services: Services;
  /** The web role's base URL, when it runs here. */
  url: string | undefined;
  stop(): Promise<void>;
}

/**
 * Starts foliostream in this process: Redis and Postgres (the configured ones, or local ones
 * outside production), migrations, then the configured roles. `stop()` undoes it in reverse.
 */
export async function startFoliostream(
  config: Config,
  log: Logger = createLogger('foliostream'),
  options: { namespace?: string } = {},
): Promise<Foliostream> {
  const services = await startServices({
    // With REDIS_NODES alone, a node of the cluster is Redis (no local server is started).
    redisUrl: config.REDIS_URL ?? config.REDIS_NODES?.[0],
    databaseUrl: config.DATABASE_URL,
    dataDir: config.LOCAL_SERVICES_DIR,
    log,
  });
  if (services.source.redis === 'local' || services.source.postgres === 'local') {
    log.warn(
      { redis: services.source.redis, postgres: services.source.postgres, dir: config.LOCAL_SERVICES_DIR },
      'using locally started services (set REDIS_URL and DATABASE_URL to use your own)',
    );
  }
  const ctx = createContext({
    config,
    redisTarget: redisTarget(services.redisUrl, config),
    databaseUrl: services.databaseUrl,
    log,
    ...(options.namespace ? { namespace: options.namespace } : {}),
  });
  try {
    if (config.MIGRATE_ON_START) {
      const applied = await migrateLatest(ctx.db);
      if (applied.length) log.info({ applied }, 'database migrated');
    } else {
      const pending = await pendingMigrations(ctx.db);
      if (pending.length > 0) {
        throw new Error(
          `MIGRATE_ON_START is false and the database has ${pending.length} pending migration(s) (${pending.join(', ')}): run the release step (npm run migrate:latest) first`,
        );
      }
    }
    const roles = await startRoles(ctx);
    return {
      ctx,
      roles,
      services,
      url: roles.web?.url,
      async stop() {
        await roles.stop();
        await ctx.close();
        await services.stop();
      },
    };
  } catch (err) {
    await ctx.close();
    await services.stop();
    throw err;
  }
}
