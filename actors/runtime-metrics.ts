import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/**
 * The actor runtime's Prometheus metrics, registered once per registry (several runtimes in one
 * process, as in tests, share them and tell themselves apart by the `worker` label).
 */
export interface ActorMetrics {
  applied(count: number): void;
  skipped(count: number): void;
  deadLettered(count: number): void;
  fenced(): void;
  /** A commit, activation or park failed for a reason that says nothing about the events. */
  transientFailure(): void;
  batchSize(size: number): void;
  partitionLag(partition: number, lag: number | null): void;
  /** Events of a partition read and not yet settled; the gauge keeps the highest seen. */
  inFlight(partition: number, count: number): void;
  ownedPartitions(count: number): void;
  activeActors(count: number): void;
}

function metric<T>(registry: Registry, name: string, create: () => T): T {
  return (registry.getSingleMetric(name) as T | undefined) ?? create();
}

export function actorMetrics(registry: Registry, workerId: string): ActorMetrics {
  const registers = [registry];
  const applied = metric(
    registry,
    'foliostream_actor_events_applied_total',
    () => new Counter({ name: 'foliostream_actor_events_applied_total', help: 'Events applied and committed by actors.', labelNames: ['worker'], registers }),
  );
  const skipped = metric(
    registry,
    'foliostream_actor_events_skipped_total',
    () =>
      new Counter({
        name: 'foliostream_actor_events_skipped_total',
        help: 'Events skipped because they were at or below the user checkpoint (redeliveries).',
        labelNames: ['worker'],
        registers,
      }),
  );
  const dead = metric(
    registry,
    'foliostream_actor_events_dead_lettered_total',
    () =>
      new Counter({
        name: 'foliostream_actor_events_dead_lettered_total',
        help: 'Events moved to a dead-letter stream (handler kept failing, or malformed envelope).',
        labelNames: ['worker'],
        registers,
      }),
  );
  const fenced = metric(
    registry,
    'foliostream_actor_commits_fenced_total',
    () =>
      new Counter({
        name: 'foliostream_actor_commits_fenced_total',
        help: 'Commits refused because a newer lease holder fenced the partition.',
        labelNames: ['worker'],
        registers,
      }),
  );
  const transient = metric(
    registry,
    'foliostream_actor_transient_failures_total',
    () =>
      new Counter({
        name: 'foliostream_actor_transient_failures_total',
        help: 'Commits, activations and dead-letter parks that failed for a reason that says nothing about the events (database unreachable, pool timeout, serialization conflict) and were retried after a delay.',
        labelNames: ['worker'],
        registers,
      }),
  );
  const batch = metric(
    registry,
    'foliostream_actor_batch_size',
    () =>
      new Histogram({
        name: 'foliostream_actor_batch_size',
        help: 'Events per committed actor transaction.',
        labelNames: ['worker'],
        buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500],
        registers,
      }),
  );
  const lag = metric(
    registry,
    'foliostream_partition_lag',
    () =>
      new Gauge({
        name: 'foliostream_partition_lag',
        help: 'Entries of an owned partition not yet delivered to its consumer group.',
        labelNames: ['partition'],
        registers,
      }),
  );
  const owned = metric(
    registry,
    'foliostream_worker_owned_partitions',
    () =>
      new Gauge({ name: 'foliostream_worker_owned_partitions', help: 'Partitions this worker holds a lease on.', labelNames: ['worker'], registers }),
  );
  const active = metric(
    registry,
    'foliostream_worker_active_actors',
    () => new Gauge({ name: 'foliostream_worker_active_actors', help: 'User actors in memory.', labelNames: ['worker'], registers }),
  );
  const inFlightMax = metric(
    registry,
    'foliostream_partition_in_flight_max',
    () =>
      new Gauge({
        name: 'foliostream_partition_in_flight_max',
        help: 'Most events of a partition ever read and not yet settled at once, per worker (bounded by PARTITION_MAX_IN_FLIGHT).',
        labelNames: ['worker', 'partition'],
        registers,
      }),
  );
  const peaks = new Map<number, number>();
  const labels = { worker: workerId };
  const appliedChild = applied.labels(labels);
  const skippedChild = skipped.labels(labels);
  const batchChild = batch.labels(labels);
  return {
    applied: (n) => appliedChild.inc(n),
    skipped: (n) => skippedChild.inc(n),
    deadLettered: (n) => dead.labels(labels).inc(n),
    fenced: () => fenced.labels(labels).inc(),
    transientFailure: () => transient.labels(labels).inc(),
    batchSize: (n) => batchChild.observe(n),
    partitionLag: (partition, value) => {
      if (value === null) lag.remove({ partition: String(partition) });
      else lag.set({ partition: String(partition) }, value);
    },
    inFlight: (partition, count) => {
      if (count <= (peaks.get(partition) ?? 0)) return;
      peaks.set(partition, count);
      inFlightMax.set({ worker: workerId, partition: String(partition) }, count);
    },
    ownedPartitions: (n) => owned.set(labels, n),
    activeActors: (n) => active.set(labels, n),
  };
}
