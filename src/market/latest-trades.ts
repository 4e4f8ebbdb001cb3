import type { Logger } from '../logging/logger.ts';
import type { AlpacaClient } from '../providers/alpaca/client.ts';
import type { MarketMetrics } from './market-metrics.ts';

/**
 * Latest trades over Alpaca's REST API (`GET /v2/stocks/trades/latest` through the SDK), in
 * chunks of symbols, a few requests at a time, each retried with jittered backoff until it
 * succeeds, is superseded, or the fetcher closes. The market-data stream does not backfill what
 * it missed while disconnected, so the ingester refetches everything after each (re)connect;
 * that full refetch supersedes the retries of any earlier one.
 */

export type LatestTradeHandler = (symbol: string, price: number, at: number, size: number) => void;

export interface LatestTradesFetcherOptions {
  client: AlpacaClient;
  /** Data feed to ask for; omitted for feeds REST does not know (`test`). */
  feed?: 'iex' | 'sip' | 'delayed_sip' | undefined;
  /** Symbols per request (`MARKET_REST_CHUNK_SIZE`). */
  chunkSize: number;
  /** Requests in flight at once. @default 4 */
  concurrency?: number;
  /** First retry delay; doubles per attempt up to `maxRetryMs`, jittered. @default 500 */
  initialRetryMs?: number;
  /** @default 30000 */
  maxRetryMs?: number;
  onTrade: LatestTradeHandler;
  metrics?: MarketMetrics;
  log?: Logger;
}

export interface LatestTradesFetcher {
  /** Refetch all of these (after a connect): supersedes the retries of earlier rounds. */
  refetchAll(symbols: readonly string[]): Promise<void>;
  /** Fetch a few newly subscribed securities. */
  fetchSome(symbols: readonly string[]): Promise<void>;
  /** Abort requests in flight and pending retries. */
  close(): void;
}

function chunk<T>(items: readonly T[], size: number): T[][] {
  const chunks: T[][] = [];
  for (let i = 0; i < items.length; i += size) chunks.push(items.slice(i, i + size));
  return chunks;
}

export function createLatestTradesFetcher(options: LatestTradesFetcherOptions): LatestTradesFetcher {
  const { client, feed, chunkSize, onTrade, metrics, log } = options;
  const concurrency = options.concurrency ?? 4;
  const initialRetryMs = options.initialRetryMs ?? 500;
  const maxRetryMs = options.maxRetryMs ?? 30_000;
  const closer = new AbortController();
  let round = 0;

  const wait = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        closer.signal.removeEventListener('abort', done);
        resolve();
      }
      closer.signal.addEventListener('abort', done, { once: true });
    });

  async function fetchChunk(symbols: string[], ownRound: number): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      if (closer.signal.aborted || round !== ownRound) return;
      try {
        const response = await client.sdk.marketData.stocks.stockLatestTrades(
          { symbols: symbols.join(','), ...(feed ? { feed } : {}) },
          { signal: closer.signal },
        );
        metrics?.restRequest('ok');
        if (closer.signal.aborted) return;
        for (const [symbol, trade] of Object.entries(response.trades ?? {})) {
          const at = trade.t instanceof Date ? trade.t.getTime() : Date.parse(String(trade.t));
          if (Number.isFinite(trade.p) && Number.isFinite(at)) onTrade(symbol, trade.p, at, trade.s ?? 0);
        }
        return;
      } catch (err) {
        if (closer.signal.aborted) return;
        metrics?.restRequest('error');
        const hinted = (err as { retryAfterMs?: unknown }).retryAfterMs;
        const backoff = Math.min(initialRetryMs * 2 ** Math.min(attempt, 16), maxRetryMs) * (0.5 + Math.random() / 2);
        const delay = typeof hinted === 'number' && hinted > 0 ? Math.min(hinted, maxRetryMs) : backoff;
        if (attempt === 0 || attempt % 10 === 9) {
          log?.warn({ err, symbols: symbols.length, attempt: attempt + 1, retryInMs: Math.round(delay) }, 'latest-trades request failed; retrying');
        }
        await wait(delay);
      }
    }
  }

  async function run(symbols: readonly string[], ownRound: number): Promise<void> {
    if (symbols.length === 0 || closer.signal.aborted) return;
    metrics?.restRefetch(symbols.length);
    const queue = chunk(symbols, chunkSize);
    const worker = async () => {
      for (let next = queue.shift(); next; next = queue.shift()) await fetchChunk(next, ownRound);
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, queue.length) }, worker));
  }

  return {
    refetchAll: (symbols) => run(symbols, ++round),
    fetchSome: (symbols) => run(symbols, round),
    close: () => closer.abort(),
  };
}
