import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppContext } from '../../src/runtime/context.ts';
import { ReplayJobs, ReplayWorker, type ReplayWorkerOptions } from '../../src/replay/replay-jobs.ts';
import { ENVELOPE_FIELD } from '../../streams/envelope.ts';
import { createStreamProducer } from '../../streams/producer.ts';
import { createActorTestEnv, killAll, spawnReplayWorker, spawnWorker, waitFor, type ActorTestEnv, type WorkerProcess } from './support/harness.ts';
import { insertFxRates, interleave, linkAlpacaAccounts, portfolioLoads } from './support/portfolio-load.ts';
import { singleRedis } from '../../src/runtime/redis-client.ts';

/**
 * A replay job (BullMQ) whose process is killed (SIGKILL) after it appended the replay events is
 * taken up by another replay worker once its lock expires, and resumes: it appends nothing again,
 * waits for the reports the actors commit, and finishes with one report per user.
 */
const PARTITIONS = 4;

describe('a replay job across the death of its process', () => {
  let env: ActorTestEnv;
  let ctx: AppContext;
  const workers: WorkerProcess[] = [];
  beforeAll(async () => {
    env = await createActorTestEnv({ PARTITION_COUNT: String(PARTITIONS) });
    ctx = env.context();
    await insertFxRates(env.database.knex);
  });
  afterAll(async () => {
    await killAll(workers);
    await env.cleanup();
  });

  it('resumes where it was: no event appended twice, one report per user, done', async () => {
    const db = env.database.knex;
    const loads = portfolioLoads('resume-user', 12, PARTITIONS, 5);
    await linkAlpacaAccounts(ctx, loads);
    await createStreamProducer(env.redis.client, env.keys).appendMany(interleave(loads));
    const log = pino({ level: 'silent' });
    const prefix = `{${env.redis.prefix}bull}`;
    const jobs = new ReplayJobs({ redisTarget: singleRedis(env.redis.url), prefix, db, log });
    const options: ReplayWorkerOptions = {
      redisTarget: singleRedis(env.redis.url),
      prefix,
      db,
      producer: createStreamProducer(env.redis.client, env.keys),
      partitionCount: PARTITIONS,
      log,
      pollMs: 50,
      stallTimeoutMs: 60_000,
      lockDurationMs: 1_000,
    };
    // No actor runs yet: the first job process appends the events and then waits for reports,
    // until it is killed.
    const first = spawnReplayWorker(env, 'resume-replay-1', prefix, { LOCK_MS: '2000' });
    workers.push(first);
    const { id } = await jobs.start({ users: loads.map((l) => l.userId) });
    await waitFor('the events appended', async () => {
      if (first.child.exitCode !== null) throw new Error(`the replay worker process exited:\n${first.output()}`);
      return Boolean((await jobs.queue.getJob(id))?.data.appended);
    }, 60_000, 20);
    first.child.kill('SIGKILL');
    expect(await first.exited).toEqual({ code: null, signal: 'SIGKILL' });
    // It died mid-job: the job is still active, under the dead process' lock.
    expect(await (await jobs.queue.getJob(id))!.getState()).toBe('active');
    const replayEvents = async () => {
      let n = 0;
      for (let p = 0; p < PARTITIONS; p++) {
        for (const [, fields] of await env.redis.client.xrange(env.keys.partitionStream(p), '-', '+')) if (fields[fields.indexOf(ENVELOPE_FIELD) + 1]!.includes('"admin.replay"')) n++;
      }
      return n;
    };
    expect(await replayEvents()).toBe(loads.length);

    workers.push(spawnWorker(env, 'resume-w1', { BEHAVIOR: 'portfolio' }));
    const second = new ReplayWorker(options);
    try {
      const status = await waitFor('the job done', async () => (await jobs.status(id))?.state === 'done', 90_000, 100).then(() => jobs.status(id));
      expect(status).toMatchObject({ state: 'done', progress: { done: loads.length, total: loads.length }, report: { matched: loads.length, differed: 0 } });
      expect(await replayEvents()).toBe(loads.length);
      expect(Number((await db('replay_reports').where({ replay_id: id }).count({ n: '*' }).first())!.n)).toBe(loads.length);
    } finally {
      await second.close();
      await jobs.close();
    }
  });
});
