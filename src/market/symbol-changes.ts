import type { RedisClient as Redis } from '../runtime/redis-client.ts';
import type { StreamKeys } from '../../streams/keys.ts';

/**
 * The symbol collector's changes stream (`keys.symbolChanges()`), as its readers see it: one
 * entry `op=add|remove symbol=<ticker>` each time a security's holder count goes 0 -> 1 or
 * 1 -> 0. The collector's Lua script writes it; the market-data ingester tails it.
 */

export type SymbolChangeOp = 'add' | 'remove';

export interface SymbolChange {
  /** Stream entry id. */
  id: string;
  op: SymbolChangeOp;
  symbol: string;
}

/** Stream id meaning "before any entry". */
export const STREAM_START = '0-0';

/** Decodes one XREAD/XRANGE entry; `undefined` for an entry that is not a symbol change. */
export function parseSymbolChange(id: string, fields: readonly string[]): SymbolChange | undefined {
  let op: string | undefined;
  let symbol: string | undefined;
  for (let i = 0; i + 1 < fields.length; i += 2) {
    if (fields[i] === 'op') op = fields[i + 1];
    else if (fields[i] === 'symbol') symbol = fields[i + 1];
  }
  if ((op !== 'add' && op !== 'remove') || !symbol) return undefined;
  return { id, op, symbol };
}

export interface SymbolSnapshot {
  /** Every security someone holds, sorted. */
  symbols: string[];
  /** The changes stream's last entry id when the set was read (`0-0` for an empty stream). */
  lastChangeId: string;
}

/**
 * The held-symbol union and the changes stream's last id, read in one MULTI (all keys share the
 * `{symbols}` hash tag): entries after `lastChangeId` are exactly the changes the set does not
 * yet reflect, so a reader that loads the snapshot and then tails from `lastChangeId` misses
 * nothing and applies nothing twice.
 */
export async function loadSymbolSnapshot(redis: Redis, keys: StreamKeys): Promise<SymbolSnapshot> {
  const results = await redis
    .multi()
    .xrevrange(keys.symbolChanges(), '+', '-', 'COUNT', 1)
    .hkeys(keys.symbolHolders())
    .exec();
  if (!results) throw new Error('symbol snapshot transaction was aborted');
  const [lastResult, holdersResult] = results;
  if (!lastResult || lastResult[0]) throw lastResult?.[0] ?? new Error('no reply for XREVRANGE');
  if (!holdersResult || holdersResult[0]) throw holdersResult?.[0] ?? new Error('no reply for HKEYS');
  const last = lastResult[1] as Array<[string, string[]]>;
  const symbols = (holdersResult[1] as string[]).slice().sort();
  return { symbols, lastChangeId: last[0]?.[0] ?? STREAM_START };
}
