import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

/**
 * `npm run demo` as a new user runs it, twice, on the same local data folder, the second time
 * with other SnapTrade keys: the stored registrations then belong to a sandbox that no longer
 * exists. Both runs start cleanly (their own Redis and Postgres under the folder), use the keys
 * they were given, show the demo portfolio, and stop on Ctrl-C.
 */
const dir = mkdtempSync(join(tmpdir(), 'foliostream-demo-'));

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

interface DemoRun {
  banner: string;
  stop(): Promise<number | null>;
}

async function startDemo(env: Record<string, string>): Promise<DemoRun> {
  const child = spawn(process.execPath, ['--max-semi-space-size=64', '--import', 'tsx', 'src/demo.ts'], {
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      LOCAL_SERVICES_DIR: dir,
      PORT: '0',
      SNAPTRADE_BASE_URL: 'http://127.0.0.1:0',
      ALPACA_TRADING_URL: 'http://127.0.0.1:0',
      LOG_LEVEL: 'warn',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const banner = await new Promise<string>((resolve, reject) => {
    const timer = setInterval(() => {
      const match = /-{78}\n([\s\S]*?)\n-{78}/.exec(out);
      if (match) {
        clearInterval(timer);
        resolve(match[1]!);
      }
    }, 100);
    void exited.then((code) => {
      clearInterval(timer);
      reject(new Error(`the demo exited (${code}) before it was ready:\n${out.slice(-3000)}`));
    });
  });
  return {
    banner,
    async stop() {
      child.kill('SIGINT');
      return exited;
    },
  };
}

describe('npm run demo', () => {
  it('starts cleanly on local data from a run whose sandbox had other SnapTrade keys, and uses the configured keys', async () => {
    const first = await startDemo({ SNAPTRADE_CLIENT_ID: 'FIRST-CLIENT', SNAPTRADE_CONSUMER_KEY: 'first-consumer-key-0123456789' });
    expect(first.banner).toMatch(/holds 7 securities across Questrade, Robinhood and Alpaca/);
    expect(first.banner).toContain('clientId=FIRST-CLIENT');
    expect(await first.stop()).toBe(0);

    const second = await startDemo({ SNAPTRADE_CLIENT_ID: 'SECOND-CLIENT', SNAPTRADE_CONSUMER_KEY: 'second-consumer-key-0123456789' });
    try {
      expect(second.banner).toMatch(/holds 7 securities across Questrade, Robinhood and Alpaca/);
      expect(second.banner).toContain('clientId=SECOND-CLIENT');
    } finally {
      expect(await second.stop()).toBe(0);
    }
  });
});
