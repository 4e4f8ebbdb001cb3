import { Worker } from 'node:worker_threads';
import type { ProjectionSnapshot } from '../../actors/portfolio/portfolio-projection.ts';

/**
 * Partitions rebuilt in worker threads: `workers` threads, each with its own Redis connection,
 * take partitions one at a time from a shared queue (a thread that finishes early takes the next,
 * so an uneven partition does not hold the others) and rebuild each with `rebuildPartition`.
 * Users never span partitions, so the threads share nothing but the queue. Each partition's users
 * come back as settled projections in snapshot form (plain data: what crosses threads).
 */
export interface RebuildPoolOptions {
  redisUrl: string;
  /** Key namespace of the streams (`streamKeys`). */
  namespace: string;
  partitions: readonly number[];
  /** Worker threads (at most one per partition). */
  workers: number;
  fromSnapshots: boolean;
  /** Called on the calling thread when a thread has loaded its code and is ready to rebuild. */
  onReady?: () => void;
  /** Called on the calling thread as each partition comes back. */
  onPartition?: (rebuilt: RebuiltPartition) => void;
}

export interface RebuiltPartition {
  partition: number;
  eventsFolded: number;
  entriesRead: number;
  /** Users restored from a snapshot. */
  fromSnapshots: number;
  users: ProjectionSnapshot[];
}

/** What the calling thread tells a worker. */
export type PoolRequest = { kind: 'partition'; partition: number } | { kind: 'stop' };
/** What a worker answers. */
export type PoolReply = { kind: 'ready' } | ({ kind: 'rebuilt' } & RebuiltPartition) | { kind: 'failed'; partition: number; message: string };
export interface PoolWorkerData {
  redisUrl: string;
  namespace: string;
  fromSnapshots: boolean;
}

const ENTRY = new URL('./rebuild-worker.mjs', import.meta.url);

/** Rebuilds `options.partitions` in a pool of worker threads; resolves with every partition, in the order they finished. */
export async function rebuildPartitionsInWorkers(options: RebuildPoolOptions): Promise<RebuiltPartition[]> {
  if (!Number.isInteger(options.workers) || options.workers < 1) throw new RangeError(`workers: a whole number of threads, at least 1 (got ${options.workers})`);
  const queue = [...options.partitions];
  const results: RebuiltPartition[] = [];
  const threads: Worker[] = [];
  const data: PoolWorkerData = { redisUrl: options.redisUrl, namespace: options.namespace, fromSnapshots: options.fromSnapshots };
  const run = (worker: Worker) =>
    new Promise<void>((resolve, reject) => {
      let failure: Error | null = null;
      const next = () => {
        const partition = queue.shift();
        worker.postMessage((partition === undefined ? { kind: 'stop' } : { kind: 'partition', partition }) satisfies PoolRequest);
      };
      worker.on('message', (reply: PoolReply) => {
        if (reply.kind === 'failed') {
          failure = new Error(`rebuilding partition ${reply.partition} failed: ${reply.message}`);
          void worker.terminate();
          return;
        }
        if (reply.kind === 'ready') options.onReady?.();
        if (reply.kind === 'rebuilt') {
          const { kind: _kind, ...rebuilt } = reply;
          results.push(rebuilt);
          try {
            options.onPartition?.(rebuilt);
          } catch (err) {
            failure = err instanceof Error ? err : new Error(String(err));
            void worker.terminate();
            return;
          }
        }
        next();
      });
      worker.on('error', (err) => {
        failure = err;
      });
      worker.on('exit', (code) => {
        if (failure) reject(failure);
        else if (code !== 0) reject(new Error(`a rebuild worker exited with code ${code}`));
        else resolve();
      });
    });
  const runs: Promise<void>[] = [];
  for (let i = 0; i < Math.min(options.workers, queue.length); i++) {
    const worker = new Worker(ENTRY, { workerData: data });
    threads.push(worker);
    runs.push(run(worker));
  }
  try {
    await Promise.all(runs);
  } catch (err) {
    // One failed: the others stop too (what they rebuilt is of no use without it).
    await Promise.all(threads.map((t) => t.terminate()));
    await Promise.allSettled(runs);
    throw err;
  }
  return results;
}
