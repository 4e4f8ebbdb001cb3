/**
 * Canonical JSON as SnapTrade's TypeScript SDK signs requests: keys sorted at every level, `,` and
 * `:` separators, no spaces, non-ASCII left as is (JSON.stringify with a sorted key allow-list).
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeysDeep(value, utf16Order));
}

/**
 * Canonical JSON as SnapTrade signs webhooks: its documented recipe is Python's
 * `json.dumps(payload, separators=(",", ":"), sort_keys=True)`. That sorts keys by code point and,
 * with `ensure_ascii` on by default, writes every character outside printable ASCII (DEL and
 * everything above it) as lower-case `\uXXXX` escapes of its UTF-16 code units. For ASCII-only
 * payloads it equals `canonicalJson`.
 */
export function pythonCanonicalJson(value: unknown): string {
  return JSON.stringify(sortKeysDeep(value, codePointOrder)).replace(ESCAPED_BY_PYTHON, escapeUnit);
}

/** JSON.stringify already escapes control characters as Python does; this adds DEL and up. */
const ESCAPED_BY_PYTHON = /[\u007f-\uffff]/g;
export const HAS_NON_ASCII = /[\u007f-\uffff]/;

function escapeUnit(unit: string): string {
  return `\\u${unit.charCodeAt(0).toString(16).padStart(4, '0')}`;
}

type KeyOrder = (a: string, b: string) => number;

const utf16Order: KeyOrder = (a, b) => (a < b ? -1 : a > b ? 1 : 0);

/** Python compares strings by code point; UTF-16 order differs only around astral characters. */
const codePointOrder: KeyOrder = (a, b) => {
  const x = [...a];
  const y = [...b];
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const d = x[i]!.codePointAt(0)! - y[i]!.codePointAt(0)!;
    if (d !== 0) return d;
  }
  return x.length - y.length;
};

function sortKeysDeep(value: unknown, order: KeyOrder): unknown {
  if (Array.isArray(value)) return value.map((item) => sortKeysDeep(item, order));
  if (value !== null && typeof value === 'object') {
    const source = value as Record<string, unknown>;
    const sorted: Record<string, unknown> = {};
    for (const key of Object.keys(source).sort(order)) sorted[key] = sortKeysDeep(source[key], order);
    return sorted;
  }
  return value;
}
