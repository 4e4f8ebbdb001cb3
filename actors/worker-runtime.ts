import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { createLogger } from '../src/logging/logger.ts';
import type { AppContext } from '../src/runtime/context.ts';
import { partitionOf } from '../streams/partition.ts';
import type { ActorBehavior } from './actor-behavior.ts';
import { ActorRegistry } from './actor-registry.ts';
import { PoolGate } from './pool-gate.ts';
import { readFences } from './checkpoint-store.ts';
import { workerMembership } from './membership.ts';
import { newIncarnation, partitionLeases, type Lease } from './partition-lease.ts';
import { PartitionWorker, type PartitionEnd } from './partition-worker.ts';
import { startRebalancer, type PartitionOwner } from './rebalancer.ts';
import { actorMetrics } from './runtime-metrics.ts';

export interface WorkerRuntimeOptions<S> {
  /** What each user actor does with its events. */
  behavior: ActorBehavior<S>;
  /** Name in the membership and consumer group; default `WORKER_ID` or `<host>-<pid>-<random>`. */
  workerId?: string;
  /** Defaults: the matching variables of `ctx.config`. */
  partitionCount?: number;
  leaseTtlMs?: number;
  maxActiveActors?: number;
  actorIdleMs?: number;
  maxBatch?: number;
  maxInFlight?: number;
  maxDeliveries?: number;
  /** How long a hand-over (or shutdown) waits for in-flight work. Default 10 s. */
  drainTimeoutMs?: number;
  /** Pending entries idle this long are reclaimed by the periodic sweep. Default max(60 s, 3 × TTL). */
  staleClaimIdleMs?: number;
  /** Users whose idle actors stay in memory (someone is watching their portfolio live). */
  keepActive?: (userId: string) => boolean;
  /** Delay before the n-th retry of a failing handler or commit. Default 50 ms × 2^(n-1), max 2 s, jittered. */
  retryDelayMs?: (attempt: number) => number;
}

export interface WorkerRuntime<S = unknown> {
  readonly workerId: string;
  /**
   * This runtime's incarnation: random per start. Leases and fences are held by
   * `<workerId>:<incarnation>`, so two processes started with the same `WORKER_ID` never share
   * a lease or a fencing token.
   */
  readonly incarnation: string;
  /** Partitions this worker reads now, sorted. */
  ownedPartitions(): number[];
  activeActors(): number;
  /** Users whose actors are in memory here now. */
  activeUsers(): string[];
  /** The most actors this runtime ever held at once (every activation counted, not samples). */
  peakActiveActors(): number;
  /** Runs `task` on the in-memory state of the user's active actor, between its batches; false when not active here. */
  tell(userId: string, task: (state: S) => void): boolean;
  /**
   * Loads the actor of a user without an event (someone watches their portfolio), when this
   * worker owns the user's partition and has claimed its fence. Never waits for room and never
   * passivates a kept-active actor for it. Resolves true once the actor's state is in memory
   * (or already was), false otherwise (not owned here, no room, or the load failed: ask again).
   */
  activate(userId: string): Promise<boolean>;
  /** The live workers as of the last heartbeat. */
  liveWorkers(): string[];
  /** Runs a heartbeat/renew/rebalance round now. */
  rebalance(): Promise<void>;
  /** Passivates actors idle for `idleMs` (default `ACTOR_IDLE_MS`); returns how many. */
  passivateIdle(idleMs?: number): number;
  /** Graceful: stops reading, finishes in-flight work, commits, acks, releases the leases. */
  stop(): Promise<void>;
}

export function defaultWorkerId(): string {
  return `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
}

function defaultRetryDelay(attempt: number): number {
  const base = Math.min(50 * 2 ** (attempt - 1), 2_000);
  return Math.round(base / 2 + Math.random() * (base / 2));
}

/**
 * The worker role: joins the membership, owns an even share of the partitions through fenced
 * leases, runs a `PartitionWorker` for each and the user actors behind them. Returns once the
 * first ownership round ran (partitions held by others are taken as they are released or
 * expire).
 */
export async function startWorkerRuntime<S>(ctx: AppContext, options: WorkerRuntimeOptions<S>): Promise<WorkerRuntime<S>> {
  const config = ctx.config;
  const workerId = options.workerId ?? config.WORKER_ID ?? defaultWorkerId();
  const partitionCount = options.partitionCount ?? config.PARTITION_COUNT;
  const leaseTtlMs = options.leaseTtlMs ?? config.LEASE_TTL_MS;
  const intervalMs = Math.max(50, Math.floor(leaseTtlMs / 3));
  const drainTimeoutMs = options.drainTimeoutMs ?? 10_000;
  const idleMs = options.actorIdleMs ?? config.ACTOR_IDLE_MS;
  const incarnation = newIncarnation();
  const log = createLogger('actors').child({ worker: workerId, incarnation });
  const metrics = actorMetrics(ctx.metrics, workerId);

  const poolSize = (ctx.db.client.config.pool?.max as number | undefined) ?? 10;
  const floors = await readFences(ctx.db);
  const leases = partitionLeases(ctx.redis, ctx.keys, workerId, leaseTtlMs, incarnation);
  const membership = workerMembership(ctx.redis, ctx.keys, workerId, leaseTtlMs);
  let peakActive = 0;
  const registry = new ActorRegistry<S>(
    {
      db: ctx.db,
      behavior: options.behavior,
      workerId,
      maxBatch: options.maxBatch ?? config.ACTOR_MAX_BATCH,
      maxDeliveries: options.maxDeliveries ?? config.MAX_DELIVERIES,
      txIdleTimeoutMs: leaseTtlMs,
      metrics,
      log,
      retryDelayMs: options.retryDelayMs ?? defaultRetryDelay,
      // Half the pool at most: the other half stays free for commits of running actors.
      activationGate: new PoolGate(Math.max(1, Math.floor(poolSize / 2))),
      commitGate: new PoolGate(poolSize),
    },
    {
      maxActive: options.maxActiveActors ?? config.MAX_ACTIVE_ACTORS,
      idleMs,
      ...(options.keepActive ? { keepActive: options.keepActive } : {}),
      onPassivate: (userId) => options.behavior.passivated?.(userId),
    },
    (size) => {
      metrics.activeActors(size);
      if (size > peakActive) peakActive = size;
    },
  );

  const partitions = new Map<number, PartitionWorker<S>>();
  const handOvers = new Map<number, Promise<void>>();
  let stopping = false;

  const publishOwned = () => metrics.ownedPartitions(partitions.size);

  function ended(worker: PartitionWorker<S>, end: PartitionEnd): void {
    if (partitions.get(worker.partition) === worker) partitions.delete(worker.partition);
    publishOwned();
    if (end.reason === 'fenced') {
      if (end.current !== null) floors.set(worker.partition, Math.max(floors.get(worker.partition) ?? 0, end.current));
      // Our token is dead: give the lease up so the next acquire draws a token above the fence.
      leases.release(worker.lease).catch((err: unknown) => log.warn({ err }, 'lease release failed'));
    }
  }

  const owner: PartitionOwner = {
    leases: () => [...partitions.values()].map((w) => w.lease),
    busy: (partition) => handOvers.has(partition),
    start(lease: Lease) {
      // Our next token for the partition is above this one even if the Redis counter is lost.
      floors.set(lease.partition, Math.max(floors.get(lease.partition) ?? 0, lease.token));
      if (stopping || partitions.has(lease.partition)) return false;
      const worker = new PartitionWorker<S>({
        redis: ctx.redis,
        keys: ctx.keys,
        db: ctx.db,
        registry,
        lease,
        maxInFlight: options.maxInFlight ?? config.PARTITION_MAX_IN_FLIGHT,
        leaseTtlMs,
        staleClaimIdleMs: options.staleClaimIdleMs ?? Math.max(60_000, 3 * leaseTtlMs),
        metrics,
        log,
        onEnded: ended,
      });
      partitions.set(lease.partition, worker);
      publishOwned();
      worker.start();
      return true;
    },
    lost(lease: Lease) {
      const worker = partitions.get(lease.partition);
      if (!worker || worker.token !== lease.token) return;
      worker.abort('lease could not be renewed');
      partitions.delete(lease.partition);
      publishOwned();
    },
    handOver(partition: number) {
      const existing = handOvers.get(partition);
      if (existing) return existing;
      const worker = partitions.get(partition);
      if (!worker) return Promise.resolve();
      const done = (async () => {
        try {
          await worker.handOver(drainTimeoutMs);
          // Out of the renewed set before the release is sent: a renewal sent after it would find
          // the key gone with no acquire since and take the lease back (a stall's recovery).
          if (partitions.get(partition) === worker) partitions.delete(partition);
          await leases.release(worker.lease);
        } finally {
          if (partitions.get(partition) === worker) partitions.delete(partition);
          handOvers.delete(partition);
          publishOwned();
        }
      })();
      handOvers.set(partition, done);
      return done;
    },
  };

  const rebalancer = startRebalancer({
    workerId,
    partitionCount,
    membership,
    leases,
    owner,
    intervalMs,
    tokenFloor: (p) => floors.get(p) ?? 0,
    log,
  });
  const maintenance = setInterval(() => {
    registry.passivateIdle();
    for (const worker of partitions.values()) void worker.maintain();
  }, intervalMs);

  await rebalancer.tick();
  log.info({ partitions: [...partitions.keys()].sort((a, b) => a - b), leaseTtlMs }, 'worker runtime started');

  return {
    workerId,
    incarnation,
    ownedPartitions: () => [...partitions.keys()].sort((a, b) => a - b),
    activeActors: () => registry.size,
    activeUsers: () => registry.users(),
    peakActiveActors: () => peakActive,
    tell: (userId, task) => registry.tell(userId, task),
    async activate(userId) {
      if (stopping) return false;
      const worker = partitions.get(partitionOf(userId, partitionCount));
      if (!worker?.ready) return false;
      return registry.activate(userId, worker);
    },
    liveWorkers: () => rebalancer.liveWorkers(),
    rebalance: () => rebalancer.tick(),
    passivateIdle: (ms) => registry.passivateIdle(Date.now(), ms ?? idleMs),
    async stop() {
      if (stopping) return;
      stopping = true;
      log.info({ partitions: partitions.size }, 'worker runtime stopping');
      // Leave first so the others rebalance now; keep renewing while our partitions drain.
      rebalancer.leave();
      await membership.leave().catch((err: unknown) => log.warn({ err }, 'leaving the membership failed'));
      await rebalancer.tick();
      while (partitions.size > 0 || handOvers.size > 0) {
        for (const partition of partitions.keys()) void owner.handOver(partition);
        await Promise.allSettled([...handOvers.values()]);
      }
      clearInterval(maintenance);
      await rebalancer.stop();
      registry.passivateIdle(Date.now(), 0);
      log.info('worker runtime stopped');
    },
  };
}
