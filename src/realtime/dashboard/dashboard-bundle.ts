import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

export interface DashboardBundle {
  code: string;
  /** Content hash, used as the ETag. */
  hash: string;
}

const ENTRY = fileURLToPath(new URL('./browser/main.ts', import.meta.url));

/**
 * Bundles the dashboard's browser code (our TypeScript, the portfolio store and socket.io-client)
 * into one ES module, in memory. Takes a few hundred milliseconds; the router does it once.
 */
export async function buildDashboardBundle(options: { minify?: boolean } = {}): Promise<DashboardBundle> {
  const result = await build({
    entryPoints: [ENTRY],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: ['es2020'],
    minify: options.minify ?? true,
    sourcemap: false,
    legalComments: 'none',
    write: false,
    logLevel: 'silent',
  });
  const file = result.outputFiles[0];
  if (!file) throw new Error('esbuild produced no output for the dashboard');
  return { code: file.text, hash: createHash('sha256').update(file.contents).digest('base64url').slice(0, 16) };
}
