import { parentPort, workerData } from 'node:worker_threads';
import { toSnapshot } from '../../actors/portfolio/portfolio-projection.ts';
import { streamKeys } from '../../streams/keys.ts';
import { createRedisClient } from '../runtime/redis-client.ts';
import { rebuildPartition } from './rebuild-partition.ts';
import { foldUsers } from './stream-maintenance.ts';
import { rebuildWorkerConnectionName, type PoolReply, type PoolRequest, type PoolWorkerData } from './rebuild-pool.ts';

/**
 * A worker thread of the rebuild pool: its own Redis connection, one partition at a time as the
 * pool hands them out, each answered with its users' folded (settled) projections as snapshots.
 */
const port = parentPort!;
const { redisTarget, namespace } = workerData as PoolWorkerData;
// The client factory imports ioredis alone (not the runtime context, which loads the database
// layer a thread that only reads streams would spend a second loading). The name carries the
// namespace: CLIENT LIST tells which engine's streams a thread reads (a name holds no spaces).
const redis = createRedisClient(redisTarget, { name: rebuildWorkerConnectionName(namespace), maxRetriesPerRequest: 1 });
redis.on('error', () => {
  // A failed command rejects its task, which is reported to the pool.
});
const keys = streamKeys(namespace);
const reply = (message: PoolReply) => port.postMessage(message);

async function answer(request: PoolRequest): Promise<PoolReply> {
  if (request.kind === 'fold') {
    const states = await foldUsers(redis, keys, request.partition, request.limits, request.refs, (user) => request.facts.get(user) ?? {});
    return { kind: 'folded', partition: request.partition, users: [...states.values()].map((state) => ({ snapshot: toSnapshot(state), eventsFolded: state.eventsFolded })) };
  }
  const rebuilt = await rebuildPartition(redis, keys, request.partition, { fromSnapshots: request.fromSnapshots });
  return {
    kind: 'rebuilt',
    partition: request.partition,
    eventsFolded: rebuilt.eventsFolded,
    entriesRead: rebuilt.entriesRead,
    fromSnapshots: rebuilt.fromSnapshots,
    users: [...rebuilt.projections.values()].map(toSnapshot),
  };
}

port.on('message', (request: PoolRequest) => {
  answer(request).then(reply, (err: unknown) => reply({ kind: 'failed', partition: request.partition, message: err instanceof Error ? err.message : String(err) }));
});
reply({ kind: 'ready' });
