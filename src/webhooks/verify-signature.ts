import { canonicalJson, HAS_NON_ASCII, pythonCanonicalJson } from '../snaptrade/canonical-json.ts';
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

/**
 * Checks a webhook's `Signature` header: base64 HMAC-SHA256 over the canonical JSON of the parsed
 * body, keyed with a consumer key, compared in constant time (`signatureMatches`). SnapTrade signs
 * the form of its documented Python recipe (non-ASCII escaped as `\uXXXX`); a payload with
 * non-ASCII text is also accepted when signed over the raw UTF-8 form, which is what a signer
 * built on the TypeScript SDK's canonical JSON produces. The two agree for ASCII-only payloads.
 */
export function verifyWebhookSignature(
  body: unknown,
  signature: string | undefined,
  keys: readonly string[],
): boolean {
  if (!signature) return false;
  const raw = canonicalJson(body);
  const forms = HAS_NON_ASCII.test(raw) ? [pythonCanonicalJson(body), raw] : [raw];
  const expected = forms.flatMap((form) => keys.map((key) => hmacBase64(key, form)));
  return signatureMatches(signature, expected);
}
