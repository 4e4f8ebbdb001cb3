import { Worker } from 'node:worker_threads';
import type { ProjectionFacts, ProjectionSnapshot } from '../../actors/portfolio/portfolio-projection.ts';
import type { SnapshotRef } from '../../streams/snapshots.ts';
import type { RedisTarget } from '../runtime/redis-client.ts';

/**
 * Partition folds in worker threads: `threads` threads, each with its own Redis connection, take
 * tasks one at a time from a shared queue (a thread that finishes early takes the next, so an
 * uneven partition does not hold the others). A task is one partition: rebuilt whole
 * (`rebuildPartition`), or folded for named users up to their own stream ids (`foldUsers`, what
 * the dry run of many users asks). Users never span partitions, so the threads share nothing but
 * the queue. Users come back as settled projections in snapshot form (plain data: what crosses
 * threads), each with the count of events folded into it (a snapshot does not carry it).
 */
export interface RebuildPoolOptions {
  redisTarget: RedisTarget;
  /** Key namespace of the streams (`streamKeys`). */
  namespace: string;
  threads: number;
  /** Called on the calling thread when a thread has loaded its code and is ready to fold. */
  onReady?: () => void;
}

export interface RebuiltPartition {
  partition: number;
  eventsFolded: number;
  entriesRead: number;
  /** Users restored from a snapshot. */
  fromSnapshots: number;
  users: ProjectionSnapshot[];
}

/** A user folded in a thread: the settled projection as a snapshot, and the events folded into it. */
export interface FoldedUser {
  snapshot: ProjectionSnapshot;
  eventsFolded: number;
}

/** A partition's named users to fold, as `foldUsers` takes them (Maps cross threads as they are). */
export interface FoldTask {
  partition: number;
  limits: Map<string, string>;
  refs: Map<string, SnapshotRef>;
  facts: Map<string, ProjectionFacts>;
}

/** What the calling thread asks a worker (a thread is ended by terminating it). */
export type PoolRequest = { kind: 'partition'; partition: number; fromSnapshots: boolean } | ({ kind: 'fold' } & FoldTask);
/** What a worker answers. */
export type PoolReply =
  | { kind: 'ready' }
  | ({ kind: 'rebuilt' } & RebuiltPartition)
  | { kind: 'folded'; partition: number; users: FoldedUser[] }
  | { kind: 'failed'; partition: number; message: string };
export interface PoolWorkerData {
  redisTarget: RedisTarget;
  namespace: string;
}

/** The Redis connection name of a pool thread reading `namespace`'s streams. */
export const rebuildWorkerConnectionName = (namespace: string) => `foliostream-rebuild-worker:${namespace.replace(/\s/g, '_')}`;

const ENTRY = new URL('./rebuild-worker.mjs', import.meta.url);

interface Pending {
  request: PoolRequest;
  resolve: (reply: PoolReply) => void;
  reject: (err: Error) => void;
}
interface Thread {
  worker: Worker;
  /** The task it works on; null when idle; undefined until it is ready. */
  current: Pending | null | undefined;
}

export class RebuildPool {
  private readonly threads: Thread[] = [];
  private readonly queue: Pending[] = [];
  /** Set once a thread failed or the pool was closed: every task from then on is refused. */
  private broken: Error | null = null;

  /** Starts `options.threads` threads; tasks given before they are ready wait in the queue. */
  constructor(options: RebuildPoolOptions) {
    if (!Number.isInteger(options.threads) || options.threads < 1) throw new RangeError(`threads: a whole number of worker threads, at least 1 (got ${options.threads})`);
    const data: PoolWorkerData = { redisTarget: options.redisTarget, namespace: options.namespace };
    for (let i = 0; i < options.threads; i++) {
      const thread: Thread = { worker: new Worker(ENTRY, { workerData: data }), current: undefined };
      this.threads.push(thread);
      thread.worker.on('message', (reply: PoolReply) => {
        const done = thread.current;
        thread.current = null;
        if (reply.kind === 'ready') options.onReady?.();
        else if (reply.kind === 'failed') done?.reject(new Error(`folding partition ${reply.partition} failed: ${reply.message}`));
        else done?.resolve(reply);
        this.dispatch();
      });
      // A thread that dies takes its task with it: the pool is of no use without it.
      thread.worker.on('error', (err) => this.fail(err));
      thread.worker.on('exit', (code) => this.fail(new Error(`a rebuild worker thread exited with code ${code}`)));
    }
  }

  /** Every user of the partition rebuilt (`rebuildPartition`). */
  async rebuild(partition: number, fromSnapshots: boolean): Promise<RebuiltPartition> {
    const { kind: _kind, ...rebuilt } = (await this.run({ kind: 'partition', partition, fromSnapshots })) as Extract<PoolReply, { kind: 'rebuilt' }>;
    return rebuilt;
  }

  /** The named users of the partition, each folded up to their limit (`foldUsers`). */
  async fold(task: FoldTask): Promise<FoldedUser[]> {
    return ((await this.run({ kind: 'fold', ...task })) as Extract<PoolReply, { kind: 'folded' }>).users;
  }

  /**
   * Ends every thread (terminated: its Redis connection goes with it) and refuses tasks from then
   * on; tasks still waiting or running are rejected. Safe to call more than once, and after a
   * failure; the calling process is left with nothing of the pool's to keep it alive.
   */
  async close(): Promise<void> {
    this.fail(new Error('the rebuild pool was closed'));
    await Promise.all(this.threads.map((t) => t.worker.terminate()));
  }

  private run(request: PoolRequest): Promise<PoolReply> {
    if (this.broken) return Promise.reject(this.broken);
    return new Promise((resolve, reject) => {
      this.queue.push({ request, resolve, reject });
      this.dispatch();
    });
  }

  private dispatch(): void {
    for (const thread of this.threads) {
      if (thread.current !== null || this.broken) continue;
      const next = this.queue.shift();
      if (!next) return;
      thread.current = next;
      thread.worker.postMessage(next.request satisfies PoolRequest);
    }
  }

  private fail(err: Error): void {
    if (this.broken) return;
    this.broken = err;
    for (const pending of [...this.queue.splice(0), ...this.threads.map((t) => t.current)]) pending?.reject(err);
    for (const thread of this.threads) thread.current = null;
  }
}

/**
 * Rebuilds `options.partitions` in a pool of `options.workers` threads (at most one per
 * partition); resolves with every partition, in the order they finished, `onPartition` called on
 * the calling thread as each comes back. The first failure stops every thread.
 */
export async function rebuildPartitionsInWorkers(options: {
  redisTarget: RedisTarget;
  namespace: string;
  partitions: readonly number[];
  workers: number;
  fromSnapshots: boolean;
  onReady?: () => void;
  onPartition?: (rebuilt: RebuiltPartition) => void;
}): Promise<RebuiltPartition[]> {
  if (!Number.isInteger(options.workers) || options.workers < 1) throw new RangeError(`workers: a whole number of threads, at least 1 (got ${options.workers})`);
  if (options.partitions.length === 0) return [];
  const pool = new RebuildPool({ redisTarget: options.redisTarget, namespace: options.namespace, threads: Math.min(options.workers, options.partitions.length), onReady: options.onReady });
  const results: RebuiltPartition[] = [];
  try {
    await Promise.all(
      options.partitions.map(async (partition) => {
        const rebuilt = await pool.rebuild(partition, options.fromSnapshots);
        results.push(rebuilt);
        options.onPartition?.(rebuilt);
      }),
    );
  } finally {
    await pool.close();
  }
  return results;
}
