import type { RedisClient as Redis } from '../runtime/redis-client.ts';
import type { Knex } from '../db/knex.ts';
import type { Logger } from '../logging/logger.ts';
import {
  emptyProjection,
  fromSnapshot,
  toSnapshot,
  type PortfolioProjection,
  type ProjectionFacts,
} from '../../actors/portfolio/portfolio-projection.ts';
import { ENVELOPE_FIELD } from '../../streams/envelope.ts';
import { CONSUMER_GROUP, type StreamKeys } from '../../streams/keys.ts';
import { streamBufferPages } from '../../streams/replay.ts';
import { PartitionFold } from './partition-fold.ts';
import { compareStreamIds } from '../../streams/stream-id.ts';
import { userHash } from '../users/user-hash.ts';
import {
  allSnapshotRefs,
  appendSnapshot,
  forgetSnapshots,
  maintenanceKey,
  readSnapshot,
  trimmedBelowKey,
  type SnapshotRef,
} from '../../streams/snapshots.ts';

/**
 * Keeps partition streams bounded by users, not by time. Each pass over a partition:
 *
 * 1. Follows the stream from its cursor and counts, per user, the events since their last
 *    snapshot and when the first of them came (`fs:{p<n>}:maintenance`, hash: `cursor`, and
 *    `n:<user>` / `t:<user>` per user with events since their snapshot).
 * 2. Writes a snapshot (the user's projection folded from the stream with the actor's pure fold,
 *    up to the user's applied checkpoint) for every user with `SNAPSHOT_EVERY_EVENTS` events since
 *    their last one, or whose oldest such event is older than `SNAPSHOT_EVERY_MS`, and for every
 *    user who would otherwise hold the trim: entries older than the retention that their latest
 *    snapshot does not cover, or a latest snapshot that is itself older than the retention (an
 *    idle user gets a fresh copy of it at the tail).
 * 3. Trims (`XTRIM MINID`) below the retention cut, lowered to the oldest entry the consumer group
 *    has pending or not yet delivered, and to the oldest entry of any user still not covered.
 *
 * After a pass, every entry older than the retention is covered by a snapshot younger than it,
 * so the stream holds at most the retention window of events plus one snapshot per user. A lock
 * per partition (`fs:{p<n>}:maintenance:lock`, SET NX PX) keeps two workers out of one pass.
 */
export interface StreamMaintenanceOptions {
  redis: Redis;
  db: Knex;
  keys: StreamKeys;
  partitionCount: number;
  snapshotEveryEvents: number;
  snapshotEveryMs: number;
  retentionMs: number;
  log: Logger;
  now?: () => number;
}

export interface PassResult {
  partition: number;
  snapshots: number;
  trimmed: number;
  /** The MINID the stream was trimmed to, when it was. */
  cut: string | null;
}

const lockKey = (keys: StreamKeys, p: number) => `${keys.namespace}:{p${p}}:maintenance:lock`;
const PAGE = 1000;

const msOf = (id: string) => Number(id.slice(0, id.indexOf('-')));
const minId = (a: string, b: string) => (compareStreamIds(a, b) <= 0 ? a : b);

function userOf(raw: string): { user: string; type: string } | null {
  try {
    const parsed = JSON.parse(raw) as { user?: unknown; type?: unknown };
    return typeof parsed.user === 'string' && typeof parsed.type === 'string' ? { user: parsed.user, type: parsed.type } : null;
  } catch {
    return null;
  }
}

/** The oldest id the consumer group still needs: its oldest pending entry, or the first not delivered. */
async function groupFloor(redis: Redis, stream: string): Promise<string | null> {
  let groups: unknown[][];
  try {
    groups = (await redis.xinfo('GROUPS', stream)) as unknown[][];
  } catch {
    return null;
  }
  const group = groups.find((g) => g[g.indexOf('name') + 1] === CONSUMER_GROUP);
  if (!group) return null;
  const lastDelivered = String(group[group.indexOf('last-delivered-id') + 1]);
  const summary = (await redis.xpending(stream, CONSUMER_GROUP)) as [number, string | null, string | null, unknown];
  // Entries after the last delivered one are not delivered yet: the floor is just above it.
  const [ms, seq] = lastDelivered.split('-').map(Number) as [number, number];
  const undelivered = `${ms}-${seq + 1}`;
  return summary[0] > 0 && summary[1] ? minId(summary[1], undelivered) : undelivered;
}

/**
 * Folds the given users from their latest snapshots (or the start), each up to its limit, in one
 * pass over the partition. Events the fold cannot apply are skipped (the actor parked them).
 */
export async function foldUsers(
  redis: Redis,
  keys: StreamKeys,
  partition: number,
  limits: ReadonlyMap<string, string>,
  refs: ReadonlyMap<string, SnapshotRef>,
  factsOf: (user: string) => ProjectionFacts = () => ({}),
): Promise<Map<string, PortfolioProjection>> {
  const states = new Map<string, PortfolioProjection>();
  let start: string | null = null;
  for (const user of limits.keys()) {
    const ref = refs.get(user);
    const snapshot = ref ? await readSnapshot(redis, keys, partition, ref) : null;
    const state = snapshot ? fromSnapshot(snapshot) : emptyProjection(user);
    states.set(user, state);
    const from = state.lastStreamId ?? '0-0';
    start = start === null ? from : minId(start, from);
  }
  if (start === null) return states;
  let end = '0-0';
  for (const limit of limits.values()) if (compareStreamIds(limit, end) > 0) end = limit;
  const fold = new PartitionFold(states, { limits, factsOf });
  // Buffers, as `rebuildPartition` reads them: sync results kept until `settle` stay off the heap.
  for await (const page of streamBufferPages(redis, keys.partitionStream(partition), `(${start}`, end, PAGE)) fold.page(page);
  return fold.finish();
}

export async function maintainPartition(options: StreamMaintenanceOptions, partition: number): Promise<PassResult> {
  const { redis, db, keys } = options;
  const now = (options.now ?? Date.now)();
  const stream = keys.partitionStream(partition);
  const state = maintenanceKey(keys, partition);
  const result: PassResult = { partition, snapshots: 0, trimmed: 0, cut: null };

  // 1. Count new events per user since the cursor.
  let cursor = (await redis.hget(state, 'cursor')) ?? '0-0';
  const counts = new Map<string, number>();
  const firsts = new Map<string, number>();
  for (;;) {
    const page = await redis.xrange(stream, `(${cursor}`, '+', 'COUNT', PAGE);
    for (const [id, fields] of page) {
      const head = userOf(fields[fields.indexOf(ENVELOPE_FIELD) + 1] ?? '');
      if (!head || head.type === 'snapshot') continue;
      counts.set(head.user, (counts.get(head.user) ?? 0) + 1);
      if (!firsts.has(head.user)) firsts.set(head.user, msOf(id));
    }
    if (page.length === 0) break;
    cursor = page[page.length - 1]![0];
    if (page.length < PAGE) break;
  }
  if (counts.size) {
    const pipeline = redis.multi();
    for (const [user, n] of counts) {
      pipeline.hincrby(state, `n:${user}`, n);
      pipeline.hsetnx(state, `t:${user}`, String(firsts.get(user)!));
    }
    pipeline.hset(state, 'cursor', cursor);
    await pipeline.exec();
  } else {
    await redis.hset(state, 'cursor', cursor);
  }

  // 2. Who needs a snapshot.
  const tracked = await redis.hgetall(state);
  const due = new Set<string>();
  for (const [field, value] of Object.entries(tracked)) {
    if (field.startsWith('n:') && Number(value) >= options.snapshotEveryEvents) due.add(field.slice(2));
    if (field.startsWith('t:') && now - Number(value) >= options.snapshotEveryMs) due.add(field.slice(2));
  }
  let cut = `${Math.max(0, now - options.retentionMs)}-0`;
  const floor = await groupFloor(redis, stream);
  if (floor) cut = minId(cut, floor);
  const refs = await allSnapshotRefs(redis, keys, partition);
  // Users with entries below the cut (snapshots included), and their last event there.
  const holders = new Set<string>();
  const below = new Map<string, string>();
  for (let from = '-'; ; ) {
    const page = await redis.xrange(stream, from, `(${cut}`, 'COUNT', PAGE);
    for (const [id, fields] of page) {
      const head = userOf(fields[fields.indexOf(ENVELOPE_FIELD) + 1] ?? '');
      if (!head) continue;
      holders.add(head.user);
      if (head.type !== 'snapshot') below.set(head.user, id);
    }
    if (page.length < PAGE) break;
    from = `(${page[page.length - 1]![0]}`;
  }
  /** The user's entries below the cut may go: a snapshot above the cut covers their events. */
  const covered = (user: string): boolean => {
    const ref = refs.get(user);
    if (!ref || compareStreamIds(ref.id, cut) < 0) return false;
    const last = below.get(user);
    return last === undefined || (ref.covers !== null && compareStreamIds(ref.covers, last) >= 0);
  };
  for (const user of holders) if (!covered(user)) due.add(user);

  if (due.size) {
    // A snapshot covers only what the user's actor applied: a replay up to a later event can
    // always start from it.
    const rows = (await db('actor_checkpoints').whereIn('user_id', [...due]).select('user_id', 'last_stream_id')) as { user_id: string; last_stream_id: string }[];
    const limits = new Map(rows.map((r) => [r.user_id, r.last_stream_id]));
    // A user deleted here gets no snapshot (it would keep their id in the stream): forgotten.
    const live = new Set((await db('users').whereIn('id', [...limits.keys()]).pluck('id')) as string[]);
    const tombstoned = new Set((await db('deleted_users').whereIn('user_hash', [...limits.keys()].map(userHash)).pluck('user_hash')) as string[]);
    for (const user of [...limits.keys()]) {
      if (!live.has(user) && tombstoned.has(userHash(user))) {
        limits.delete(user);
        await forgetSnapshots(redis, keys, partition, user);
      }
    }
    const folded = await foldUsers(redis, keys, partition, limits, refs);
    for (const [user, projection] of folded) {
      const id = await appendSnapshot(redis, keys, partition, toSnapshot(projection));
      refs.set(user, { id, covers: projection.lastStreamId });
      result.snapshots++;
      await redis.hdel(state, `n:${user}`, `t:${user}`);
    }
  }

  // 3. Trim below the cut, lowered to the oldest entry of a user still not covered (no
  // checkpoint to snapshot up to, say).
  for (const user of holders) {
    if (covered(user)) continue;
    const needle = JSON.stringify(user);
    for (let from = '-'; ; ) {
      const page = await redis.xrange(stream, from, `(${cut}`, 'COUNT', PAGE);
      const hit = page.find(([, fields]) => (fields[fields.indexOf(ENVELOPE_FIELD) + 1] ?? '').includes(needle));
      if (hit) {
        cut = hit[0];
        break;
      }
      if (page.length < PAGE) break;
      from = `(${page[page.length - 1]![0]}`;
    }
  }
  if (compareStreamIds(cut, '0-1') > 0) {
    const trimmed = Number(await redis.xtrim(stream, 'MINID', cut));
    if (trimmed > 0) {
      result.trimmed = trimmed;
      result.cut = cut;
      await redis.set(trimmedBelowKey(keys, partition), cut);
    }
  }
  return result;
}

/** Runs a pass over every partition every `intervalMs` (one worker per partition at a time). */
export function startStreamMaintenance(options: StreamMaintenanceOptions & { intervalMs: number }): { stop(): Promise<void> } {
  let stopped = false;
  let running: Promise<void> = Promise.resolve();
  const pass = async () => {
    for (let p = 0; p < options.partitionCount && !stopped; p++) {
      const locked = await options.redis.set(lockKey(options.keys, p), '1', 'PX', options.intervalMs, 'NX');
      if (!locked) continue;
      try {
        const result = await maintainPartition(options, p);
        if (result.snapshots || result.trimmed) options.log.info(result, 'stream maintenance');
      } catch (err) {
        options.log.warn({ err, partition: p }, 'stream maintenance failed; next pass retries');
      }
    }
  };
  const timer = setInterval(() => {
    running = running.then(pass);
  }, options.intervalMs);
  timer.unref();
  return {
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}
