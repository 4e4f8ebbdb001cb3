import pino from 'pino';
import { loadConfig } from '../../../src/config/config.ts';
import { ReplayWorker } from '../../../src/replay/replay-jobs.ts';
import { createContext } from '../../../src/runtime/context.ts';
import { createStreamProducer } from '../../../streams/producer.ts';
import { singleRedis } from '../../../src/runtime/redis-client.ts';

/**
 * A process that runs only a replay worker (BullMQ), for the tests that kill one mid-job
 * (`spawnReplayWorker` in harness.ts starts it). Environment: REDIS_URL, DATABASE_URL, NAMESPACE,
 * BULL_PREFIX, PARTITION_COUNT, LOCK_MS (the job lock and stalled-check interval). It runs until
 * killed (SIGTERM closes the worker first).
 */
const { REDIS_URL, DATABASE_URL, NAMESPACE, BULL_PREFIX, LOCK_MS } = process.env;
if (!REDIS_URL || !DATABASE_URL || !BULL_PREFIX) {
  console.error('replay-worker-process needs REDIS_URL, DATABASE_URL and BULL_PREFIX');
  process.exit(1);
}
const config = loadConfig();
const log = pino({ level: process.env.LOG_LEVEL ?? 'info' });
const ctx = createContext({ config, redisTarget: singleRedis(REDIS_URL), databaseUrl: DATABASE_URL, namespace: NAMESPACE, log });
const worker = new ReplayWorker({
  redisTarget: singleRedis(REDIS_URL),
  prefix: BULL_PREFIX,
  db: ctx.db,
  producer: createStreamProducer(ctx.redis, ctx.keys),
  partitionCount: config.PARTITION_COUNT,
  log,
  pollMs: 50,
  stallTimeoutMs: 60_000,
  ...(LOCK_MS ? { lockDurationMs: Number(LOCK_MS) } : {}),
});
process.once('SIGTERM', () => {
  void worker.close().then(() => ctx.close()).finally(() => process.exit(0));
});
log.info('replay worker running');
