import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  advanceCheckpoint,
  beginFencedCommit,
  claimFence,
  FencedError,
  readCheckpoint,
} from '../../actors/checkpoint-store.ts';
import { workerMembership } from '../../actors/membership.ts';
import { leaseValue, parseLeaseValue, partitionLeases, type Lease } from '../../actors/partition-lease.ts';
import { ensureConsumerGroup, groupReader, LeaseLostError } from '../../streams/consumer-group.ts';
import { ENVELOPE_FIELD } from '../../streams/envelope.ts';
import { streamKeys, type StreamKeys } from '../../streams/keys.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { createTestRedis, type TestRedis } from '../support/redis.ts';

describe('partition leases and fencing tokens', () => {
  let redis: TestRedis;
  let database: TestDatabase;
  let keys: StreamKeys;
  beforeAll(async () => {
    redis = await createTestRedis();
    database = await createTestDatabase();
    keys = streamKeys(redis.prefix);
  });
  afterAll(async () => {
    await redis.cleanup();
    await database.drop();
  });

  async function acquired(leases: ReturnType<typeof partitionLeases>, partition: number, floor = 0): Promise<Lease> {
    const result = await leases.acquire(partition, floor);
    if (!result.acquired) throw new Error(`expected to acquire, held by ${result.holder}`);
    return result.lease;
  }

  it('gives a partition to one worker at a time, with a token that grows on every new tenure', async () => {
    const one = partitionLeases(redis.client, keys, 'worker-1', 60_000);
    const two = partitionLeases(redis.client, keys, 'worker-2', 60_000);
    const first = await acquired(one, 0);
    const refused = await two.acquire(0);
    expect(refused).toMatchObject({ acquired: false, holder: first.value });
    expect(first.value).toBe(`${first.token}:${one.holder}`);
    expect(await one.renew([first])).toEqual([]);

    expect(await two.release({ ...first, workerId: 'worker-2', value: `${first.token}:${two.holder}` })).toBe(false);
    expect(await one.release(first)).toBe(true);
    const second = await acquired(two, 0);
    expect(second.token).toBeGreaterThan(first.token);
    // The old holder cannot renew or release what it no longer holds.
    expect(await one.renew([first])).toEqual([first]);
    expect(await one.release(first)).toBe(false);
  });

  it('tells incarnations of one worker id apart: refused while the other holds it, a new token on every acquisition', async () => {
    const first = partitionLeases(redis.client, keys, 'same-id', 60_000, 'aaaaaa');
    const second = partitionLeases(redis.client, keys, 'same-id', 60_000, 'bbbbbb');
    const lease = await acquired(first, 7);
    expect(parseLeaseValue(lease.value)).toEqual({ token: lease.token, workerId: 'same-id', incarnation: 'aaaaaa' });
    // Same worker id, another process: neither acquired, renewed nor released under.
    expect(await second.acquire(7)).toMatchObject({ acquired: false, holder: lease.value });
    const forged = { ...lease, incarnation: 'bbbbbb', value: leaseValue('same-id', 'bbbbbb', lease.token) };
    expect(await second.renew([forged])).toEqual([forged]);
    expect(await second.release(forged)).toBe(false);
    expect(await redis.client.get(keys.partitionLease(7))).toBe(lease.value);
    // The holder acquiring again (it lost track of its tenure) starts a new tenure: a new token.
    const again = await acquired(first, 7);
    expect(again.token).toBeGreaterThan(lease.token);
    expect(await first.renew([lease])).toEqual([lease]);
    expect(await first.release(again)).toBe(true);
    const other = await acquired(second, 7);
    expect(other.token).toBeGreaterThan(again.token);
  });

  it('refuses a fence claim with an equal token from another incarnation (a token handed out twice)', async () => {
    const partition = 8;
    expect(await claimFence(database.knex, { partition, token: 3, owner: 'same-id:aaaaaa', lockTimeoutMs: 1000 })).toEqual({ claimed: true, token: 3 });
    // A retried claim of the same tenure is fine ...
    expect(await claimFence(database.knex, { partition, token: 3, owner: 'same-id:aaaaaa', lockTimeoutMs: 1000 })).toEqual({ claimed: true, token: 3 });
    // ... the same token from another process is not, and cannot commit either way.
    expect(await claimFence(database.knex, { partition, token: 3, owner: 'same-id:bbbbbb', lockTimeoutMs: 1000 })).toEqual({ claimed: false, token: 3 });
    expect(await claimFence(database.knex, { partition, token: 4, owner: 'same-id:bbbbbb', lockTimeoutMs: 1000 })).toEqual({ claimed: true, token: 4 });
    const stale = database.knex.transaction((tx) => beginFencedCommit(tx, { partition, token: 3, userId: 'twin-user', idleTimeoutMs: 5000 }));
    await expect(stale).rejects.toBeInstanceOf(FencedError);
  });

  it('expires a lease nobody renews, and the next holder gets a higher token', async () => {
    // A TTL long enough that a loaded machine cannot let it lapse between the two calls below;
    // then the second worker simply keeps trying until the unrenewed lease has expired.
    const one = partitionLeases(redis.client, keys, 'worker-1', 1_500);
    const two = partitionLeases(redis.client, keys, 'worker-2', 1_500);
    const first = await acquired(one, 1);
    expect((await two.acquire(1)).acquired).toBe(false);
    let second: Lease | undefined;
    for (let attempt = 0; !second && attempt < 200; attempt++) {
      const result = await two.acquire(1);
      if (result.acquired) second = result.lease;
      else await new Promise((r) => setTimeout(r, 50));
    }
    expect(second?.token).toBe(first.token + 1);
  });

  it('draws tokens above the floor Postgres has seen when the Redis counter was lost', async () => {
    const one = partitionLeases(redis.client, keys, 'worker-1', 60_000);
    const lease = await acquired(one, 2);
    await one.release(lease);
    await redis.client.del(keys.partitionFence(2));
    expect((await acquired(one, 2, 41)).token).toBe(42);
  });

  it('refuses reads and claims to a worker whose lease is gone (the read itself is fenced)', async () => {
    const stream = keys.partitionStream(3);
    await ensureConsumerGroup(redis.client, stream);
    await redis.client.xadd(stream, '*', ENVELOPE_FIELD, '{}');
    const one = partitionLeases(redis.client, keys, 'worker-1', 60_000);
    const lease = await acquired(one, 3);
    const reader = groupReader(redis.client, {
      stream,
      leaseKey: keys.partitionLease(3),
      leaseValue: lease.value,
      consumer: 'worker-1',
    });
    expect((await reader.readNew(10)).entries).toHaveLength(1);
    await one.release(lease);
    await redis.client.xadd(stream, '*', ENVELOPE_FIELD, '{}');
    await expect(reader.readNew(10)).rejects.toBeInstanceOf(LeaseLostError);
    await expect(reader.readPending('0', 10)).rejects.toBeInstanceOf(LeaseLostError);
    await expect(reader.claimAllPending()).rejects.toBeInstanceOf(LeaseLostError);

    // The next holder claims what the old one had in flight, and reads the rest.
    const two = partitionLeases(redis.client, keys, 'worker-2', 60_000);
    const next = await acquired(two, 3);
    const nextReader = groupReader(redis.client, {
      stream,
      leaseKey: keys.partitionLease(3),
      leaseValue: next.value,
      consumer: 'worker-2',
    });
    expect(await nextReader.claimAllPending()).toBe(1);
    expect(await nextReader.readPending('0', 10)).toHaveLength(1);
    expect((await nextReader.readNew(10)).entries).toHaveLength(1);
  });

  it('rolls back the commit of a holder whose token was superseded in Postgres', async () => {
    const partition = 5;
    expect(await claimFence(database.knex, { partition, token: 7, owner: 'worker-1', lockTimeoutMs: 1000 })).toEqual({ claimed: true, token: 7 });
    const commit = (token: number, ms: number) =>
      database.knex.transaction(async (tx) => {
        await beginFencedCommit(tx, { partition, token, userId: 'fenced-user', idleTimeoutMs: 5000 });
        await advanceCheckpoint(tx, { userId: 'fenced-user', partition, id: { ms, seq: 0 }, token });
      });
    await commit(7, 100);
    expect(await claimFence(database.knex, { partition, token: 8, owner: 'worker-2', lockTimeoutMs: 1000 })).toEqual({ claimed: true, token: 8 });

    const stale = commit(7, 200);
    await expect(stale).rejects.toBeInstanceOf(FencedError);
    await expect(stale).rejects.toMatchObject({ token: 7, current: 8 });
    expect(await readCheckpoint(database.knex, 'fenced-user')).toEqual({ ms: 100, seq: 0 });
    // An older token cannot claim the fence back either.
    expect(await claimFence(database.knex, { partition, token: 7, owner: 'worker-1', lockTimeoutMs: 1000 })).toEqual({ claimed: false, token: 8 });

    await commit(8, 300);
    expect(await readCheckpoint(database.knex, 'fenced-user')).toEqual({ ms: 300, seq: 0 });
    // The checkpoint never moves backward.
    await commit(8, 250);
    expect(await readCheckpoint(database.knex, 'fenced-user')).toEqual({ ms: 300, seq: 0 });
  });

  it('makes a new holder\'s fence claim wait for the previous holder\'s commit in flight', async () => {
    const partition = 6;
    await claimFence(database.knex, { partition, token: 1, owner: 'worker-1', lockTimeoutMs: 1000 });
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const order: string[] = [];
    const inFlight = database.knex.transaction(async (tx) => {
      await beginFencedCommit(tx, { partition, token: 1, userId: 'slow-user', idleTimeoutMs: 5000 });
      await held;
      await advanceCheckpoint(tx, { userId: 'slow-user', partition, id: { ms: 1, seq: 0 }, token: 1 });
      order.push('old holder committed');
    });
    await new Promise((r) => setTimeout(r, 50));
    const claim = claimFence(database.knex, { partition, token: 2, owner: 'worker-2', lockTimeoutMs: 5000 }).then((t) => {
      order.push('new holder claimed');
      return t;
    });
    await new Promise((r) => setTimeout(r, 100));
    release();
    await inFlight;
    expect(await claim).toEqual({ claimed: true, token: 2 });
    expect(order).toEqual(['old holder committed', 'new holder claimed']);
  });

  it('lists live workers from their heartbeats and drops the ones that stopped beating', async () => {
    const a = workerMembership(redis.client, keys, 'member-a', 60_000);
    const b = workerMembership(redis.client, keys, 'member-b', 100);
    await b.heartbeat();
    expect(await a.heartbeat()).toEqual(['member-a', 'member-b']);
    await new Promise((r) => setTimeout(r, 200));
    expect(await a.heartbeat()).toEqual(['member-a']);
    await a.leave();
    expect(await b.live()).toEqual([]);
  });
});
