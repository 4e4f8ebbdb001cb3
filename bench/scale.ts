/**
 * `npm run bench:scale`: the CPU each role spends per unit of work, with 1 and 2 processes of the
 * role, and from it a capacity model (how many cores of each role a number of users needs).
 *
 * Every role runs as production runs it: `src/main.ts` processes with `ROLES` set, on one Redis
 * and one Postgres (from REDIS_URL/DATABASE_URL or started here), against the brokerage sandbox
 * (in this process). CPU is read from /proc for our processes (user + system) and from
 * `INFO cpu` for Redis; Postgres is the sum over its processes. Per step:
 *
 * - web: signed ACCOUNT_HOLDINGS_UPDATED webhooks at a fixed offered rate (autocannon, spread over
 *   the web processes): CPU per webhook answered 200.
 * - worker: portfolio events (`accounts.synced`, then `positions.synced` in SnapTrade's wire
 *   shape) appended to the partition streams as fast as the producer can; the clock and the CPU run
 *   until the consumer groups hold nothing pending or unread: CPU per event applied.
 * - market: the sandbox's price walk streamed to the market role for the securities those users
 *   hold: CPU per tick written to the price streams. With 2 market processes one holds the data
 *   connection and the other stands by (its CPU is the standby's cost).
 *
 * Options (environment): BENCH_WEBHOOK_RATE (1500/s offered), BENCH_SECONDS (10 per step),
 * BENCH_USERS (2000), BENCH_EVENTS_PER_USER (10), BENCH_SECURITIES (500), BENCH_TICK_HZ (5 steps of
 * the price walk per second), BENCH_PROCESSES (1,2), and the model's inputs: BENCH_MODEL_USERS
 * (100000), BENCH_MODEL_WEBHOOKS_PER_USER_HOUR (4), BENCH_MODEL_EVENTS_PER_WEBHOOK (3),
 * BENCH_MODEL_PEAK (5, the peak hour over the average), BENCH_MODEL_TICKS (20000 ticks/s at the
 * open), BENCH_MODEL_WORKER_TICK_US (the worker's CPU per tick, from bench:ticks' counting mode);
 * BENCH_WRITE=0 leaves docs/BENCHMARKS.md alone.
 */
import { randomUUID } from 'node:crypto';
import { availableParallelism, cpus, loadavg, totalmem } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import autocannon, { type Request } from 'autocannon';
import { Redis } from 'ioredis';
import pino from 'pino';
import { freshDatabase, startBenchServices, writeBenchmarkSection, type BenchDatabase } from './lib/bench-support.ts';
import { portfolioEvent } from './lib/portfolio-events.ts';
import { commandCpuSeconds, processCpuSeconds, redisCpuSeconds } from './lib/process-cpu.ts';
import { killRoleProcesses, sandboxEnv, startRoleProcess, type RoleProcess } from '../test/support/role-process.ts';
import { createPriceBook } from '../sandbox/market/price-book.ts';
import { startSandbox, type Sandbox } from '../sandbox/sandbox.ts';
import { parseLeaseValue } from '../actors/partition-lease.ts';
import { signWebhook } from '../src/snaptrade/signature.ts';
import { groupBacklog } from '../streams/consumer-group.ts';
import { streamKeys } from '../streams/keys.ts';
import { createStreamProducer } from '../streams/producer.ts';

const WEBHOOK_RATE = Number(process.env.BENCH_WEBHOOK_RATE ?? 1_500);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const USERS = Number(process.env.BENCH_USERS ?? 2_000);
const EVENTS_PER_USER = Number(process.env.BENCH_EVENTS_PER_USER ?? 10);
const SECURITIES = Number(process.env.BENCH_SECURITIES ?? 500);
const TICK_HZ = Number(process.env.BENCH_TICK_HZ ?? 5);
const PROCESSES = (process.env.BENCH_PROCESSES ?? '1,2').split(',').map(Number);
const MODEL = {
  users: Number(process.env.BENCH_MODEL_USERS ?? 100_000),
  webhooksPerUserHour: Number(process.env.BENCH_MODEL_WEBHOOKS_PER_USER_HOUR ?? 4),
  eventsPerWebhook: Number(process.env.BENCH_MODEL_EVENTS_PER_WEBHOOK ?? 3),
  peak: Number(process.env.BENCH_MODEL_PEAK ?? 5),
  ticks: Number(process.env.BENCH_MODEL_TICKS ?? 20_000),
  workerTickUs: process.env.BENCH_MODEL_WORKER_TICK_US ? Number(process.env.BENCH_MODEL_WORKER_TICK_US) : undefined,
};
const WRITE_DOCS = process.env.BENCH_WRITE !== '0';
const PARTITIONS = 16;
const PRICE_SHARDS = 8;
const log = pino({ level: 'warn' });
const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

interface Measured {
  role: 'web' | 'worker' | 'market';
  processes: number;
  units: number;
  seconds: number;
  /** CPU seconds of the role's processes (each), Redis, Postgres. */
  roleCpu: number[];
  redisCpu: number;
  postgresCpu: number;
}

const perUnitUs = (cpu: number, units: number) => (units > 0 ? (cpu / units) * 1e6 : NaN);

/** CPU of `processes`, Redis and Postgres over `run`, which returns the units of work done. */
async function measured(role: Measured['role'], processes: RoleProcess[], redis: Redis, run: () => Promise<number>): Promise<Measured> {
  const cpu0 = processes.map((p) => processCpuSeconds(p.pid));
  const redis0 = await redisCpuSeconds(redis);
  const pg0 = commandCpuSeconds('postgres');
  const started = performance.now();
  const units = await run();
  const seconds = (performance.now() - started) / 1000;
  return {
    role,
    processes: processes.length,
    units,
    seconds,
    roleCpu: processes.map((p, i) => processCpuSeconds(p.pid) - cpu0[i]!),
    redisCpu: (await redisCpuSeconds(redis)) - redis0,
    postgresCpu: commandCpuSeconds('postgres') - pg0,
  };
}

function signedWebhooks(runId: string, sandbox: Sandbox) {
  let n = 0;
  return [
    {
      method: 'POST' as const,
      setupRequest(request: Request) {
        const body = {
          webhookId: `${runId}-${n}`,
          clientId: sandbox.clientId,
          eventTimestamp: new Date().toISOString(),
          userId: `scale-hook-user-${n % 1_000}`,
          eventType: 'ACCOUNT_HOLDINGS_UPDATED',
          accountId: `scale-hook-account-${n % 1_000}`,
          brokerageId: 'questrade',
          brokerageAuthorizationId: `scale-hook-auth-${n % 1_000}`,
          details: { positions: { success: true, error: null }, balances: { success: true, error: null } },
        };
        n++;
        return { ...request, body: JSON.stringify(body), headers: { 'content-type': 'application/json', signature: signWebhook(sandbox.consumerKey, body) } };
      },
    },
  ];
}

async function main(): Promise<void> {
  const services = await startBenchServices(log);
  const priceBook = createPriceBook({ seed: 1, syntheticCount: SECURITIES });
  const sandbox = await startSandbox({ snaptradePort: 0, alpacaPort: 0, webhookUrl: null, rateLimit: { limit: 1_000_000, windowMs: 60_000 }, priceBook });
  const running: RoleProcess[] = [];
  const databases: BenchDatabase[] = [];
  const results: Measured[] = [];
  const machineLoad = { start: loadavg().map((l) => l.toFixed(2)).join(' '), end: '' };
  try {
    for (const count of PROCESSES) {
      // Each step on its own Redis database and Postgres database: nothing of one step is in the next.
      const db = await freshDatabase(services.databaseUrl, { prefix: 'bench_scale' });
      databases.push(db);
      const redisUrl = new URL(services.redisUrl);
      redisUrl.pathname = `/${1 + PROCESSES.indexOf(count)}`;
      const redis = new Redis(redisUrl.toString());
      await redis.flushdb();
      const env: Record<string, string> = {
        NODE_ENV: 'test',
        // info: the role processes say they run at that level (startRoleProcess waits for it).
        LOG_LEVEL: 'info',
        HOST: '127.0.0.1',
        PORT: '0',
        REDIS_URL: redisUrl.toString(),
        DATABASE_URL: db.url,
        MIGRATE_ON_START: 'false',
        ...sandboxEnv(sandbox),
        PARTITION_COUNT: String(PARTITIONS),
        PRICE_SHARDS: String(PRICE_SHARDS),
        SNAPTRADE_REQUESTS_PER_MINUTE: '1000000',
        SNAPTRADE_USER_SHARE: '1',
      };
      const start = async (name: string, role: string) => {
        const started = await startRoleProcess(name, { ...env, ROLES: role, ...(role === 'worker' ? { WORKER_ID: name } : {}) });
        running.push(started);
        return started;
      };

      // web
      const webs = await Promise.all(Array.from({ length: count }, (_, i) => start(`web-${i}`, 'web')));
      console.log(`web × ${count}: ${WEBHOOK_RATE} webhooks/s offered for ${SECONDS} s ...`);
      const runId = randomUUID();
      await Promise.all(webs.map((web) => autocannon({ url: `${web.url}/api/snaptrade/webhook`, connections: 8, overallRate: 200, duration: 2, requests: signedWebhooks(`${runId}-warm`, sandbox) })));
      results.push(
        await measured('web', webs, redis, async () => {
          const answers = await Promise.all(
            webs.map((web, i) =>
              autocannon({ url: `${web.url}/api/snaptrade/webhook`, connections: 16, overallRate: Math.round(WEBHOOK_RATE / count), duration: SECONDS, requests: signedWebhooks(`${runId}-${i}`, sandbox) }),
            ),
          );
          return answers.reduce((sum, a) => sum + a['2xx'], 0);
        }),
      );
      await killRoleProcesses(webs.splice(0));

      // worker: the webhook entries of the web step are no part of it
      await redis.flushdb();
      const workers = await Promise.all(Array.from({ length: count }, (_, i) => start(`worker-${i}`, 'worker')));
      const keys = streamKeys('fs');
      for (;;) {
        const leases = await redis.mget(Array.from({ length: PARTITIONS }, (_, p) => keys.partitionLease(p)));
        const holders = new Set(leases.map((value) => (value ? parseLeaseValue(value).workerId : null)));
        if (!holders.has(null) && holders.size === count) break;
        await sleep(200);
      }
      await sleep(2_000);
      const events = USERS * EVENTS_PER_USER;
      const options = { userPrefix: `scale-${count}-user-`, partitionCount: PARTITIONS, securities: SECURITIES, positions: 5 };
      const producer = createStreamProducer(redis, keys);
      const drained = async () => {
        for (;;) {
          const backlogs = await Promise.all(Array.from({ length: PARTITIONS }, (_, p) => groupBacklog(redis, keys.partitionStream(p))));
          if (backlogs.every((b) => b.pending === 0 && b.lag === 0)) return;
          await sleep(100);
        }
      };
      // The securities are known before the clock starts, as they are in a running system: one
      // user holding every listing registers them in one commit. (A security first seen by many
      // users at once makes their commits wait on the first one's insert: that is a cost of
      // first sight, not of the steady state this step measures.)
      const seed = { ...options, userPrefix: `scale-${count}-seed-`, positions: SECURITIES };
      await producer.appendMany([portfolioEvent(seed, 0, 0), portfolioEvent(seed, 0, 1)]);
      await drained();
      console.log(`worker × ${count}: ${fmt(events)} events of ${fmt(USERS)} users ...`);
      results.push(
        await measured('worker', workers, redis, async () => {
          for (let n = 0; n < EVENTS_PER_USER; n++) {
            const batch = Array.from({ length: USERS }, (_, u) => portfolioEvent(options, u, n));
            for (let i = 0; i < batch.length; i += 1_000) await producer.appendMany(batch.slice(i, i + 1_000));
          }
          await drained();
          return events;
        }),
      );

      // market: the workers have collected the securities the users hold
      const markets = [];
      for (let i = 0; i < count; i++) markets.push(await start(`market-${i}`, 'market'));
      const ticksWritten = async () => {
        let total = 0;
        for (let shard = 0; shard < PRICE_SHARDS; shard++) {
          try {
            const info = (await redis.xinfo('STREAM', keys.priceStream(shard))) as unknown[];
            total += Number(info[info.indexOf('entries-added') + 1] ?? 0);
          } catch {
            // no tick in this shard yet
          }
        }
        return total;
      };
      priceBook.setTickRate(TICK_HZ);
      await sleep(3_000);
      console.log(`market × ${count}: the price walk at ${TICK_HZ} steps/s over ${SECURITIES} securities for ${SECONDS} s ...`);
      results.push(
        await measured('market', markets, redis, async () => {
          const before = await ticksWritten();
          await sleep(SECONDS * 1_000);
          return (await ticksWritten()) - before;
        }),
      );
      priceBook.setTickRate(0);
      await killRoleProcesses([...workers, ...markets]);
      running.splice(0);
      redis.disconnect();
    }
  } finally {
    await killRoleProcesses(running);
    priceBook.setTickRate(0);
    await sandbox.close();
    for (const db of databases) await db.drop();
    await services.stop();
  }
  machineLoad.end = loadavg().map((l) => l.toFixed(2)).join(' ');
  report(results, machineLoad);
}

function report(results: Measured[], load: { start: string; end: string }): void {
  const unitName = { web: 'webhook answered 200', worker: 'event applied', market: 'tick written' };
  const rows = results.map((r) => {
    const role = r.roleCpu.reduce((a, b) => a + b, 0);
    return `| ${r.role} | ${r.processes} | ${fmt(r.units)} ${unitName[r.role]}s in ${fmt(r.seconds, 1)} s (${fmt(r.units / r.seconds)}/s) | **${fmt(perUnitUs(role, r.units), 1)} µs** (${r.roleCpu.map((c) => fmt(c, 2)).join(' + ')} s) | ${fmt(role / r.seconds, 2)} | ${fmt(perUnitUs(r.redisCpu, r.units), 1)} µs | ${fmt(perUnitUs(r.postgresCpu, r.units), 1)} µs |`;
  });
  const best = (role: Measured['role']) => {
    const runs = results.filter((r) => r.role === role);
    return Math.max(...runs.map((r) => perUnitUs(r.roleCpu.reduce((a, b) => a + b, 0), r.units)));
  };
  const redisPer = (role: Measured['role']) => Math.max(...results.filter((r) => r.role === role).map((r) => perUnitUs(r.redisCpu, r.units)));
  const pgPer = (role: Measured['role']) => Math.max(...results.filter((r) => r.role === role).map((r) => perUnitUs(r.postgresCpu, r.units)));
  const webhooksPerSecond = (MODEL.users * MODEL.webhooksPerUserHour * MODEL.peak) / 3_600;
  const eventsPerSecond = webhooksPerSecond * MODEL.eventsPerWebhook;
  const cores = (rate: number, us: number) => (rate * us) / 1e6;
  const model = [
    '| role | work at the peak | CPU per unit (the higher of the 1- and 2-process runs) | cores |',
    '| --- | ---: | ---: | ---: |',
    `| web | ${fmt(webhooksPerSecond)} webhooks/s | ${fmt(best('web'), 1)} µs | ${fmt(cores(webhooksPerSecond, best('web')), 2)} |`,
    `| worker (events) | ${fmt(eventsPerSecond)} events/s | ${fmt(best('worker'), 1)} µs | ${fmt(cores(eventsPerSecond, best('worker')), 2)} |`,
    ...(MODEL.workerTickUs === undefined
      ? []
      : [`| worker (live prices) | ${fmt(MODEL.ticks)} ticks/s | ${fmt(MODEL.workerTickUs, 1)} µs (bench:ticks) | ${fmt(cores(MODEL.ticks, MODEL.workerTickUs), 2)} |`]),
    `| market | ${fmt(MODEL.ticks)} ticks/s | ${fmt(best('market'), 1)} µs | ${fmt(cores(MODEL.ticks, best('market')), 2)} |`,
    `| Redis | all of the above | ${fmt(redisPer('web'), 1)} µs a webhook, ${fmt(redisPer('worker'), 1)} µs an event, ${fmt(redisPer('market'), 1)} µs a tick | ${fmt(cores(webhooksPerSecond, redisPer('web')) + cores(eventsPerSecond, redisPer('worker')) + cores(MODEL.ticks, redisPer('market')), 2)} |`,
    `| Postgres | events | ${fmt(pgPer('worker'), 1)} µs an event | ${fmt(cores(eventsPerSecond, pgPer('worker')), 2)} |`,
  ];
  const lines = [
    '## Scale-out: CPU per unit of work and a capacity model (bench:scale)',
    '',
    `Measured ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC with \`npm run bench:scale\` (bench/scale.ts). Machine: ${availableParallelism()} × ${cpus()[0]?.model.trim() ?? '?'}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB, Node ${process.version}; Redis, Postgres, the sandbox and the load generators on the same machine. Load average (1, 5, 15 min) at the start ${load.start}, at the end ${load.end}.`,
    '',
    `Each role runs as production runs it (\`src/main.ts\` with \`ROLES\`), 1 and then 2 processes of it, each step on a fresh Redis database and Postgres database. Web: signed webhooks offered at ${fmt(WEBHOOK_RATE)}/s for ${SECONDS} s. Worker: ${fmt(USERS)} users × ${EVENTS_PER_USER} events (\`accounts.synced\`, then \`positions.synced\` with 5 positions over ${fmt(SECURITIES)} listings), appended at once, until nothing is pending. Market: the sandbox's price walk at ${TICK_HZ} steps/s over the listings the users hold, for ${SECONDS} s. CPU = user + system time of the role's processes (from /proc), of Redis (\`INFO cpu\`) and of Postgres (its processes), per unit.`,
    '',
    '| role | processes | work | role CPU per unit (each process) | role cores | Redis per unit | Postgres per unit |',
    '| --- | ---: | --- | ---: | ---: | ---: | ---: |',
    ...rows,
    '',
    `**Capacity model** for ${fmt(MODEL.users)} users: ${MODEL.webhooksPerUserHour} webhooks per user an hour on average, the peak hour ${MODEL.peak}× that (${fmt(webhooksPerSecond)} webhooks/s), ${MODEL.eventsPerWebhook} events applied per webhook (the webhook, the positions and the activities its sync appends), ${fmt(MODEL.ticks)} ticks/s at the open. Cores = rate × CPU per unit; leave headroom (a role at 70 % of its cores), and at least 2 processes of each role for failover.`,
    '',
    ...model,
    '',
  ];
  console.log(lines.join('\n'));
  if (WRITE_DOCS) {
    writeBenchmarkSection(lines);
    console.log('docs/BENCHMARKS.md updated');
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
