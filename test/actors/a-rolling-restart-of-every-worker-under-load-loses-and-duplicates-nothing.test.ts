import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createActorTestEnv,
  everyPartitionHeldBy,
  expectEveryEventAppliedOnceInOrder,
  killAll,
  leaseHolders,
  spawnWorker,
  steadyLoad,
  waitFor,
  waitUntilEveryEventApplied,
  type ActorTestEnv,
  type WorkerProcess,
} from './support/harness.ts';

/**
 * A deploy restarts the workers one after the other (SIGTERM, wait for the exit, start it again)
 * while events keep arriving. Each stop must hand its partitions over (it commits and acks what it
 * read, then releases its leases) and each start must take its share back, so that at the end
 * every event was applied exactly once and in order (the event log equals a replay of the
 * streams), nothing is pending, and every stop exited 0.
 */
const PARTITIONS = 12;
const TTL = 2000;
const IDS = ['rolling-1', 'rolling-2', 'rolling-3'];

describe('a rolling restart of three workers under steady load', () => {
  let env: ActorTestEnv;
  const processes: WorkerProcess[] = [];
  let load: ReturnType<typeof steadyLoad> | undefined;
  beforeAll(async () => {
    env = await createActorTestEnv({ LEASE_TTL_MS: String(TTL), PARTITION_COUNT: String(PARTITIONS) });
  });
  afterAll(async () => {
    await load?.stop();
    await killAll(processes);
    await env.cleanup();
  });

  const start = (id: string) => {
    const worker = spawnWorker(env, id, { APPLY_DELAY_MS: '2' });
    processes.push(worker);
    return worker;
  };
  const heldBy = (count: number) => () => everyPartitionHeldBy(env, PARTITIONS, count);

  it('applies every event exactly once, in order, and every stop exits 0', async () => {
    let running = IDS.map(start);
    await waitFor('three workers owning every partition', heldBy(3), 30_000, 100);

    const users = Array.from({ length: 150 }, (_, i) => `rolling-user-${i}`);
    load = steadyLoad(env, users, PARTITIONS, 30, 50);
    await sleep(1000);

    const exits: (number | null)[] = [];
    for (const id of IDS) {
      const old = running.find((w) => w.id === id)!;
      const heldBefore = (await leaseHolders(env.redis.client, env.keys, PARTITIONS)).filter((h) => h === id).length;
      expect(heldBefore).toBeGreaterThan(0);
      old.child.kill('SIGTERM');
      exits.push((await old.exited).code);
      // Released on the way out, not left to expire: nothing waits a lease time for them.
      expect((await leaseHolders(env.redis.client, env.keys, PARTITIONS)).filter((h) => h === id)).toEqual([]);
      await waitFor(`the others to take ${id}'s partitions`, heldBy(2), 30_000, 20);
      running = [...running.filter((w) => w !== old), start(id)];
      await waitFor(`${id} back with a share of the partitions`, heldBy(3), 30_000, 100);
      await sleep(500);
    }

    const appended = await load.stop();
    load = undefined;
    await waitUntilEveryEventApplied(env, appended, PARTITIONS, 60_000, 100);
    expect(exits).toEqual([0, 0, 0]);
    await expectEveryEventAppliedOnceInOrder(env, appended, PARTITIONS);
  });
});
