import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { GONE_OPERATIONS, HANDLERS } from '../../sandbox/snaptrade/api-handlers.ts';
import { loadSnaptradeSpec } from '../../sandbox/snaptrade/openapi-spec.ts';

const README = fileURLToPath(new URL('../../sandbox/snaptrade/README.md', import.meta.url));
const PRODUCT_CLIENT = fileURLToPath(new URL('../../src/providers/snaptrade/client.ts', import.meta.url));

async function specOperationIds(): Promise<string[]> {
  const spec = await loadSnaptradeSpec();
  const paths = spec.document.paths as Record<string, Record<string, { operationId?: string }>>;
  return Object.values(paths).flatMap((item) =>
    Object.values(item)
      .map((op) => op?.operationId)
      .filter((id): id is string => typeof id === 'string'),
  );
}

/** The operationIds listed (`- \`Tag_operation\``) under each `## ` section of the README. */
function readmeLists(): Record<'emulated' | 'gone' | 'notImplemented', string[]> {
  const lists = { emulated: [] as string[], gone: [] as string[], notImplemented: [] as string[] };
  let current: keyof typeof lists | undefined;
  for (const line of readFileSync(README, 'utf8').split('\n')) {
    if (line.startsWith('## ')) {
      current = line.startsWith('## Emulated')
        ? 'emulated'
        : line.includes('410')
          ? 'gone'
          : line.includes('501')
            ? 'notImplemented'
            : undefined;
      continue;
    }
    const item = /^- `([A-Za-z]+_[A-Za-z0-9]+)`/.exec(line);
    if (item && current) lists[current].push(item[1]!);
  }
  return lists;
}

const sorted = (ids: Iterable<string>) => [...ids].sort();

describe('SnapTrade sandbox operation coverage', () => {
  it("lists in its README exactly the spec's emulated, 410 and 501 operations, each once", async () => {
    const ops = await specOperationIds();
    const lists = readmeLists();
    const handled = Object.keys(HANDLERS);
    expect(sorted(handled.filter((id) => !ops.includes(id))), 'handlers for operations the spec lacks').toEqual([]);
    expect(sorted(lists.emulated)).toEqual(sorted(handled));
    expect(sorted(lists.gone)).toEqual(sorted(GONE_OPERATIONS));
    expect(sorted(lists.notImplemented)).toEqual(sorted(ops.filter((id) => !HANDLERS[id] && !GONE_OPERATIONS.has(id))));
    const all = [...lists.emulated, ...lists.gone, ...lists.notImplemented];
    expect(all).toHaveLength(new Set(all).size);
    expect(sorted(all)).toEqual(sorted(ops));
  });

  it("has a handler for every SnapTrade call the product's client makes", async () => {
    const ops = await specOperationIds();
    const source = readFileSync(PRODUCT_CLIENT, 'utf8');
    const calls = [...source.matchAll(/this\.sdk\.(\w+)\.(\w+)\(/g)].map(([, namespace, method]) => ({
      namespace: namespace!,
      method: method!,
    }));
    expect(calls.length).toBeGreaterThan(0);
    for (const { namespace, method } of calls) {
      // operationId = Tag_method; the SDK namespace is the tag in camel case, except that some
      // operations sit in another namespace (experimentalEndpoints): then the method alone.
      const conventional = `${namespace[0]!.toUpperCase()}${namespace.slice(1)}_${method}`;
      const byMethod = ops.filter((id) => id.endsWith(`_${method}`));
      const operationId = ops.includes(conventional) ? conventional : byMethod.length === 1 ? byMethod[0] : undefined;
      expect(operationId, `${namespace}.${method} maps to a spec operation`).toBeDefined();
      expect(HANDLERS[operationId!], `${namespace}.${method} (${operationId}) has a handler`).toBeDefined();
    }
  });
});
