import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { TickSource } from './price-tick.ts';

/**
 * The market role's Prometheus metrics (`foliostream_market_*`), registered once per registry.
 * One ingester runs per process, so the gauges are plain values it sets.
 */
export interface MarketMetrics {
  ticksReceived(source: TickSource, count: number): void;
  ticksWritten(count: number): void;
  ticksDropped(count: number): void;
  writeBatch(size: number, seconds: number): void;
  writeFailed(): void;
  reconnected(): void;
  connected(up: boolean): void;
  restRefetch(symbols: number): void;
  restRequest(outcome: 'ok' | 'error'): void;
  subscribedSymbols(count: number): void;
  staleness(maxSeconds: number, staleSymbols: number): void;
  leaseHeld(held: boolean): void;
  leaseAcquired(): void;
}

function metric<T>(registry: Registry, name: string, create: () => T): T {
  return (registry.getSingleMetric(name) as T | undefined) ?? create();
}

export function marketMetrics(registry: Registry): MarketMetrics {
  const registers = [registry];
  const received = metric(
    registry,
    'foliostream_market_ticks_received_total',
    () =>
      new Counter({
        name: 'foliostream_market_ticks_received_total',
        help: 'Trades received for subscribed securities, by source (stream, or rest after a reconnect).',
        labelNames: ['source'],
        registers,
      }),
  );
  const written = metric(
    registry,
    'foliostream_market_ticks_written_total',
    () => new Counter({ name: 'foliostream_market_ticks_written_total', help: 'Ticks appended to the price streams.', registers }),
  );
  const dropped = metric(
    registry,
    'foliostream_market_ticks_dropped_total',
    () =>
      new Counter({
        name: 'foliostream_market_ticks_dropped_total',
        help: 'Ticks never written: write queue over its limit (compacted to the newest per security) or left at shutdown.',
        registers,
      }),
  );
  const batch = metric(
    registry,
    'foliostream_market_write_batch_size',
    () =>
      new Histogram({
        name: 'foliostream_market_write_batch_size',
        help: 'Ticks per price-write pipeline.',
        buckets: [1, 10, 50, 100, 500, 1000, 2000, 5000],
        registers,
      }),
  );
  const writeSeconds = metric(
    registry,
    'foliostream_market_write_duration_seconds',
    () =>
      new Histogram({
        name: 'foliostream_market_write_duration_seconds',
        help: 'Round trip of one price-write pipeline.',
        buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
        registers,
      }),
  );
  const writeFailures = metric(
    registry,
    'foliostream_market_write_failures_total',
    () => new Counter({ name: 'foliostream_market_write_failures_total', help: 'Price-write pipelines that failed (retried).', registers }),
  );
  const reconnects = metric(
    registry,
    'foliostream_market_reconnects_total',
    () =>
      new Counter({
        name: 'foliostream_market_reconnects_total',
        help: 'Market-data stream reconnects that re-authenticated and resubscribed.',
        registers,
      }),
  );
  const connectedGauge = metric(
    registry,
    'foliostream_market_connected',
    () => new Gauge({ name: 'foliostream_market_connected', help: '1 while the market-data stream is authenticated.', registers }),
  );
  const refetches = metric(
    registry,
    'foliostream_market_rest_refetches_total',
    () =>
      new Counter({
        name: 'foliostream_market_rest_refetches_total',
        help: 'Latest-price refetches over REST (after each connect, and for newly held securities).',
        registers,
      }),
  );
  const refetchedSymbols = metric(
    registry,
    'foliostream_market_rest_refetch_symbols_total',
    () => new Counter({ name: 'foliostream_market_rest_refetch_symbols_total', help: 'Securities asked for in REST refetches.', registers }),
  );
  const restRequests = metric(
    registry,
    'foliostream_market_rest_requests_total',
    () =>
      new Counter({
        name: 'foliostream_market_rest_requests_total',
        help: 'Alpaca latest-trades REST requests, by outcome.',
        labelNames: ['outcome'],
        registers,
      }),
  );
  const subscribed = metric(
    registry,
    'foliostream_market_subscribed_symbols',
    () => new Gauge({ name: 'foliostream_market_subscribed_symbols', help: 'Securities the market-data stream is subscribed to.', registers }),
  );
  const maxStaleness = metric(
    registry,
    'foliostream_market_max_staleness_seconds',
    () =>
      new Gauge({
        name: 'foliostream_market_max_staleness_seconds',
        help: 'Longest time any subscribed security has gone without a tick.',
        registers,
      }),
  );
  const stale = metric(
    registry,
    'foliostream_market_stale_symbols',
    () =>
      new Gauge({
        name: 'foliostream_market_stale_symbols',
        help: 'Subscribed securities with no tick for longer than MARKET_STALE_AFTER_MS.',
        registers,
      }),
  );

  const leaseHeld = metric(
    registry,
    'foliostream_market_lease_held',
    () =>
      new Gauge({
        name: 'foliostream_market_lease_held',
        help: '1 while this market process holds the market lease (the active one, connected to Alpaca); 0 while it stands by.',
        registers,
      }),
  );
  const leaseAcquisitions = metric(
    registry,
    'foliostream_market_lease_acquisitions_total',
    () =>
      new Counter({
        name: 'foliostream_market_lease_acquisitions_total',
        help: 'Times this market process took the market lease (its start as the first holder, or a takeover from a dead or stopped one).',
        registers,
      }),
  );

  return {
    ticksReceived: (source, count) => received.inc({ source }, count),
    ticksWritten: (count) => count > 0 && written.inc(count),
    ticksDropped: (count) => count > 0 && dropped.inc(count),
    writeBatch(size, seconds) {
      batch.observe(size);
      writeSeconds.observe(seconds);
    },
    writeFailed: () => writeFailures.inc(),
    reconnected: () => reconnects.inc(),
    connected: (up) => connectedGauge.set(up ? 1 : 0),
    restRefetch(symbols) {
      refetches.inc();
      refetchedSymbols.inc(symbols);
    },
    restRequest: (outcome) => restRequests.inc({ outcome }),
    subscribedSymbols: (count) => subscribed.set(count),
    staleness(maxSeconds, staleSymbols) {
      maxStaleness.set(maxSeconds);
      stale.set(staleSymbols);
    },
    leaseHeld: (held) => leaseHeld.set(held ? 1 : 0),
    leaseAcquired: () => leaseAcquisitions.inc(),
  };
}
