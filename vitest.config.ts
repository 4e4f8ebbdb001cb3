import { defineConfig } from 'vitest/config';
import { WAIT_FLOOR_MS } from './test/support/wait-floor.ts';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // One Redis and one Postgres for the whole run (REDIS_URL/DATABASE_URL when set); every test
    // file then owns its own database and key prefix, so files run in parallel.
    globalSetup: ['test/support/global-setup.ts'],
    pool: 'forks',
    // Vitest's default is one fork fewer than the CPUs: on a 2-core CI machine, one file at a time,
    // while most files wait on Redis, Postgres, child processes or timers. Two forks ran the whole
    // suite green in 743 s where one took 1,204 s (same machine, same load).
    maxWorkers: 2,
    // Guards against a hang, not speed limits: a CPU-bound property test that takes 5 s on an idle
    // machine took 34 s with two suites and other work on two cores (load 21).
    testTimeout: 300_000,
    hookTimeout: 300_000,
    teardownTimeout: 30_000,
    // expect.poll waits like `eventually`: its default second is a speed limit on a loaded machine.
    expect: { poll: { timeout: WAIT_FLOOR_MS } },
    reporters: ['default'],
  },
});
