import { Cluster, type Redis } from 'ioredis';

/**
 * Waits until `replicas` replicas hold every write made so far on one connection (Redis `WAIT`),
 * for the webhook ingest's `WEBHOOK_MIN_REPLICAS`: a webhook answered 200 must survive the
 * failover of the Redis that took it, so it is answered only once enough replicas have it, and
 * 503 otherwise (SnapTrade retries; the retry meets the dedupe marker and waits again).
 *
 * `WAIT` counts the writes of the connection it is sent on and blocks that connection until it
 * answers, so the appends and the waits share a connection of their own (never the process'
 * shared one, which a replica outage would then stall for the timeout on every call).
 *
 * Concurrent webhooks share waits: a wait asked for while one is in flight joins the next one,
 * which is sent after every append it must cover has been acknowledged; so a burst costs one
 * `WAIT` round trip, not one per webhook.
 */
export interface ReplicaAck {
  /** Resolves with the replicas that acknowledged (at least `replicas`, or fewer at the timeout). */
  wait(): Promise<number>;
}

export function createReplicaAck(connection: Redis | Cluster, replicas: number, timeoutMs: number): ReplicaAck {
  let inFlight: Promise<number> | undefined;
  let next: Promise<number> | undefined;
  const send = async (): Promise<number> => {
    // On a cluster each master counts the writes made on our connection to it; a master we never
    // wrote to answers at once with its replicas. The slowest master decides.
    const nodes = connection instanceof Cluster ? connection.nodes('master') : [connection];
    if (nodes.length === 0) throw new Error('no Redis master to wait on');
    const acks = await Promise.all(nodes.map(async (node) => Number(await node.call('WAIT', replicas, timeoutMs))));
    return Math.min(...acks);
  };
  const start = (): Promise<number> => {
    const run = send().finally(() => {
      if (inFlight === run) inFlight = undefined;
    });
    inFlight = run;
    return run;
  };
  return {
    wait() {
      if (!inFlight) return start();
      next ??= inFlight.then(
        () => undefined,
        () => undefined,
      ).then(() => {
        next = undefined;
        return start();
      });
      return next;
    },
  };
}
