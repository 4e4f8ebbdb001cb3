import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { collectLines } from '../support/log-lines.ts';

/**
 * `npm run demo` as a person runs it: the banner gives the portfolio's total as money (cents,
 * thousands separated), and Ctrl-C stops it with exit code 0 and without a warning (stopping
 * the market-data stream on purpose is not a lost stream).
 */
const dir = mkdtempSync(join(tmpdir(), 'foliostream-demo-banner-'));

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('npm run demo', () => {
  it('prints the total value as money and stops on Ctrl-C without a warning', async () => {
    const child = spawn(process.execPath, ['--max-semi-space-size=64', '--import', 'tsx', 'src/demo.ts'], {
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '',
        LOCAL_SERVICES_DIR: dir,
        PORT: '0',
        SNAPTRADE_BASE_URL: 'http://127.0.0.1:0',
        ALPACA_TRADING_URL: 'http://127.0.0.1:0',
        LOG_LEVEL: 'info',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const lines = collectLines(child);
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      const banner = await new Promise<string>((resolve, reject) => {
        const timer = setInterval(() => {
          const text = lines.map((l) => l.text).join('\n');
          const match = /-{78}\n([\s\S]*?)\n-{78}/.exec(text);
          if (match) {
            clearInterval(timer);
            resolve(match[1]!);
          }
        }, 100);
        void exited.then((code) => {
          clearInterval(timer);
          reject(new Error(`the demo exited (${code}) before it was ready:\n${lines.slice(-40).map((l) => l.text).join('\n')}`));
        });
      });
      expect(banner).toMatch(/total value \d{1,3}(,\d{3})*\.\d{2} USD\. AAPL is held in all three\./);

      const before = lines.length;
      child.kill('SIGINT');
      expect(await exited).toBe(0);
      const stopping = lines.slice(before);
      expect(stopping.some((l) => l.json?.msg === 'stopped')).toBe(true);
      expect(stopping.filter((l) => !l.json || (l.json.level as number) >= 40).map((l) => l.text)).toEqual([]);
    } finally {
      if (child.exitCode === null) {
        child.kill('SIGINT');
        await exited;
      }
    }
  });
});
