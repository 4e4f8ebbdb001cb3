import { constants, monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';

export interface Pauses {
  loopDelayP99Ms: number;
  /** The longest event-loop stall. */
  loopDelayMaxMs: number;
  /** The longest GC pause, all GC pauses together, and how many major (mark-compact) GCs ran. */
  gcMaxMs: number;
  gcTotalMs: number;
  majorGcs: number;
}

/**
 * What stalled this process since the last reset: event-loop delay and GC pauses. A stall in any
 * process on the way from tick to browser shows up in the freshness tail; this tells which one.
 */
export interface PauseMonitor {
  read(): Pauses;
  reset(): void;
}

export function createPauseMonitor(): PauseMonitor {
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  let gcMaxMs = 0;
  let gcTotalMs = 0;
  let majorGcs = 0;
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      gcMaxMs = Math.max(gcMaxMs, entry.duration);
      gcTotalMs += entry.duration;
      if ((entry as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR) majorGcs++;
    }
  }).observe({ entryTypes: ['gc'] });
  return {
    read: () => ({ loopDelayP99Ms: loop.percentile(99) / 1e6, loopDelayMaxMs: loop.max / 1e6, gcMaxMs, gcTotalMs, majorGcs }),
    reset() {
      loop.reset();
      gcMaxMs = 0;
      gcTotalMs = 0;
      majorGcs = 0;
    },
  };
}
