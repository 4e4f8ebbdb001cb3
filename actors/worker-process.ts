import { createAdminReplayRunner } from '../src/replay/admin-replay-event.ts';
import { ConfigError, loadConfig } from '../src/config/config.ts';
import { createLogger } from '../src/logging/logger.ts';
import { readLastPrices } from '../src/market/price-reader.ts';
import { createContext, type AppContext } from '../src/runtime/context.ts';
import { installShutdownHandlers } from '../src/runtime/shutdown.ts';
import type { ActorBehavior } from './actor-behavior.ts';
import { countingProjection } from './behaviors/counting-projection.ts';
import { eventLogProjection } from './behaviors/event-log-projection.ts';
import type { SyncRequests } from './portfolio/portfolio-notifier.ts';
import { UserPortfolioBehavior } from './portfolio/user-portfolio-behavior.ts';
import { startWorkerRuntime } from './worker-runtime.ts';
import { redisTarget } from '../src/runtime/redis-client.ts';

/**
 * A standalone worker process running the actor runtime: what the fault tests and the benchmark
 * start several of (`node --import tsx actors/worker-process.ts`). The product's worker role runs
 * the same runtime from `npm start` with the portfolio actor.
 *
 * Environment: REDIS_URL and DATABASE_URL (required), NAMESPACE (key prefix), WORKER_ID,
 * BEHAVIOR (`event-log` default, `counting`, or `portfolio`: the product's user portfolio actor
 * with the last market prices, no notifier, and sync requests that are counted and dropped, since
 * this process runs no sync jobs), APPLY_DELAY_MS (event-log: awaited in apply), and the
 * runtime's own variables (LEASE_TTL_MS, PARTITION_COUNT, ...). SIGTERM stops it gracefully:
 * leases are handed over after in-flight work committed.
 */
const log = createLogger('worker-process');
let config;
try {
  config = loadConfig();
} catch (err) {
  if (err instanceof ConfigError) {
    console.error(err.message);
    process.exit(1);
  }
  throw err;
}
const redisUrl = process.env.REDIS_URL;
const databaseUrl = process.env.DATABASE_URL;
if (!redisUrl || !databaseUrl) {
  console.error('worker-process needs REDIS_URL and DATABASE_URL');
  process.exit(1);
}

/** No sync jobs run here: what the actor asks for is counted (logged at debug) and dropped. */
function droppedSyncRequests(): SyncRequests {
  let requested = 0;
  const drop = (what: string) => {
    requested += 1;
    log.debug({ what, requested }, 'sync request dropped (no sync jobs in this process)');
    return Promise.resolve();
  };
  return {
    scheduleAccountSync: (userId, provider, accountId, reason) => drop(`account ${provider}:${accountId} of ${userId} (${reason})`),
    scheduleUserSync: (userId, reason) => drop(`user ${userId} (${reason})`),
    scheduleActivitiesSync: (userId, provider, accountId, reason) => drop(`activities ${provider}:${accountId} of ${userId} (${reason})`),
  };
}

function behaviorFromEnv(ctx: AppContext): ActorBehavior<unknown> {
  const name = process.env.BEHAVIOR ?? 'event-log';
  if (name === 'counting') return countingProjection() as ActorBehavior<unknown>;
  if (name === 'portfolio') {
    return new UserPortfolioBehavior({
      sync: droppedSyncRequests(),
      lastPrices: (tickers) => readLastPrices(ctx.redis, ctx.keys, tickers),
      replays: createAdminReplayRunner({ redis: ctx.redis, keys: ctx.keys, partitionCount: ctx.config.PARTITION_COUNT }),
    }) as ActorBehavior<unknown>;
  }
  if (name === 'event-log') {
    const delay = Number(process.env.APPLY_DELAY_MS ?? 0);
    return eventLogProjection({ applyDelayMs: delay > 0 ? delay : undefined }) as ActorBehavior<unknown>;
  }
  console.error(`unknown BEHAVIOR ${name}: use event-log, counting or portfolio`);
  process.exit(1);
}

const ctx = createContext({ config, redisTarget: redisTarget(redisUrl, config), databaseUrl, namespace: process.env.NAMESPACE || undefined, log });
const runtime = await startWorkerRuntime(ctx, { behavior: behaviorFromEnv(ctx) });
installShutdownHandlers(async () => {
  await runtime.stop();
  await ctx.close();
}, log);
