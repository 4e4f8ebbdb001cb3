import type { RedisClient as Redis } from '../src/runtime/redis-client.ts';
import { ENVELOPE_FIELD } from './envelope.ts';
import { CONSUMER_GROUP } from './keys.ts';

/**
 * Consumer-group plumbing for partition streams. Reads and claims are *fenced*: a Lua script
 * checks that the caller still holds the partition lease before XREADGROUP/XAUTOCLAIM, in the
 * same atomic step. A worker that lost its lease (paused, partitioned away) therefore cannot pull
 * entries into its own pending list after a new owner took over, which would let the new owner
 * read later entries of a user first. Waiting for new entries uses a plain XREAD BLOCK, which
 * has no side effect on the group.
 */

/** One stream entry; `raw` is the envelope JSON, undefined when the entry has no `e` field, null when it was trimmed. */
export interface StreamEntry {
  id: string;
  raw: string | null | undefined;
}

export class LeaseLostError extends Error {
  constructor(readonly stream: string) {
    super(`partition lease lost for ${stream}`);
    this.name = 'LeaseLostError';
  }
}

/**
 * The lease check both scripts open with. The lease is held when the key holds our value, or when
 * it expired (our event loop stalled past the TTL) and the fencing counter is still at our token:
 * nobody acquired since, so ours is still the newest tenure, and the key is set back (the
 * renewal's rule, partition-lease.ts). `token` and `ttl` are the ARGV indexes of the tenure's token
 * ('' = no take-back) and the lease TTL.
 */
const leaseHeld = (token: number, ttl: number) => `local current = redis.call('GET', KEYS[1])
if current ~= ARGV[1] then
  if current or ARGV[${token}] == '' or tonumber(redis.call('GET', KEYS[3]) or '0') ~= tonumber(ARGV[${token}]) then return {-1} end
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[${ttl}])
end`;

const FENCED_READ = `--[[
  XREADGROUP for the lease holder only.
    Input:
      KEYS[1] partition lease key
      KEYS[2] partition stream key
      ARGV[1] expected lease value '<token>:<workerId>'
      ARGV[2] consumer group
      ARGV[3] consumer name
      ARGV[4] COUNT
      ARGV[5] id: '>' for new entries, else read this consumer's pending entries after it
      KEYS[3] partition fencing counter key
      ARGV[6] the tenure's token ('' = the lease key must hold ARGV[1])
      ARGV[7] lease TTL in ms (to set the key back with)
    Output:
      {-1}                        the lease is not held with this value: read nothing
      {1, entries}                entries as XREADGROUP returns them ({id, fields} or {id, false})
      {0, lastId}                 '>' found nothing; lastId is the stream's last entry id ('0-0' if empty)
]]
${leaseHeld(6, 7)}
local r = redis.call('XREADGROUP', 'GROUP', ARGV[2], ARGV[3], 'COUNT', ARGV[4], 'STREAMS', KEYS[2], ARGV[5])
if r and r[1] and #r[1][2] > 0 then return {1, r[1][2]} end
if ARGV[5] ~= '>' then return {1, {}} end
local last = redis.call('XREVRANGE', KEYS[2], '+', '-', 'COUNT', 1)
if last[1] then return {0, last[1][1]} end
return {0, '0-0'}
`;

const FENCED_CLAIM = `--[[
  XAUTOCLAIM for the lease holder only.
    Input:
      KEYS[1] partition lease key
      KEYS[2] partition stream key
      ARGV[1] expected lease value '<token>:<workerId>'
      ARGV[2] consumer group
      ARGV[3] consumer name (the new owner of the claimed entries)
      ARGV[4] min idle time, ms
      ARGV[5] start id
      ARGV[6] COUNT
      ARGV[7] '1' for JUSTID (ids only, delivery counter untouched), '0' for full entries
      KEYS[3] partition fencing counter key
      ARGV[8] the tenure's token ('' = the lease key must hold ARGV[1])
      ARGV[9] lease TTL in ms (to set the key back with)
    Output:
      {-1}                        the lease is not held with this value: claim nothing
      {1, nextStart, claimed}     claimed = ids (JUSTID) or entries; nextStart '0-0' when done
]]
${leaseHeld(8, 9)}
local r
if ARGV[7] == '1' then
  r = redis.call('XAUTOCLAIM', KEYS[2], ARGV[2], ARGV[3], ARGV[4], ARGV[5], 'COUNT', ARGV[6], 'JUSTID')
else
  r = redis.call('XAUTOCLAIM', KEYS[2], ARGV[2], ARGV[3], ARGV[4], ARGV[5], 'COUNT', ARGV[6])
end
return {1, r[1], r[2]}
`;

type ScriptFn = (...args: (string | number)[]) => Promise<unknown>;
type RawEntry = [string, string[] | null];

function defineScripts(redis: Redis): { read: ScriptFn; claim: ScriptFn } {
  const client = redis as unknown as Record<string, ScriptFn | undefined>;
  if (typeof client.fsFencedRead !== 'function') {
    redis.defineCommand('fsFencedRead', { lua: FENCED_READ, numberOfKeys: 3 });
    redis.defineCommand('fsFencedClaim', { lua: FENCED_CLAIM, numberOfKeys: 3 });
  }
  return {
    read: (...args) => client.fsFencedRead!.apply(redis, args),
    claim: (...args) => client.fsFencedClaim!.apply(redis, args),
  };
}

function toEntry([id, fields]: RawEntry): StreamEntry {
  if (!fields) return { id, raw: null };
  for (let i = 0; i + 1 < fields.length; i += 2) {
    if (fields[i] === ENVELOPE_FIELD) return { id, raw: fields[i + 1]! };
  }
  return { id, raw: undefined };
}

/** Creates the group at the start of the stream (and the stream itself); a no-op when it exists. */
export async function ensureConsumerGroup(redis: Redis, stream: string, group = CONSUMER_GROUP): Promise<void> {
  try {
    await redis.xgroup('CREATE', stream, group, '0', 'MKSTREAM');
  } catch (err) {
    if (!(err instanceof Error && err.message.includes('BUSYGROUP'))) throw err;
  }
}

export interface GroupReader {
  readonly stream: string;
  /** New entries (`>`), fenced. `lastId` is the stream's last id when none were new (for `waitForNew`). */
  readNew(count: number): Promise<{ entries: StreamEntry[]; lastId: string }>;
  /** This consumer's pending entries after `afterId` (`0` to start), fenced. */
  readPending(afterId: string, count: number): Promise<StreamEntry[]>;
  /**
   * Moves every pending entry of the group to this consumer (XAUTOCLAIM from `0-0`, min idle 0,
   * ids only). Safe only for the lease holder: the fence stops the previous holder from
   * committing what it still has in flight. Returns how many were claimed.
   */
  claimAllPending(): Promise<number>;
  /** Entries pending for longer than `minIdleMs` with any consumer, moved to this one, fenced. */
  claimStale(minIdleMs: number, count: number): Promise<StreamEntry[]>;
  /** Delivery counts of this consumer's pending entries between two ids. */
  deliveryCounts(fromId: string, toId: string, count: number): Promise<Map<string, number>>;
  ack(ids: readonly string[]): Promise<number>;
}

/**
 * A reader for one partition stream by one consumer, fenced by the lease value it holds.
 * `redis` must be a non-blocking connection (it is shared with other commands).
 */
export function groupReader(
  redis: Redis,
  options: {
    stream: string;
    leaseKey: string;
    leaseValue: string;
    consumer: string;
    group?: string;
    /**
     * Lets a read take back the lease when it expired without anyone acquiring it since (the
     * fencing counter still at `token`), as the lease renewal does; without it, an expired lease
     * is lost.
     */
    takeBack?: { fenceKey: string; token: number; ttlMs: number };
  },
): GroupReader {
  const { stream, leaseKey, leaseValue, consumer } = options;
  const group = options.group ?? CONSUMER_GROUP;
  const defined = defineScripts(redis);
  // Keys first (lease, stream, fence), then the ARGVs, then the take-back's token and TTL.
  const fenceKey = options.takeBack?.fenceKey ?? leaseKey;
  const takeBack = options.takeBack ? [options.takeBack.token, options.takeBack.ttlMs] : ['', 0];
  const scripts = {
    read: (lease: string, key: string, ...args: (string | number)[]) => defined.read(lease, key, fenceKey, ...args, ...takeBack),
    claim: (lease: string, key: string, ...args: (string | number)[]) => defined.claim(lease, key, fenceKey, ...args, ...takeBack),
  };

  return {
    stream,
    async readNew(count) {
      const reply = (await scripts.read(leaseKey, stream, leaseValue, group, consumer, count, '>')) as
        | [-1]
        | [1, RawEntry[]]
        | [0, string];
      if (reply[0] === -1) throw new LeaseLostError(stream);
      if (reply[0] === 0) return { entries: [], lastId: reply[1] };
      const entries = reply[1].map(toEntry);
      return { entries, lastId: entries[entries.length - 1]!.id };
    },
    async readPending(afterId, count) {
      const reply = (await scripts.read(leaseKey, stream, leaseValue, group, consumer, count, afterId)) as
        | [-1]
        | [1, RawEntry[]];
      if (reply[0] === -1) throw new LeaseLostError(stream);
      return reply[1].map(toEntry);
    },
    async claimAllPending() {
      let start = '0-0';
      let claimed = 0;
      do {
        const reply = (await scripts.claim(leaseKey, stream, leaseValue, group, consumer, 0, start, 1000, '1')) as
          | [-1]
          | [1, string, string[]];
        if (reply[0] === -1) throw new LeaseLostError(stream);
        start = reply[1];
        claimed += reply[2].length;
      } while (start !== '0-0');
      return claimed;
    },
    async claimStale(minIdleMs, count) {
      const out: StreamEntry[] = [];
      let start = '0-0';
      do {
        const reply = (await scripts.claim(leaseKey, stream, leaseValue, group, consumer, minIdleMs, start, count, '0')) as
          | [-1]
          | [1, string, RawEntry[]];
        if (reply[0] === -1) throw new LeaseLostError(stream);
        start = reply[1];
        out.push(...reply[2].map(toEntry));
      } while (start !== '0-0' && out.length < count);
      return out;
    },
    async deliveryCounts(fromId, toId, count) {
      const rows = (await redis.xpending(stream, group, fromId, toId, count, consumer)) as [
        string,
        string,
        number,
        number,
      ][];
      return new Map(rows.map(([id, , , deliveries]) => [id, Number(deliveries)]));
    },
    async ack(ids) {
      if (ids.length === 0) return 0;
      return redis.xack(stream, group, ...ids);
    },
  };
}

/**
 * Waits (XREAD BLOCK on a dedicated connection) until the stream has an entry after `afterId`,
 * or `blockMs` passes. No side effect on the consumer group. Returns whether something arrived.
 */
export async function waitForNew(blocking: Redis, stream: string, afterId: string, blockMs: number): Promise<boolean> {
  const reply = await blocking.xread('COUNT', 1, 'BLOCK', blockMs, 'STREAMS', stream, afterId);
  return reply !== null && reply.length > 0;
}

/** Entries of the group not yet delivered (`lag`) and delivered but not acked (`pending`). */
export async function groupBacklog(
  redis: Redis,
  stream: string,
  group = CONSUMER_GROUP,
): Promise<{ pending: number; lag: number | null }> {
  let groups: unknown[];
  try {
    groups = (await redis.xinfo('GROUPS', stream)) as unknown[];
  } catch (err) {
    if (err instanceof Error && err.message.includes('no such key')) return { pending: 0, lag: 0 };
    throw err;
  }
  for (const g of groups) {
    const fields = g as (string | number | null)[];
    const info = new Map<string, string | number | null>();
    for (let i = 0; i + 1 < fields.length; i += 2) info.set(String(fields[i]), fields[i + 1]!);
    if (info.get('name') === group) {
      const lag = info.get('lag');
      return { pending: Number(info.get('pending') ?? 0), lag: lag === null || lag === undefined ? null : Number(lag) };
    }
  }
  return { pending: 0, lag: null };
}
