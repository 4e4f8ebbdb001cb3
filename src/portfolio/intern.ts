import { sameSecurityRef, type SecurityRef } from './security-identity.ts';

/**
 * One copy of the values many portfolios in a worker hold alike. The same securities, currency
 * codes, exchange codes and as-of times recur across the users a worker keeps in memory, and each
 * load from Postgres (or each `toISOString`) makes a fresh copy: with 10,000 portfolios of 25
 * holdings that was about 10 KB of heap per portfolio in bench:ticks. Interned values are never
 * mutated (a `SecurityRef` is complete once built), so sharing them changes no result.
 *
 * Each pool is bounded: once full it starts over, which only costs sharing, never correctness.
 */
const POOL_CAP = 200_000;

const strings = new Map<string, string>();
const refs = new Map<string, SecurityRef>();

/** The pool's copy of `text` (`text` itself the first time). */
export function internString(text: string): string {
  const known = strings.get(text);
  if (known !== undefined) return known;
  if (strings.size >= POOL_CAP) strings.clear();
  strings.set(text, text);
  return text;
}

/** The pool's ref equal to `ref` in every field (`ref` itself the first time). */
export function internSecurityRef(ref: SecurityRef): SecurityRef {
  const known = refs.get(ref.identityKey);
  if (known !== undefined && sameSecurityRef(known, ref)) return known;
  if (known === undefined && refs.size >= POOL_CAP) refs.clear();
  // A security whose row changed (a new description, say) replaces the old one from here on.
  refs.set(ref.identityKey, ref);
  return ref;
}

const keyLists = new Map<string, readonly string[]>();

/** The pool's list equal to `keys` element by element (a holding's facets: most are alike). */
export function internKeys(keys: readonly string[]): readonly string[] {
  const key = keys.join('\n');
  const known = keyLists.get(key);
  if (known !== undefined) return known;
  if (keyLists.size >= POOL_CAP) keyLists.clear();
  keyLists.set(key, keys);
  return keys;
}

/** `made`, or `known` when they are the same text (so a holding keeps one copy of equal figures). */
export function sameText(made: string, known: string | null | undefined): string;
export function sameText(made: string | null, known: string | null | undefined): string | null;
export function sameText(made: string | null, known: string | null | undefined): string | null {
  return made !== null && made === known ? known : made;
}
