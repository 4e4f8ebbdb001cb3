/**
 * Canonical JSON as SnapTrade signs it: keys sorted at every level, `,` and `:` separators, no
 * spaces, non-ASCII left as is. This mirrors the official TypeScript SDK (JSON.stringify with a
 * sorted key allow-list), so a signature we compute matches one the SDK or SnapTrade computes.
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeysDeep(value));
}

function sortKeysDeep(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeysDeep);
  if (value !== null && typeof value === 'object') {
    const source = value as Record<string, unknown>;
    const sorted: Record<string, unknown> = {};
    for (const key of Object.keys(source).sort()) sorted[key] = sortKeysDeep(source[key]);
    return sorted;
  }
  return value;
}
