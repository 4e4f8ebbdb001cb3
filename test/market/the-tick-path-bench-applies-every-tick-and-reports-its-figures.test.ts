import { describe, expect, it } from 'vitest';
import { runBenchScript } from '../support/bench-script.ts';

/**
 * `npm run bench:tick-path`, CI-sized: 200 portfolios, one second of ticks per read interval,
 * against the suite's Redis (the bench uses a key namespace of its own and deletes it). Speed is
 * the benchmark's business; this proves that it hands every tick over in batches of the read
 * interval, that the product's path turns them into actor tasks and published deltas, and that it
 * reports CPU per tick for each read interval and way of sending with the ratio to the first, and one delta's serialization
 * in the wire's shortest forms and as full arrays.
 */
describe('bench:tick-path', () => {
  it('applies every tick in batches of each read interval and reports CPU per tick with its ratio', async () => {
    const env = {
      BENCH_USERS: '200',
      BENCH_HOLDINGS: '5',
      BENCH_SECURITIES: '100',
      BENCH_WATCHED: '50',
      BENCH_RATE: '1000',
      BENCH_SECONDS: '1',
      BENCH_READ_MS: '20,100',
      BENCH_SENDERS: 'commands,script',
      BENCH_REPEATS: '1',
      BENCH_WRITE: '0',
    };
    const { code, output } = await runBenchScript('bench/tick-path.ts', env, ['--expose-gc']);
    expect(code, output).toBe(0);

    const runs = output
      .split('\n')
      .filter((l) => l.startsWith('{"readMs"'))
      .map((l) => JSON.parse(l) as Record<string, number> & { sending: string });
    // Each read interval runs with each way of sending, on the same portfolios.
    expect(runs.map((r) => `${r.readMs} ${r.sending}`), output).toEqual(['20 commands', '20 script', '100 commands', '100 script']);
    for (const run of runs) {
      expect(run.ticks).toBe(1000);
      // 1,000 ticks a second in batches of the interval's share.
      expect(run.batches).toBe(Math.ceil(1000 / ((1000 * run.readMs!) / 1000)));
      expect(run.tasks).toBeGreaterThan(0);
      // A user's ticks of one batch are one task: never more tasks than watched users per batch.
      expect(run.tasks).toBeLessThanOrEqual(50 * run.batches!);
      expect(run.deltas).toBeGreaterThan(0);
      expect(run.repricings).toBeGreaterThanOrEqual(run.deltas!);
      expect(run.cpuUsPerTick).toBeGreaterThan(0);
      expect(Number.isFinite(run.cpuUsPerTick)).toBe(true);
    }
    expect(output).toContain('## Live prices, the tick path with fixed work (bench:tick-path)');
    expect(output).toMatch(
      /Median µs per tick: read every 20 ms, commands: [0-9.]+ µs \(1\.00\); read every 20 ms, script: [0-9.]+ µs \([0-9.]+\); read every 100 ms, commands: [0-9.]+ µs \([0-9.]+\); read every 100 ms, script: [0-9.]+ µs \([0-9.]+\)\./,
    );
    // One delta's serialization, short forms against full arrays: the short forms are the smaller text.
    const serialized = output.split('\n').filter((l) => l.startsWith('{"serialization"')).map((l) => (JSON.parse(l) as { serialization: Record<string, number> }).serialization);
    expect(serialized.map((r) => r.repricings), output).toEqual([3, 10]);
    for (const row of serialized) {
      expect(row.shortUs).toBeGreaterThan(0);
      expect(row.fullUs).toBeGreaterThan(0);
      expect(row.shortBytes).toBeLessThan(row.fullBytes!);
    }
  });
});
