import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // One Redis and one Postgres for the whole run (REDIS_URL/DATABASE_URL when set); every test
    // file then owns its own database and key prefix, so files run in parallel.
    globalSetup: ['test/support/global-setup.ts'],
    pool: 'forks',
    // Guards against a hang, not speed limits: a CPU-bound property test that takes 5 s on an idle
    // machine took 34 s with two suites and other work on two cores (load 21).
    testTimeout: 300_000,
    hookTimeout: 300_000,
    teardownTimeout: 30_000,
    reporters: ['default'],
  },
});
