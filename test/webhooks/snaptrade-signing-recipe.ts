import { createHmac } from 'node:crypto';

/**
 * SnapTrade's documented webhook signing recipe, written out independently of `src/snaptrade`
 * so the tests do not check our verifier against itself:
 *
 *     sig_content = json.dumps(payload, separators=(",", ":"), sort_keys=True)
 *     b64encode(hmac.new(CONSUMER_KEY.encode(), sig_content.encode(), sha256).digest())
 *
 * `json.dumps` defaults to `ensure_ascii=True`: every character outside printable ASCII
 * (and DEL) is written as a lower-case `\uXXXX` escape of its UTF-16 code units.
 */
export function pythonJsonDumpsSorted(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return `[${value.map(pythonJsonDumpsSorted).join(',')}]`;
  switch (typeof value) {
    case 'string':
      return pythonString(value);
    case 'number':
    case 'boolean':
      return JSON.stringify(value);
    case 'object': {
      const record = value as Record<string, unknown>;
      const keys = Object.keys(record).sort();
      return `{${keys.map((k) => `${pythonString(k)}:${pythonJsonDumpsSorted(record[k])}`).join(',')}}`;
    }
    default:
      throw new TypeError(`not JSON: ${typeof value}`);
  }
}

function pythonString(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const code = s.charCodeAt(i);
    const ch = s[i]!;
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (ch === '\b') out += '\\b';
    else if (ch === '\f') out += '\\f';
    else if (code < 0x20 || code >= 0x7f) out += `\\u${code.toString(16).padStart(4, '0')}`;
    else out += ch;
  }
  return `${out}"`;
}

/** The `Signature` header SnapTrade sends for `payload`, keyed with `consumerKey`. */
export function snaptradeSignature(consumerKey: string, payload: unknown): string {
  return createHmac('sha256', Buffer.from(consumerKey, 'utf8')).update(pythonJsonDumpsSorted(payload), 'utf8').digest('base64');
}

/**
 * A signature over the TypeScript SDK's canonical JSON (sorted keys, non-ASCII left as UTF-8):
 * what a signer built on that SDK produces, which differs from SnapTrade's for non-ASCII text.
 */
export function sdkStyleSignature(consumerKey: string, payload: unknown): string {
  const sorted = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(sorted);
    if (value === null || typeof value !== 'object') return value;
    const record = value as Record<string, unknown>;
    return Object.fromEntries(Object.keys(record).sort().map((k) => [k, sorted(record[k])]));
  };
  return createHmac('sha256', consumerKey).update(JSON.stringify(sorted(payload)), 'utf8').digest('base64');
}
