import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** Where `npm run replay` finds the engine: its Redis, Postgres, key namespace and partition count. */
export interface ReplayCliTarget {
  redisUrl: string;
  databaseUrl: string;
  namespace: string;
  partitionCount: number;
}

/**
 * `npm run replay -- ...args` against the target, as an operator runs it (its own process): exit
 * code and output. A run that does not exit within a minute is killed and answers its signal's code.
 */
export function replayCli(target: ReplayCliTarget, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', 'src/replay/replay-cli.ts', ...args],
      {
        cwd: fileURLToPath(new URL('../../', import.meta.url)),
        timeout: 60_000,
        env: {
          ...process.env,
          NODE_ENV: 'test',
          REDIS_URL: target.redisUrl,
          DATABASE_URL: target.databaseUrl,
          NAMESPACE: target.namespace,
          PARTITION_COUNT: String(target.partitionCount),
          LOG_LEVEL: 'error',
        },
      },
      (err, stdout, stderr) => resolve({ code: err ? Number((err as { code?: number }).code ?? 2) : 0, stdout, stderr }),
    );
  });
}
