import { describe, expect, it } from 'vitest';
import { runBenchScript } from '../support/bench-script.ts';

/**
 * `npm run bench:ticks` in its worker-only mode (BENCH_DELIVERY=counting, Zipf ticks), CI-sized: a
 * few hundred users and one short step against the suite's Redis and Postgres (the bench makes and
 * drops a database and a key namespace of its own). Speed is the benchmark's business; this proves
 * only that the mode runs end to end and reports its figures: ticks written and read, the worker's
 * CPU per tick, deltas counted on the adapter channel with their freshness.
 */
describe('bench:ticks, worker-only mode', () => {
  it('runs a short step and reports the worker CPU per tick, the deltas it counted and the heap per actor', async () => {
    const env = {
      BENCH_DELIVERY: 'counting',
      BENCH_TICKS: 'zipf',
      BENCH_USERS: '200',
      BENCH_HOLDINGS: '5',
      BENCH_SECURITIES: '100',
      BENCH_CLIENTS: '50',
      BENCH_RATES: '500',
      BENCH_STEP_SECONDS: '3',
      BENCH_WARM_UP_SECONDS: '1',
      BENCH_MODES: 'incremental',
      BENCH_WRITE: '0',
    };
    const { code, output } = await runBenchScript('bench/ticks.ts', env);
    expect(code, output).toBe(0);

    const line = output.split('\n').find((l) => l.startsWith('[incremental] {'));
    expect(line, output).toBeDefined();
    const step = JSON.parse(line!.slice('[incremental] '.length)) as Record<string, number>;
    expect(step.target).toBe(500);
    expect(step.achieved).toBeGreaterThan(0);
    expect(step.workerUsPerTick).toBeGreaterThan(0);
    expect(Number.isFinite(step.workerUsPerTick)).toBe(true);
    expect(step.deltasPerSecond).toBeGreaterThan(0);
    expect(step.p99).toBeGreaterThan(0);
    expect(output).toContain('## Live prices, Zipf-skewed ticks (s = 1), the worker\'s cost (deltas counted on the adapter channel) (bench:ticks, BENCH_TICKS=zipf, BENCH_DELIVERY=counting)');
    expect(output).toMatch(/Worker CPU per tick \(incremental\), by rate: 500: [0-9.]+ µs\./);
    // The heap figures: forced GCs in the worker (it runs with --expose-gc), 200 actors in memory.
    expect(output).toMatch(/Worker heap per actor in memory .*incremental: [0-9,]+ bytes once 200 actors are active, [0-9,]+ bytes after the steps \(200 in memory;/);
  });
});
