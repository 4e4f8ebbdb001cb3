import { readFileSync } from 'node:fs';
import type { RedisClient as Redis } from '../runtime/redis-client.ts';
import type { StreamKeys } from '../../streams/keys.ts';

/** The script's source, read once; see the header of `set-user-symbols.lua` for its contract. */
export const SET_USER_SYMBOLS_LUA = readFileSync(new URL('./scripts/set-user-symbols.lua', import.meta.url), 'utf8');

const COMMAND = 'fsSetUserSymbols';

/**
 * Alpaca-style US tickers: upper-case letters and digits, with `.`, `-` or `/` for share classes
 * (`BRK.B`). Anything else is a caller bug (a lower-case or blank ticker would make a second,
 * never-quoted security), so it throws instead of being stored.
 */
const SYMBOL = /^[A-Z0-9][A-Z0-9./-]{0,23}$/;

/** What one `setUserSymbols` call changed. */
export interface SymbolDiff {
  /** Newly held by this user. */
  added: string[];
  /** No longer held by this user. */
  removed: string[];
  /** Held by nobody before: an `add` was appended to the changes stream. */
  appeared: string[];
  /** Held by nobody now: a `remove` was appended to the changes stream. */
  disappeared: string[];
}

export interface SymbolCollector {
  /**
   * Replace the set of Alpaca-quotable securities `userId` holds (call after committing a change of
   * the user's holdings). Atomic and idempotent: calling again with the same set changes nothing.
   */
  setUserSymbols(userId: string, symbols: readonly string[]): Promise<SymbolDiff>;
  /** The user holds nothing any more (closed their last account, was deleted). */
  removeUser(userId: string): Promise<SymbolDiff>;
  /** Every security someone holds, sorted. */
  currentSymbols(): Promise<string[]>;
  /** The securities the collector has stored for one user, sorted. */
  userSymbols(userId: string): Promise<string[]>;
  /** Holders per security. */
  holderCounts(): Promise<Map<string, number>>;
}

export interface SymbolCollectorOptions {
  /** Approximate length the changes stream is trimmed to. @default 100000 */
  changesMaxLen?: number;
}

type ScriptReply = [string[], string[], string[], string[]];
type WithScript = Redis & Record<typeof COMMAND, (...args: (string | number)[]) => Promise<ScriptReply>>;

function checkUserId(userId: string): void {
  if (typeof userId !== 'string' || userId.length === 0 || userId.length > 200) {
    throw new TypeError(`bad user id ${JSON.stringify(userId)}`);
  }
}

/** Distinct, sorted, validated symbols. */
export function normalizeSymbols(symbols: readonly string[]): string[] {
  const distinct = new Set<string>();
  for (const symbol of symbols) {
    if (typeof symbol !== 'string' || !SYMBOL.test(symbol)) throw new TypeError(`bad symbol ${JSON.stringify(symbol)}`);
    distinct.add(symbol);
  }
  return [...distinct].sort();
}

/**
 * The set of securities anyone holds, kept current by the actors' calls (no scans, no polling
 * of tables). Per-user sets and per-security holder counts live in Redis under one hash tag and
 * change only through one Lua script (`scripts/set-user-symbols.lua`), which also appends the
 * subscribe/unsubscribe diffs the market-data ingester follows (`symbol-changes.ts`).
 */
export function createSymbolCollector(redis: Redis, keys: StreamKeys, options: SymbolCollectorOptions = {}): SymbolCollector {
  if (typeof (redis as unknown as Record<string, unknown>)[COMMAND] !== 'function') {
    redis.defineCommand(COMMAND, { numberOfKeys: 3, lua: SET_USER_SYMBOLS_LUA });
  }
  const changesMaxLen = options.changesMaxLen ?? 100_000;

  const setUserSymbols = async (userId: string, symbols: readonly string[]): Promise<SymbolDiff> => {
    checkUserId(userId);
    const wanted = normalizeSymbols(symbols);
    const [added, removed, appeared, disappeared] = await (redis as WithScript)[COMMAND](
      keys.userSymbols(userId),
      keys.symbolHolders(),
      keys.symbolChanges(),
      changesMaxLen,
      ...wanted,
    );
    return { added, removed, appeared, disappeared };
  };

  return {
    setUserSymbols,
    removeUser: (userId) => setUserSymbols(userId, []),
    async currentSymbols() {
      return (await redis.hkeys(keys.symbolHolders())).sort();
    },
    async userSymbols(userId) {
      checkUserId(userId);
      return (await redis.smembers(keys.userSymbols(userId))).sort();
    },
    async holderCounts() {
      const raw = await redis.hgetall(keys.symbolHolders());
      return new Map(Object.entries(raw).map(([symbol, count]) => [symbol, Number(count)]));
    },
  };
}
