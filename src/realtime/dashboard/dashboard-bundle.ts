import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { build, type Metafile } from 'esbuild';

/** One file of the bundle as the router sends it. */
export interface BundleFile {
  code: string;
  /** Content hash, used as the ETag. */
  hash: string;
  /** `code` gzipped once at build time (level 9), for browsers that accept it: a third of the bytes. */
  gzip: Buffer;
}

export interface DashboardBundle extends BundleFile {
  /**
   * What `dashboard.js` imports, by its path beside it (`chunks/history-chart-<hash>.js`): the
   * value chart with lightweight-charts, loaded when the dashboard mounts it (not by the sign-in or
   * admin pages, and not before the totals and holdings are drawn), and code both share.
   */
  chunks: ReadonlyMap<string, BundleFile>;
  /** esbuild's account of the build (what each input takes of each output; bench:dashboard reads it). */
  metafile: Metafile;
}

const ENTRY = fileURLToPath(new URL('./browser/main.ts', import.meta.url));
const OUT = '/dashboard';

function bundleFile(contents: Uint8Array, code: string): BundleFile {
  const bytes = Buffer.from(contents);
  return { code, hash: createHash('sha256').update(bytes).digest('base64url').slice(0, 16), gzip: gzipSync(bytes, { level: 9 }) };
}

/**
 * Bundles the dashboard's browser code (our TypeScript, the portfolio store, socket.io-client and,
 * in a chunk of its own, lightweight-charts) into ES modules, in memory, and gzips them. Takes a
 * few hundred milliseconds; the router does it once.
 */
export async function buildDashboardBundle(options: { minify?: boolean } = {}): Promise<DashboardBundle> {
  const result = await build({
    entryPoints: [ENTRY],
    bundle: true,
    format: 'esm',
    splitting: true,
    outdir: OUT,
    entryNames: 'dashboard',
    chunkNames: 'chunks/[name]-[hash]',
    platform: 'browser',
    target: ['es2020'],
    minify: options.minify ?? true,
    sourcemap: false,
    legalComments: 'none',
    write: false,
    metafile: true,
    logLevel: 'silent',
  });
  const main = result.outputFiles.find((file) => file.path === `${OUT}/dashboard.js`);
  if (!main) throw new Error('esbuild produced no dashboard.js');
  const chunks = new Map<string, BundleFile>();
  for (const file of result.outputFiles) if (file !== main) chunks.set(file.path.slice(OUT.length + 1), bundleFile(file.contents, file.text));
  return { ...bundleFile(main.contents, main.text), chunks, metafile: result.metafile };
}
