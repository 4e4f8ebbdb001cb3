import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';

/**
 * The README promises a Node version; `package.json` says it in `engines`; every package the lock
 * file installs must run on it (an `engines` range that excludes it is a package that needs a
 * newer Node, npm's EBADENGINE). `.npmrc` makes npm refuse such a package instead of warning, so
 * `npm ci` in CI fails on the mismatch.
 */
// semver is installed as a dependency of bullmq and others: loaded untyped, two functions used.
const semver = createRequire(import.meta.url)('semver') as {
  satisfies(version: string, range: string): boolean;
  minVersion(range: string): { version: string } | null;
};

const read = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8');

interface LockedPackage {
  version?: string;
  engines?: { node?: string } | string[];
}

describe('the Node version we promise', () => {
  const promised = (JSON.parse(read('package.json')) as { engines: { node: string } }).engines.node;
  const oldest = semver.minVersion(promised)!.version;

  it('is the one the README names', () => {
    const [major, minor] = oldest.split('.');
    expect(read('README.md')).toContain(`Node.js ${major}.${minor} or newer`);
  });

  it('runs every package of the lock file, and npm refuses one that needs more', () => {
    const lock = JSON.parse(read('package-lock.json')) as { packages: Record<string, LockedPackage> };
    const needMore = Object.entries(lock.packages)
      .filter(([path]) => path !== '')
      .flatMap(([path, pkg]) => {
        const node = !pkg.engines || Array.isArray(pkg.engines) ? undefined : pkg.engines.node;
        return node && !semver.satisfies(oldest, node) ? [`${path}@${pkg.version}: node ${node}`] : [];
      });
    expect(needMore).toEqual([]);
    expect(read('.npmrc')).toMatch(/^engine-strict=true$/m);
  });
});
