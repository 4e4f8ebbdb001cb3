import { Counter, Gauge, type Registry } from 'prom-client';

/** The realtime metrics on a registry; created once per registry, shared by every gateway and coalescer on it. */
export interface RealtimeMetrics {
  /** `foliostream_realtime_connected_clients`: sockets connected to this process's gateways. */
  connectedClients: Gauge;
  /** `foliostream_realtime_auth_failures_total{code}`: handshakes refused, by error code. */
  authFailures: Counter<'code'>;
  /** `foliostream_realtime_snapshots_total{trigger}`: snapshots sent (`connect` or `request`). */
  snapshots: Counter<'trigger'>;
  /** `foliostream_realtime_snapshot_failures_total`: snapshots that could not be built. */
  snapshotFailures: Counter;
  /** `foliostream_realtime_deltas_total`: coalesced deltas published. */
  deltas: Counter;
  /** `foliostream_realtime_changes_coalesced_total`: changes pushed into those deltas. */
  changesCoalesced: Counter;
  /** `foliostream_realtime_delta_failures_total`: delta publications that failed (retried). */
  deltaFailures: Counter;
}

function getOrCreate<T>(registry: Registry, name: string, create: () => T): T {
  return (registry.getSingleMetric(name) as T | undefined) ?? create();
}

export function realtimeMetrics(registry: Registry): RealtimeMetrics {
  const registers = [registry];
  const counter = (name: string, help: string) =>
    getOrCreate(registry, name, () => new Counter({ name, help, registers }));
  return {
    connectedClients: getOrCreate(registry, 'foliostream_realtime_connected_clients', () =>
      new Gauge({
        name: 'foliostream_realtime_connected_clients',
        help: 'socket.io clients connected to this process.',
        registers,
      }),
    ),
    authFailures: getOrCreate(registry, 'foliostream_realtime_auth_failures_total', () =>
      new Counter({
        name: 'foliostream_realtime_auth_failures_total',
        help: 'socket.io handshakes refused, by error code (FS_RT_TOKEN_MISSING, _EXPIRED, _INVALID).',
        labelNames: ['code'] as const,
        registers,
      }),
    ),
    snapshots: getOrCreate(registry, 'foliostream_realtime_snapshots_total', () =>
      new Counter({
        name: 'foliostream_realtime_snapshots_total',
        help: 'Portfolio snapshots sent, by trigger (connect or request).',
        labelNames: ['trigger'] as const,
        registers,
      }),
    ),
    snapshotFailures: counter('foliostream_realtime_snapshot_failures_total', 'Portfolio snapshots that could not be built.'),
    deltas: counter('foliostream_realtime_deltas_total', 'Coalesced portfolio deltas published.'),
    changesCoalesced: counter(
      'foliostream_realtime_changes_coalesced_total',
      'Portfolio changes pushed into the coalescer (deltas_total / this = coalescing ratio).',
    ),
    deltaFailures: counter(
      'foliostream_realtime_delta_failures_total',
      'Delta publications that failed; their changes are merged into the next attempt.',
    ),
  };
}
