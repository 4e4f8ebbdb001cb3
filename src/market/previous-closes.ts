import { setTimeout as sleep } from 'node:timers/promises';
import type { RedisClient as Redis } from '../runtime/redis-client.ts';
import type { Logger } from '../logging/logger.ts';
import type { AlpacaClient } from '../providers/alpaca/client.ts';
import type { StreamKeys } from '../../streams/keys.ts';

/**
 * Previous closes: the close of the session before the current one, per security, from Alpaca's
 * multi-symbol snapshots (`GET /v2/stocks/snapshots`, the `prevDailyBar` of each), so every
 * security the market role subscribes gets a day change, whichever brokerage holds it.
 *
 * The market role fetches them for newly subscribed securities and for all of them at each
 * session's open (Alpaca's clock says when), in chunks of `chunkSize` symbols, a few requests at a
 * time (a refresh of 10,000 securities at 100 a request is 100 requests, well within Alpaca's
 * 200 a minute), and writes them to one hash (`keys.previousCloses()`, ticker -> JSON `{c, t}`:
 * close and the bar's time, epoch ms), then bumps `keys.previousClosesVersion()`. Readers:
 * `readLastPrices` (activation, reads) merges them into the last prices; the workers' tick path
 * keeps a `PreviousCloseBook` that reloads the hash when the version moves.
 */

export interface PreviousClose {
  close: number;
  /** Time of the previous daily bar, epoch ms. */
  at: number;
}

export function encodePreviousClose(close: number, at: number): string {
  return `{"c":${close},"t":${at}}`;
}

export function decodePreviousClose(json: string): PreviousClose | undefined {
  try {
    const value = JSON.parse(json) as { c?: unknown; t?: unknown };
    if (typeof value.c !== 'number' || !Number.isFinite(value.c) || value.c < 0 || typeof value.t !== 'number') return undefined;
    return { close: value.c, at: value.t };
  } catch {
    return undefined;
  }
}

export interface PreviousCloseFetcherOptions {
  client: AlpacaClient;
  redis: Redis;
  keys: StreamKeys;
  /** Omitted for feeds REST does not know (`test`). */
  feed?: 'iex' | 'sip' | 'delayed_sip' | undefined;
  /** Symbols per snapshots request. */
  chunkSize: number;
  /** Requests in flight at once. @default 2 */
  concurrency?: number;
  /** Attempts per chunk before it waits for the next refresh. @default 5 */
  attempts?: number;
  /** First retry delay, doubled per attempt, jittered. @default 500 */
  initialRetryMs?: number;
  log?: Logger;
}

export interface PreviousCloseFetcher {
  /** Fetch and store the previous close of each symbol; resolves with how many were stored. */
  fetch(symbols: readonly string[]): Promise<number>;
  close(): void;
}

export function createPreviousCloseFetcher(options: PreviousCloseFetcherOptions): PreviousCloseFetcher {
  const { client, redis, keys, feed, chunkSize, log } = options;
  const concurrency = options.concurrency ?? 2;
  const attempts = options.attempts ?? 5;
  const initialRetryMs = options.initialRetryMs ?? 500;
  const closer = new AbortController();

  const wait = (ms: number) => sleep(ms, undefined, { signal: closer.signal }).catch(() => undefined);

  async function fetchChunk(symbols: readonly string[]): Promise<number> {
    for (let attempt = 0; attempt < attempts; attempt++) {
      if (closer.signal.aborted) return 0;
      try {
        const snapshots = await client.sdk.marketData.stocks.stockSnapshots(
          { symbols: symbols.join(','), ...(feed ? { feed } : {}) },
          { signal: closer.signal },
        );
        const args: string[] = [];
        for (const [symbol, snapshot] of Object.entries(snapshots ?? {})) {
          const bar = snapshot?.prevDailyBar;
          if (!bar || !Number.isFinite(bar.c) || bar.c < 0) continue;
          const at = bar.t instanceof Date ? bar.t.getTime() : Date.parse(String(bar.t));
          args.push(symbol, encodePreviousClose(bar.c, Number.isFinite(at) ? at : 0));
        }
        if (args.length > 0) await redis.hset(keys.previousCloses(), ...args);
        return args.length / 2;
      } catch (err) {
        if (closer.signal.aborted) return 0;
        const delay = initialRetryMs * 2 ** attempt * (0.5 + Math.random() / 2);
        log?.warn({ err, symbols: symbols.length, attempt: attempt + 1, retryInMs: Math.round(delay) }, 'snapshots request failed');
        await wait(delay);
      }
    }
    return 0;
  }

  return {
    async fetch(symbols) {
      if (symbols.length === 0 || closer.signal.aborted) return 0;
      const queue: string[][] = [];
      for (let i = 0; i < symbols.length; i += chunkSize) queue.push(symbols.slice(i, i + chunkSize));
      let stored = 0;
      const worker = async () => {
        for (let next = queue.shift(); next; next = queue.shift()) stored += await fetchChunk(next);
      };
      await Promise.all(Array.from({ length: Math.min(concurrency, queue.length) }, worker));
      if (stored > 0) await redis.incr(keys.previousClosesVersion());
      return stored;
    },
    close: () => closer.abort(),
  };
}

/**
 * Calls `onOpen` at each session's open, as Alpaca's clock (`GET /v2/clock`) announces it: reads
 * the clock, waits for `next_open` (a few seconds past it), calls, reads again. A failed read is
 * retried after `retryMs`. Stops with `stop()`.
 */
export function everySessionOpen(
  client: AlpacaClient,
  onOpen: () => Promise<unknown>,
  options: { retryMs?: number; afterOpenMs?: number; log?: Logger } = {},
): { stop(): void } {
  const retryMs = options.retryMs ?? 300_000;
  const afterOpenMs = options.afterOpenMs ?? 5_000;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const schedule = (ms: number) => {
    if (stopped) return;
    // setTimeout holds at most ~24.8 days; re-reading the clock sooner is harmless.
    timer = setTimeout(() => void next(), Math.min(Math.max(ms, 0), 2 ** 31 - 1));
    timer.unref();
  };
  let due = false;
  async function next(): Promise<void> {
    if (stopped) return;
    try {
      if (due) {
        due = false;
        await onOpen();
      }
      const clock = await client.sdk.trading.clock.legacyClock();
      const nextOpen = clock.nextOpen instanceof Date ? clock.nextOpen.getTime() : Date.parse(String(clock.nextOpen));
      if (!Number.isFinite(nextOpen)) throw new Error(`clock without next_open: ${String(clock.nextOpen)}`);
      due = true;
      schedule(nextOpen - Date.now() + afterOpenMs);
    } catch (err) {
      options.log?.warn({ err, retryInMs: retryMs }, 'reading the market clock failed');
      schedule(retryMs);
    }
  }
  void next();
  return {
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}

/** Previous closes of the given securities that have one. */
export async function readPreviousCloses(redis: Redis, keys: StreamKeys, symbols: readonly string[]): Promise<Map<string, PreviousClose>> {
  const out = new Map<string, PreviousClose>();
  if (symbols.length === 0) return out;
  const values = await redis.hmget(keys.previousCloses(), ...symbols);
  symbols.forEach((symbol, i) => {
    const value = values[i] ? decodePreviousClose(values[i]!) : undefined;
    if (value) out.set(symbol, value);
  });
  return out;
}

/**
 * The workers' copy of the previous closes for the tick path: `get` is a map lookup; `refresh`
 * (called about once a second) reads the version counter and reloads the whole hash only when the
 * market role rewrote it (a few times a day).
 */
export class PreviousCloseBook {
  private closes = new Map<string, number>();
  private version: string | null | undefined;

  constructor(
    private readonly redis: Redis,
    private readonly keys: StreamKeys,
  ) {}

  get(symbol: string): number | undefined {
    return this.closes.get(symbol);
  }

  get size(): number {
    return this.closes.size;
  }

  /** Reloads when the version moved; resolves true when it did. */
  async refresh(): Promise<boolean> {
    const version = await this.redis.get(this.keys.previousClosesVersion());
    if (version === this.version) return false;
    const all = await this.redis.hgetall(this.keys.previousCloses());
    const closes = new Map<string, number>();
    for (const [symbol, json] of Object.entries(all)) {
      const value = decodePreviousClose(json);
      if (value) closes.set(symbol, value.close);
    }
    this.closes = closes;
    this.version = version;
    return true;
  }
}
