import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseLeaseValue } from '../../actors/partition-lease.ts';
import { partitionOf } from '../../streams/partition.ts';
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

const PARTITIONS = 16;
const TTL = 2000;

/**
 * A worker paused inside a commit loses it two ways: Postgres ends its transaction after the
 * idle-in-transaction timeout (the lease time), and any commit it starts after resuming is
 * refused by the fence. This test proves the outcome (nothing committed under the old leases,
 * every event applied once); which of the two stopped it depends on where SIGSTOP landed. The
 * fence comparison itself is proved, with fenced commits counted from the metric, by
 * same-worker-id-twice-is-fenced-apart.test.ts and partition-fencing.test.ts.
 */
describe('fault: a worker paused (SIGSTOP) past its lease', () => {
  let env: ActorTestEnv;
  let workers: WorkerProcess[] = [];
  let load: ReturnType<typeof steadyLoad> | undefined;
  beforeAll(async () => {
    env = await createActorTestEnv({ LEASE_TTL_MS: String(TTL) });
  });
  afterAll(async () => {
    // A failed assertion leaves the load running: stop it before its Redis connection closes.
    await load?.stop();
    await killAll(workers);
    await env.cleanup();
  });

  /** Event-log rows the paused worker committed under the tenures it held when paused. */
  async function rowsUnderOldTenures(workerId: string, tenures: Map<number, number>): Promise<number> {
    const rows = (await env.database
      .knex('actor_event_log')
      .where({ worker_id: workerId })
      .select('user_id', 'fencing_token')) as { user_id: string; fencing_token: number | string }[];
    return rows.filter((r) => tenures.get(partitionOf(r.user_id, PARTITIONS)) === Number(r.fencing_token)).length;
  }

  it('is replaced after the lease expires and, resumed, commits nothing under its old leases', async () => {
    // apply awaits 20 ms inside its transaction, so the paused worker is caught mid-transaction.
    workers = ['pause-1', 'pause-2', 'pause-3'].map((id) => spawnWorker(env, id, { APPLY_DELAY_MS: '20' }));
    await waitFor('three workers owning every partition', () => everyPartitionHeldBy(env, PARTITIONS, 3), 30_000, 100);
    const users = Array.from({ length: 150 }, (_, i) => `pause-user-${i}`);
    load = steadyLoad(env, users, PARTITIONS, 30, 50);
    await sleep(1500);

    // The victim is whoever holds the most partitions now (on a loaded machine the even split of
    // 16 over 3 may have shifted since); it is paused while holding them.
    const leases = new Map<number, { workerId: string; token: number }>();
    for (let p = 0; p < PARTITIONS; p++) {
      const value = await env.redis.client.get(env.keys.partitionLease(p));
      if (value) leases.set(p, parseLeaseValue(value));
    }
    const held = (id: string) => [...leases.values()].filter((lease) => lease.workerId === id).length;
    const victim = [...workers].sort((a, b) => held(b.id) - held(a.id))[0]!;
    const tenures = new Map([...leases].filter(([, lease]) => lease.workerId === victim.id).map(([p, lease]) => [p, lease.token]));
    expect(tenures.size).toBeGreaterThanOrEqual(1);
    victim.child.kill('SIGSTOP');

    await waitFor(
      'the other workers to take every partition of the paused one',
      async () => {
        const holders = await leaseHolders(env.redis.client, env.keys, PARTITIONS);
        return [...tenures.keys()].every((p) => holders[p] !== null && holders[p] !== victim.id);
      },
      4 * TTL,
      20,
    );
    // Each new tenure is fenced above the paused one (order, not a duration: when the takeover
    // came depends on how late the victim's last renewal ran on a loaded machine).
    for (const [p, token] of tenures) {
      const lease = parseLeaseValue((await env.redis.client.get(env.keys.partitionLease(p)))!);
      expect(lease.token, `partition ${p}`).toBeGreaterThan(token);
    }
    // Stay paused well past the lease; the new owners keep committing meanwhile.
    await sleep(TTL);
    const committedBeforeResume = await rowsUnderOldTenures(victim.id, tenures);

    victim.child.kill('SIGCONT');
    await sleep(2 * TTL);
    const appended = await load.stop();
    load = undefined;

    await waitUntilEveryEventApplied(env, appended, PARTITIONS, 30_000, 100);

    // Resumed, the paused worker committed nothing more under the leases it had lost ...
    expect(await rowsUnderOldTenures(victim.id, tenures)).toBe(committedBeforeResume);
    // ... it found out it had lost them ...
    expect(victim.output()).toMatch(/partition lost: stopped without committing|partition lease lost/);
    // ... and every event was still applied exactly once, in order.
    await expectEveryEventAppliedOnceInOrder(env, appended, PARTITIONS);
    console.log(`paused ${victim.id} holding ${tenures.size} partitions; its log after resume:\n` +
      victim.output().split('\n').filter((l) => /lost|fenced|failed/.test(l)).slice(0, 6).join('\n'));
  });
});
