import { parentPort, workerData } from 'node:worker_threads';
import { Redis } from 'ioredis';
import { toSnapshot } from '../../actors/portfolio/portfolio-projection.ts';
import { streamKeys } from '../../streams/keys.ts';
import { rebuildPartition } from './rebuild-partition.ts';
import type { PoolReply, PoolRequest, PoolWorkerData } from './rebuild-pool.ts';

/**
 * A worker thread of the rebuild pool: its own Redis connection, one partition at a time as the
 * pool hands them out, each answered with its users' rebuilt (settled) projections as snapshots.
 */
const port = parentPort!;
const { redisUrl, namespace, fromSnapshots } = workerData as PoolWorkerData;
// ioredis itself, not the runtime's client factory: that module loads the database layer too,
// which a thread that only reads streams would spend a second loading.
const redis = new Redis(redisUrl, { connectionName: 'foliostream-rebuild-worker', maxRetriesPerRequest: 1 });
redis.on('error', () => {
  // A failed command rejects its rebuild, which is reported to the pool.
});
const keys = streamKeys(namespace);
const reply = (message: PoolReply) => port.postMessage(message);

port.on('message', (request: PoolRequest) => {
  if (request.kind === 'stop') {
    redis.disconnect();
    port.close();
    return;
  }
  rebuildPartition(redis, keys, request.partition, { fromSnapshots }).then(
    (rebuilt) =>
      reply({
        kind: 'rebuilt',
        partition: request.partition,
        eventsFolded: rebuilt.eventsFolded,
        entriesRead: rebuilt.entriesRead,
        fromSnapshots: rebuilt.fromSnapshots,
        users: [...rebuilt.projections.values()].map(toSnapshot),
      }),
    (err: unknown) => reply({ kind: 'failed', partition: request.partition, message: err instanceof Error ? err.message : String(err) }),
  );
});
reply({ kind: 'ready' });
