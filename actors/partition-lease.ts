import type { Redis } from 'ioredis';
import type { StreamKeys } from '../streams/keys.ts';

/**
 * Partition ownership in Redis: a lease key with a TTL, and a fencing token from an INCR counter
 * that only grows. The lease value is `<token>:<workerId>`; every script compares the whole value,
 * so a worker that lost its lease and got it back later never confuses the two tenures.
 *
 * The lease is advisory; the token is what protects the data. Whoever acquires a lease writes
 * its token to Postgres (`partition_fences`) before it applies anything, and every commit checks
 * it there (checkpoint-store.ts), so a worker that lost its lease cannot commit.
 */

const ACQUIRE = `--[[
  Acquire a partition lease, or refresh it when this worker already holds it.
    Input:
      KEYS[1] lease key (string '<token>:<workerId>', with a TTL)
      KEYS[2] fencing counter key (INCR only)
      ARGV[1] worker id
      ARGV[2] lease TTL in ms
      ARGV[3] token floor: the new token is at least floor + 1 (the highest token Postgres has seen,
              in case the counter was lost with a Redis restart)
    Output:
      {1, token}          acquired (a fresh token) or already held by this worker (same token)
      {0, holder, pttl}   held by another worker ('<token>:<workerId>') for pttl more ms
]]
local current = redis.call('GET', KEYS[1])
if current then
  local sep = string.find(current, ':', 1, true)
  if string.sub(current, sep + 1) == ARGV[1] then
    redis.call('PEXPIRE', KEYS[1], ARGV[2])
    return {1, tonumber(string.sub(current, 1, sep - 1))}
  end
  return {0, current, redis.call('PTTL', KEYS[1])}
end
local token = redis.call('INCR', KEYS[2])
local floor = tonumber(ARGV[3])
if token <= floor then
  token = floor + 1
  redis.call('SET', KEYS[2], token)
end
redis.call('SET', KEYS[1], token .. ':' .. ARGV[1], 'PX', ARGV[2])
return {1, token}
`;

const RENEW = `--[[
  Extend a lease this worker holds.
    Input:
      KEYS[1] lease key
      ARGV[1] expected lease value '<token>:<workerId>'
      ARGV[2] lease TTL in ms
    Output:
      1 renewed; 0 the lease expired or belongs to someone else (the holder must stop)
]]
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
`;

const RELEASE = `--[[
  Give a lease up (graceful hand-over), only if still held with this token.
    Input:
      KEYS[1] lease key
      ARGV[1] expected lease value '<token>:<workerId>'
    Output:
      1 released; 0 it was not ours any more
]]
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
`;

type ScriptFn = (...args: (string | number)[]) => Promise<unknown>;

function script(redis: Redis, name: string, lua: string, numberOfKeys: number): ScriptFn {
  const client = redis as unknown as Record<string, ScriptFn | undefined>;
  if (typeof client[name] !== 'function') redis.defineCommand(name, { lua, numberOfKeys });
  return (...args) => (client[name] as ScriptFn).apply(redis, args);
}

export interface Lease {
  partition: number;
  workerId: string;
  token: number;
  /** The lease key's value while this tenure lasts. */
  value: string;
}

export type AcquireResult =
  | { acquired: true; lease: Lease }
  | { acquired: false; holder: string; ttlMs: number };

export function leaseValue(workerId: string, token: number): string {
  return `${token}:${workerId}`;
}

/** Parses a lease key's value into its token and holder. */
export function parseLeaseValue(value: string): { token: number; workerId: string } {
  const sep = value.indexOf(':');
  return { token: Number(value.slice(0, sep)), workerId: value.slice(sep + 1) };
}

export interface PartitionLeases {
  acquire(partition: number, tokenFloor?: number): Promise<AcquireResult>;
  /** Renews several leases in one round trip; returns the partitions whose lease is gone. */
  renew(leases: Lease[]): Promise<Lease[]>;
  release(lease: Lease): Promise<boolean>;
  /** Who holds each partition now (tests, admin). */
  holders(partitionCount: number): Promise<(string | null)[]>;
}

export function partitionLeases(redis: Redis, keys: StreamKeys, workerId: string, ttlMs: number): PartitionLeases {
  const acquire = script(redis, 'fsLeaseAcquire', ACQUIRE, 2);
  script(redis, 'fsLeaseRenew', RENEW, 1);
  const release = script(redis, 'fsLeaseRelease', RELEASE, 1);
  return {
    async acquire(partition, tokenFloor = 0) {
      const reply = (await acquire(
        keys.partitionLease(partition),
        keys.partitionFence(partition),
        workerId,
        ttlMs,
        tokenFloor,
      )) as [number, number | string, number?];
      if (reply[0] === 1) {
        const token = Number(reply[1]);
        return { acquired: true, lease: { partition, workerId, token, value: leaseValue(workerId, token) } };
      }
      return { acquired: false, holder: String(reply[1]), ttlMs: Number(reply[2]) };
    },
    async renew(leases) {
      if (leases.length === 0) return [];
      const pipeline = redis.pipeline();
      const call = pipeline as unknown as Record<string, (...args: (string | number)[]) => unknown>;
      for (const lease of leases) call.fsLeaseRenew!(keys.partitionLease(lease.partition), lease.value, ttlMs);
      const replies = (await pipeline.exec()) ?? [];
      return leases.filter((_, i) => {
        const [err, ok] = replies[i] ?? [new Error('no reply'), 0];
        if (err) throw err;
        return ok !== 1;
      });
    },
    async release(lease) {
      return (await release(keys.partitionLease(lease.partition), lease.value)) === 1;
    },
    async holders(partitionCount) {
      const names = Array.from({ length: partitionCount }, (_, p) => keys.partitionLease(p));
      if (names.length === 0) return [];
      // One key at a time keeps this valid on Redis Cluster (each lease has its own hash tag).
      const pipeline = redis.pipeline();
      for (const name of names) pipeline.get(name);
      const replies = (await pipeline.exec()) ?? [];
      return replies.map(([err, value]) => {
        if (err) throw err;
        return (value as string | null) ?? null;
      });
    },
  };
}
