import { canonicalJson } from '../snaptrade/canonical-json.ts';
import { hmacBase64, signatureMatches } from '../snaptrade/signature.ts';

/**
 * The keys a webhook `Signature` may be made with: the consumer key, and during a rotation the
 * previous one (`SNAPTRADE_PREVIOUS_CONSUMER_KEY`). Every key is tried on every request (no early
 * exit), so timing does not reveal which one matched.
 */
export function webhookSigningKeys(config: {
  SNAPTRADE_CONSUMER_KEY?: string | undefined;
  SNAPTRADE_PREVIOUS_CONSUMER_KEY?: string | undefined;
}): string[] {
  const keys = [config.SNAPTRADE_CONSUMER_KEY, config.SNAPTRADE_PREVIOUS_CONSUMER_KEY].filter(
    (key): key is string => typeof key === 'string' && key.length > 0,
  );
  if (keys.length === 0) throw new Error('SNAPTRADE_CONSUMER_KEY is required to verify webhooks');
  return [...new Set(keys)];
}

/** Characters Python's `json.dumps` escapes by default (`ensure_ascii=True`): DEL and non-ASCII. */
const NON_ASCII = /[\u007f-\uffff]/g;
const HAS_NON_ASCII = /[\u007f-\uffff]/;

/**
 * The canonical JSON as Python's `json.dumps(payload, separators=(",", ":"), sort_keys=True)`
 * writes it (the recipe in SnapTrade's webhook docs): like ours, but with every non-ASCII UTF-16
 * code unit escaped as `\uXXXX` in lower-case hex. Identical to ours for ASCII-only payloads.
 */
function asciiEscaped(canonical: string): string {
  return canonical.replace(NON_ASCII, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * Checks a webhook's `Signature` header: base64 HMAC-SHA256 over the canonical JSON of the parsed
 * body, keyed with a consumer key, compared in constant time (`signatureMatches`). Payloads with
 * non-ASCII text are also checked against the ASCII-escaped form, because SnapTrade's documented
 * recipe (Python, `ensure_ascii` default) escapes it while the TypeScript SDK does not.
 */
export function verifyWebhookSignature(
  body: unknown,
  signature: string | undefined,
  keys: readonly string[],
): boolean {
  if (!signature) return false;
  const canonical = canonicalJson(body);
  const expected = keys.map((key) => hmacBase64(key, canonical));
  if (HAS_NON_ASCII.test(canonical)) {
    const escaped = asciiEscaped(canonical);
    for (const key of keys) expected.push(hmacBase64(key, escaped));
  }
  return signatureMatches(signature, expected);
}
