import { randomBytes } from 'node:crypto';
import { execPerSlot, type RedisClient as Redis } from '../src/runtime/redis-client.ts';
import type { StreamKeys } from '../streams/keys.ts';

/**
 * Partition ownership in Redis: a lease key with a TTL, and a fencing token from an INCR counter
 * that only grows. The lease value is `<token>:<workerId>:<incarnation>`; every script compares
 * the whole value, so a worker that lost its lease and got it back later never confuses the two
 * tenures.
 *
 * The holder is an *incarnation*, not a worker id: `WORKER_ID` names a worker in the membership
 * and the consumer group, and two live processes may well be started with the same one (a
 * restarted pod whose predecessor is not quite dead, a copied configuration). Each process draws
 * a random incarnation at start-up, and a lease held by one incarnation is never refreshed,
 * renewed, released or read under by another, whatever their worker ids. Every acquisition draws
 * a new token, even by the incarnation that held the lease last.
 *
 * The lease is advisory; the token is what protects the data. Whoever acquires a lease writes
 * its token to Postgres (`partition_fences`) before it applies anything, and every commit checks
 * it there (checkpoint-store.ts), so a worker that lost its lease cannot commit.
 */

const ACQUIRE = `--[[
  Acquire a partition lease with a new fencing token.
    Input:
      KEYS[1] lease key (string '<token>:<holder>', with a TTL)
      KEYS[2] fencing counter key (INCR only)
      ARGV[1] holder: '<workerId>:<incarnation>'
      ARGV[2] lease TTL in ms
      ARGV[3] token floor: the new token is at least floor + 1 (the highest token Postgres has seen,
              in case the counter was lost with a Redis restart)
    Output:
      {1, token}          acquired, with a token no tenure had before
      {0, value, pttl}    held by another holder (its lease value) for pttl more ms
]]
local current = redis.call('GET', KEYS[1])
if current then
  local sep = string.find(current, ':', 1, true)
  if not sep or string.sub(current, sep + 1) ~= ARGV[1] then
    return {0, current, redis.call('PTTL', KEYS[1])}
  end
  -- Held by this very incarnation, which no longer runs that tenure (it was fenced, or its
  -- release failed): a new tenure, so a new token.
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
  Extend a lease this worker holds; take it back if it expired while nobody else acquired it.
    Input:
      KEYS[1] lease key
      KEYS[2] fencing counter key
      ARGV[1] expected lease value '<token>:<workerId>:<incarnation>'
      ARGV[2] lease TTL in ms
      ARGV[3] the lease's token
    Output:
      1 renewed; 0 the lease belongs to someone else, or someone acquired it since (the holder must stop)
]]
local current = redis.call('GET', KEYS[1])
if current == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
-- Expired (the holder's event loop or its Redis link stalled past the TTL) and no acquire since:
-- every acquire draws a new token from the counter, so a counter still at our token means no other
-- tenure began, nothing was committed under another token, and ours is still the newest.
if not current and tonumber(redis.call('GET', KEYS[2]) or '0') == tonumber(ARGV[3]) then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
`;

const RELEASE = `--[[
  Give a lease up (graceful hand-over), only if still held with this token.
    Input:
      KEYS[1] lease key
      ARGV[1] expected lease value '<token>:<workerId>:<incarnation>'
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

/**
 * The lease scripts, each with its one key count. A connection defines a command once by name, so
 * every lease on it (partitions, the market's) shares these definitions: a name is never defined
 * with another count (one lease calling with one key where the other defined two broke renewals).
 */
const SCRIPTS = {
  fsLeaseAcquire: { lua: ACQUIRE, numberOfKeys: 2 },
  fsLeaseRenew: { lua: RENEW, numberOfKeys: 2 },
  fsLeaseRelease: { lua: RELEASE, numberOfKeys: 1 },
} as const;

function script(redis: Redis, name: keyof typeof SCRIPTS): ScriptFn {
  const client = redis as unknown as Record<string, ScriptFn | undefined>;
  if (typeof client[name] !== 'function') redis.defineCommand(name, SCRIPTS[name]);
  return (...args) => (client[name] as ScriptFn).apply(redis, args);
}

export interface Lease {
  partition: number;
  /** The configured worker id (consumer name); not unique across processes. */
  workerId: string;
  /** The process incarnation holding the lease: unique per runtime start. */
  incarnation: string;
  token: number;
  /** The lease key's value while this tenure lasts. */
  value: string;
}

export type AcquireResult =
  | { acquired: true; lease: Lease }
  | { acquired: false; holder: string; ttlMs: number };

/** A new random incarnation id (one per runtime start). */
export function newIncarnation(): string {
  return randomBytes(6).toString('hex');
}

/** Who holds a lease: the worker id and the incarnation, `<workerId>:<incarnation>`. */
export function leaseHolder(workerId: string, incarnation: string): string {
  return `${workerId}:${incarnation}`;
}

export function leaseValue(workerId: string, incarnation: string, token: number): string {
  return `${token}:${leaseHolder(workerId, incarnation)}`;
}

/**
 * Parses a lease key's value into its token, worker id and incarnation. The incarnation is what
 * follows the last `:` (a hex id), so a worker id may contain `:` itself.
 */
export function parseLeaseValue(value: string): { token: number; workerId: string; incarnation: string } {
  const sep = value.indexOf(':');
  const holder = value.slice(sep + 1);
  const last = holder.lastIndexOf(':');
  return {
    token: Number(value.slice(0, sep)),
    workerId: last < 0 ? holder : holder.slice(0, last),
    incarnation: last < 0 ? '' : holder.slice(last + 1),
  };
}

export interface PartitionLeases {
  /** This holder: `<workerId>:<incarnation>`. */
  readonly holder: string;
  acquire(partition: number, tokenFloor?: number): Promise<AcquireResult>;
  /**
   * Renews several leases in one round trip; returns the partitions whose lease is gone. A lease
   * that expired because this holder could not renew in time (a stalled event loop) is taken back
   * with the same token when no one acquired the partition meanwhile: a stall costs ownership only
   * when another worker took it over, and then the fence stops this one from committing.
   */
  renew(leases: Lease[]): Promise<Lease[]>;
  release(lease: Lease): Promise<boolean>;
  /** Who holds each partition now (tests, admin). */
  holders(partitionCount: number): Promise<(string | null)[]>;
}

/**
 * The leases of one holder. `incarnation` identifies the process (the runtime draws one at
 * start-up); the default draws a new one, so two calls are two holders even with one worker id.
 */
export function partitionLeases(
  redis: Redis,
  keys: StreamKeys,
  workerId: string,
  ttlMs: number,
  incarnation: string = newIncarnation(),
): PartitionLeases {
  const holder = leaseHolder(workerId, incarnation);
  const acquire = script(redis, 'fsLeaseAcquire');
  script(redis, 'fsLeaseRenew');
  const release = script(redis, 'fsLeaseRelease');
  return {
    holder,
    async acquire(partition, tokenFloor = 0) {
      const reply = (await acquire(
        keys.partitionLease(partition),
        keys.partitionFence(partition),
        holder,
        ttlMs,
        tokenFloor,
      )) as [number, number | string, number?];
      if (reply[0] === 1) {
        const token = Number(reply[1]);
        return { acquired: true, lease: { partition, workerId, incarnation, token, value: leaseValue(workerId, incarnation, token) } };
      }
      return { acquired: false, holder: String(reply[1]), ttlMs: Number(reply[2]) };
    },
    async renew(leases) {
      if (leases.length === 0) return [];
      // Each lease has its own hash tag: one pipeline per slot (per node on a cluster).
      const replies = await execPerSlot(redis, leases, (lease) => keys.partitionLease(lease.partition), (pipeline, lease) =>
        (pipeline as unknown as Record<string, (...args: (string | number)[]) => unknown>).fsLeaseRenew!(keys.partitionLease(lease.partition), keys.partitionFence(lease.partition), lease.value, ttlMs, lease.token),
      );
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
      // Each lease has its own hash tag: one pipeline per slot (per node on a cluster).
      const replies = await execPerSlot(redis, names, (name) => name, (pipeline, name) => pipeline.get(name));
      return replies.map(([err, value]) => {
        if (err) throw err;
        return (value as string | null) ?? null;
      });
    },
  };
}

/** One lease held through the scripts above: a tenure's token and its lease value. */
export type SingleLeaseResult =
  | { acquired: true; token: number; value: string }
  | { acquired: false; holder: string; ttlMs: number };

export interface SingleLease {
  /** `<workerId>:<incarnation>`. */
  readonly holder: string;
  acquire(tokenFloor?: number): Promise<SingleLeaseResult>;
  /** True while the lease still holds `value` (and now for `ttlMs` more). */
  renew(value: string): Promise<boolean>;
  release(value: string): Promise<boolean>;
}

/**
 * A lease other than a partition's (the market role's data connection), on the same scripts:
 * `leaseKey` with a TTL, `fenceKey` an INCR-only counter in the same hash slot, one new token per
 * tenure, never renewed or released by another incarnation.
 */
export function singleLease(redis: Redis, leaseKey: string, fenceKey: string, workerId: string, ttlMs: number, incarnation: string = newIncarnation()): SingleLease {
  const holder = leaseHolder(workerId, incarnation);
  const acquire = script(redis, 'fsLeaseAcquire');
  const renew = script(redis, 'fsLeaseRenew');
  const release = script(redis, 'fsLeaseRelease');
  return {
    holder,
    async acquire(tokenFloor = 0) {
      const reply = (await acquire(leaseKey, fenceKey, holder, ttlMs, tokenFloor)) as [number, number | string, number?];
      if (reply[0] === 1) {
        const token = Number(reply[1]);
        return { acquired: true, token, value: leaseValue(workerId, incarnation, token) };
      }
      return { acquired: false, holder: String(reply[1]), ttlMs: Number(reply[2]) };
    },
    renew: async (value) => (await renew(leaseKey, fenceKey, value, ttlMs, parseLeaseValue(value).token)) === 1,
    release: async (value) => (await release(leaseKey, value)) === 1,
  };
}
