import type { Logger } from '../src/logging/logger.ts';
import type { Membership } from './membership.ts';
import type { Lease, PartitionLeases } from './partition-lease.ts';

/** 32-bit FNV-1a with a murmur3 finaliser: short strings that differ by one character spread well. */
function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * The desired owner of every partition, given the live workers: an even split (counts differ by
 * at most one) that every worker computes identically from the same list. Each partition prefers
 * workers in rendezvous-hash order, so when a worker joins or leaves mostly the partitions that
 * must move do move, instead of the reshuffle a round-robin would cause.
 */
export function assignPartitions(partitionCount: number, workers: readonly string[]): Map<string, number[]> {
  const sorted = [...new Set(workers)].sort();
  const assignment = new Map<string, number[]>(sorted.map((w) => [w, []]));
  if (sorted.length === 0) return assignment;
  const base = Math.floor(partitionCount / sorted.length);
  let extraLeft = partitionCount % sorted.length;
  for (let p = 0; p < partitionCount; p++) {
    const ranked = sorted
      .map((w) => ({ w, score: hash32(`${w}/${p}`) }))
      .sort((a, b) => b.score - a.score || (a.w < b.w ? -1 : 1));
    for (const { w } of ranked) {
      const owned = assignment.get(w)!;
      if (owned.length < base) {
        owned.push(p);
        break;
      }
      if (owned.length === base && extraLeft > 0) {
        owned.push(p);
        extraLeft--;
        break;
      }
    }
  }
  return assignment;
}

/** What the rebalancer drives: the runtime's partition workers. */
export interface PartitionOwner {
  /** Partitions this worker holds a lease on, including those draining before release. */
  leases(): Lease[];
  /** Partitions being started or drained: not to be acquired or released again meanwhile. */
  busy(partition: number): boolean;
  /**
   * A lease was acquired: start reading the partition. False when the owner will not take it
   * (it is stopping, or already runs the partition); the rebalancer then releases the lease.
   */
  start(lease: Lease): boolean;
  /** The lease is gone (expired, taken): stop at once, commit nothing more. */
  lost(lease: Lease): void;
  /** Hand the partition over: stop reading, finish in-flight work, release the lease. */
  handOver(partition: number): Promise<void>;
}

export interface RebalancerOptions {
  workerId: string;
  partitionCount: number;
  membership: Membership;
  leases: PartitionLeases;
  owner: PartitionOwner;
  /** Heartbeat, renewal and rebalance period (a third of the lease TTL). */
  intervalMs: number;
  /** Highest token Postgres holds per partition, used as the acquire floor. */
  tokenFloor(partition: number): number;
  log: Logger;
}

export interface Rebalancer {
  /** Runs one heartbeat/renew/rebalance round now (the loop also runs it every interval). */
  tick(): Promise<void>;
  /**
   * Shutdown: from now on every round hands all partitions over (and keeps renewing them while
   * they drain) instead of heartbeating and acquiring.
   */
  leave(): void;
  /** Stops the loop (does not release anything). */
  stop(): Promise<void>;
  /** The live workers seen by the last heartbeat. */
  liveWorkers(): string[];
}

/**
 * The ownership loop: every interval it heartbeats, renews held leases (a lease that cannot be
 * renewed is lost at once), computes the desired assignment and acquires or hands over the
 * difference. A partition still held by another worker is simply retried next round: it is
 * released by a graceful hand-over or expires with its dead holder.
 */
export function startRebalancer(options: RebalancerOptions): Rebalancer {
  const { owner, leases, log } = options;
  let live: string[] = [];
  let stopped = false;
  let leaving = false;
  let running: Promise<void> | undefined;
  let rerun = false;

  async function round(): Promise<void> {
    if (!leaving) live = await options.membership.heartbeat();

    const held = owner.leases();
    let lostLeases: Lease[] = [];
    try {
      lostLeases = await leases.renew(held);
    } catch (err) {
      log.warn({ err }, 'lease renewal failed; retrying next round');
    }
    for (const lease of lostLeases) {
      log.warn({ partition: lease.partition, fencingToken: lease.token }, 'partition lease lost');
      owner.lost(lease);
    }

    const desired = new Set(leaving ? [] : (assignPartitions(options.partitionCount, live).get(options.workerId) ?? []));
    const ownedNow = new Set(owner.leases().map((l) => l.partition));
    for (const partition of ownedNow) {
      if (!desired.has(partition) && !owner.busy(partition)) {
        log.info({ partition }, 'handing partition over');
        owner.handOver(partition).catch((err: unknown) => log.error({ err, partition }, 'hand-over failed'));
      }
    }
    const wanted = [...desired].filter((p) => !ownedNow.has(p) && !owner.busy(p));
    const results = await Promise.allSettled(wanted.map((p) => leases.acquire(p, options.tokenFloor(p))));
    for (let i = 0; i < wanted.length; i++) {
      const result = results[i]!;
      if (result.status === 'rejected') {
        log.warn({ err: result.reason, partition: wanted[i] }, 'lease acquire failed');
        continue;
      }
      if (!result.value.acquired) continue;
      const lease = result.value.lease;
      // An acquire that was in flight when the worker began to leave (or stop) must not keep the
      // lease: nobody would run the partition and the others would wait a lease time for it.
      if (leaving || stopped || !owner.start(lease)) {
        await leases.release(lease).catch((err: unknown) => log.warn({ err, partition: lease.partition }, 'lease release failed'));
      }
    }
  }

  async function tick(): Promise<void> {
    if (running) {
      rerun = true;
      return running;
    }
    running = (async () => {
      do {
        rerun = false;
        try {
          await round();
        } catch (err) {
          log.warn({ err }, 'rebalance round failed');
        }
      } while (rerun && !stopped);
    })().finally(() => {
      running = undefined;
    });
    return running;
  }

  const timer = setInterval(() => void tick(), options.intervalMs);
  return {
    tick,
    liveWorkers: () => live,
    leave() {
      leaving = true;
    },
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}
