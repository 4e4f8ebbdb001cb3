/**
 * What the two delivery children of `npm run bench:ticks` (ticks-clients.ts, ticks-counter.ts)
 * measure alike and how they answer bench/ticks.ts. Freshness of a delta's holding (upserted or
 * repriced) = receive time − its `priceAsOf` (the bench writes each tick with `at` = the time it
 * queued it for the append), recorded in an HDR histogram (ms), beside this process's own stalls.
 *
 * IPC: `{cmd: 'connect', ...}` → `{type: 'connected', clients}` (or `{type: 'error', message}`);
 * `{cmd: 'reset'}` clears the histogram, the pauses and the delta count → `{type: 'reset'}`;
 * `{cmd: 'report'}` → `{type: 'report', p50, p99, max, count, deltas, gaps, mismatches, snapshots,
 * connected, cpu, loopDelayP99Ms, loopDelayMaxMs, gcMaxMs, majorGcs}`; `profile-start` /
 * `profile-stop` as in step-profiler.ts. `{type: 'ready'}` once it listens.
 */
import * as hdr from 'hdr-histogram-js';
import { createPauseMonitor } from './pause-monitor.ts';
import { handleProfilerMessage } from './step-profiler.ts';
import type { PortfolioDelta } from '../../src/realtime/events.ts';

/** The child's own counts in a report. */
export interface DeliveryCounts {
  gaps: number;
  mismatches: number;
  snapshots: number;
  connected: number;
}

export interface TicksDeliveryChild<M extends { cmd: string }> {
  /** Connects what receives the deltas for `connect`; resolves with the clients it counts. */
  connect(message: M): Promise<number>;
  counts(): DeliveryCounts;
  /** Lets go of the connections when bench/ticks.ts disconnects, before the process exits. */
  close(): void;
}

/** Answers bench/ticks.ts for `child`; returns what records a delta received at `receivedAt` (ms). */
export function serveTicksDelivery<M extends { cmd: string; file?: string }>(child: TicksDeliveryChild<M>): (delta: PortfolioDelta, receivedAt: number) => void {
  const histogram = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000, numberOfSignificantValueDigits: 3 });
  // A stall here delays what the clients receive as much as one in the engine: measure it too.
  const pauses = createPauseMonitor();
  let deltas = 0;
  process.on('message', (message: M) => {
    if (handleProfilerMessage(message)) return;
    if (message.cmd === 'connect') {
      child.connect(message).then(
        (clients) => process.send!({ type: 'connected', clients }),
        (err: unknown) => process.send!({ type: 'error', message: String(err) }),
      );
    } else if (message.cmd === 'reset') {
      histogram.reset();
      pauses.reset();
      deltas = 0;
      process.send!({ type: 'reset' });
    } else if (message.cmd === 'report') {
      process.send!({
        type: 'report',
        p50: histogram.getValueAtPercentile(50),
        p99: histogram.getValueAtPercentile(99),
        max: histogram.maxValue,
        count: histogram.totalCount,
        deltas,
        ...child.counts(),
        cpu: process.cpuUsage(),
        ...pauses.read(),
      });
    }
  });
  process.on('disconnect', () => {
    child.close();
    process.exit(0);
  });
  process.send!({ type: 'ready' });
  return (delta, receivedAt) => {
    deltas++;
    for (const h of delta.upserted) {
      if (h.priceAsOf) histogram.recordValue(Math.max(1, receivedAt - Date.parse(h.priceAsOf)));
    }
    for (const r of delta.repriced) {
      const priceAsOf = r[2];
      if (priceAsOf) histogram.recordValue(Math.max(1, receivedAt - Date.parse(priceAsOf)));
    }
  };
}
