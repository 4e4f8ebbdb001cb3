import { duplicateClient, type RedisClient as Redis } from '../runtime/redis-client.ts';
import type { streaming } from '@alpacahq/alpaca-trade-api';
import type { Logger } from '../logging/logger.ts';
import { createAlpacaClient, type AlpacaClient } from '../providers/alpaca/client.ts';
import type { AppContext } from '../runtime/context.ts';
import { createPreviousCloseFetcher, everySessionOpen } from './previous-closes.ts';
import { createLatestTradesFetcher } from './latest-trades.ts';
import { marketMetrics } from './market-metrics.ts';
import { createPriceWriter } from './price-writer.ts';
import { StalenessTracker } from './staleness.ts';
import { loadSymbolSnapshot, parseSymbolChange } from './symbol-changes.ts';
import { trackedSockets } from './market-data-sockets.ts';
import { asError } from '../runtime/as-error.ts';

/**
 * The `market` role: one Alpaca market-data connection (the SDK's stock stream) subscribed to
 * trades of every security someone holds, writing ticks to the sharded price streams.
 *
 * - The held set comes from the symbol collector: a consistent snapshot (set + the changes
 *   stream's last id, in one MULTI), then XREAD BLOCK on the changes stream from that id, each
 *   batch applied as a subscribe/unsubscribe diff. After a Redis failure the snapshot is reloaded
 *   and diffed against the subscription, so trimmed or missed entries cannot leave it wrong.
 * - One `StockDataStream` object for the ingester's whole life, reconnecting without a limit:
 *   the SDK never opens a second socket while one is open, so the ingester can never hold two
 *   connections (Alpaca allows one per key; a second gets error 406). Terminal auth failures
 *   (which the SDK does not retry) are retried here, slowly, on that same object.
 * - After every connect and authentication, the latest trade of every subscribed security is
 *   fetched over REST and written as a tick with `source: rest`: the stream does not backfill
 *   what happened while it was down. Newly held securities are fetched the same way.
 * - Previous closes (previous-closes.ts): Alpaca snapshots' previous daily bar of every held
 *   security at start, of each newly held one, and of all of them at each session's open.
 * - Staleness per security (time since its last tick) is tracked and exported as metrics.
 */

export interface MarketIngesterOptions {
  /** Alpaca client. @default one built from `ctx.config` (ALPACA_*) */
  client?: AlpacaClient;
  /** @default ctx.config.PRICE_SHARDS */
  shards?: number;
  /** @default ctx.config.PRICE_STREAM_MAXLEN */
  streamMaxLen?: number;
  /** @default ctx.config.MARKET_REST_CHUNK_SIZE */
  restChunkSize?: number;
  /** Stream reconnect backoff: doubles from `initialMs` up to `maxMs`, `±jitter` randomised. */
  reconnect?: { initialMs?: number; maxMs?: number; jitter?: number };
  /** Keepalive ping interval of the stream (0 disables). @default 10000 */
  pingIntervalMs?: number;
  /** REST retry backoff. @default { initialMs: 500, maxMs: 30000 } */
  restRetry?: { initialMs?: number; maxMs?: number };
  /** XREAD BLOCK timeout on the symbol changes stream. @default 5000 */
  changesBlockMs?: number;
  /** @default ctx.config.MARKET_STALE_AFTER_MS */
  staleAfterMs?: number;
  /** How often staleness and tick counters are pushed to the metrics. @default 1000 */
  metricsIntervalMs?: number;
  /**
   * The market-lease token the ingester runs under (market-lease.ts): its price writes carry it,
   * and it claims the price keys with it before it connects. @default 0 (no lease: tests)
   */
  token?: number;
  /** Called once when a price write is refused because a newer lease holder owns the keys. */
  onFenced?: () => void;
  log?: Logger;
}

export interface MarketIngesterStatus {
  /** The SDK stream's state: `connecting`, `connected`, `authenticated`, `waiting to reconnect`, `disconnected`. */
  connection: string;
  authenticated: boolean;
  /** Successful authentications (the first connect and every reconnect). */
  connects: number;
  reconnects: number;
  /** REST refetch rounds started (one per connect, one per batch of new securities). */
  restRefetches: number;
  subscribedSymbols: number;
  /** Trade subscriptions the server last confirmed on this connection (0 while disconnected). */
  confirmedSymbols: number;
  ticksReceived: { stream: number; rest: number };
  /** Ticks queued for Redis or in flight. */
  pendingWrites: number;
  /** Last symbol-changes entry applied. */
  changesCursor: string;
  /** Longest time any subscribed security has gone without a tick. */
  maxStalenessMs: number;
  /** Last error the stream reported, cleared by the next authentication. */
  lastError: string | undefined;
}

export interface MarketIngester {
  /**
   * Close the stream (first), stop following changes, write what is queued; `lost` (the lease is
   * gone) drops what is queued instead: the fence would refuse it.
   */
  stop(reason?: 'lost' | 'shutdown'): Promise<void>;
  status(): MarketIngesterStatus;
  /** Subscribed securities without a tick for longer than `thresholdMs`, stalest first. */
  staleSymbols(thresholdMs: number): string[];
  /** Securities the stream is subscribed to, sorted. */
  subscribedSymbols(): string[];
}

/** Stream errors after which the SDK closes for good instead of reconnecting. */
const TERMINAL_AUTH_ERRORS = new Set(['not authenticated', 'auth failed', 'auth timeout']);

/** Waits `ms`, or less when `signal` aborts. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

function clientFromConfig(ctx: AppContext): AlpacaClient {
  const config = ctx.config;
  return createAlpacaClient({
    keyId: config.ALPACA_KEY_ID,
    secretKey: config.ALPACA_SECRET_KEY,
    tradingUrl: config.ALPACA_TRADING_URL,
    dataUrl: config.ALPACA_DATA_URL,
    streamUrl: config.ALPACA_STREAM_URL,
    feed: config.ALPACA_FEED,
    // The ingester retries REST itself (latest-trades.ts).
    retry: false,
    timeoutMs: 10_000,
  });
}

export async function startMarketIngester(ctx: AppContext, options: MarketIngesterOptions = {}): Promise<MarketIngester> {
  const config = ctx.config;
  const log = options.log ?? ctx.log.child({ module: 'market' });
  const client = options.client ?? clientFromConfig(ctx);
  const metrics = marketMetrics(ctx.metrics);
  const staleAfterMs = options.staleAfterMs ?? config.MARKET_STALE_AFTER_MS;
  const reconnectMaxMs = options.reconnect?.maxMs ?? config.MARKET_RECONNECT_MAX_MS;
  const changesBlockMs = options.changesBlockMs ?? 5000;
  const changesKey = ctx.keys.symbolChanges();

  const writer = createPriceWriter(ctx.redis, ctx.keys, {
    shards: options.shards ?? config.PRICE_SHARDS,
    maxLen: options.streamMaxLen ?? config.PRICE_STREAM_MAXLEN,
    token: options.token ?? 0,
    onFenced: options.onFenced,
    metrics,
    log,
  });
  const staleness = new StalenessTracker();
  /** Securities someone holds, as the collector says. */
  const held = new Set<string>();
  /** Securities the stream has been told to subscribe to. */
  const subscribed = new Set<string>();

  let stopped = false;
  const stopping = new AbortController();
  let authenticated = false;
  let connects = 0;
  let reconnects = 0;
  let restRefetches = 0;
  let streamTicks = 0;
  let restTicks = 0;
  let reportedStreamTicks = 0;
  let reportedRestTicks = 0;
  let lastError: string | undefined;
  let cursor = '0-0';
  let authRetryTimer: NodeJS.Timeout | undefined;
  let confirmedSymbols = 0;

  const fetcher = createLatestTradesFetcher({
    client,
    feed: config.ALPACA_FEED === 'test' ? undefined : config.ALPACA_FEED,
    chunkSize: options.restChunkSize ?? config.MARKET_REST_CHUNK_SIZE,
    initialRetryMs: options.restRetry?.initialMs,
    maxRetryMs: options.restRetry?.maxMs,
    metrics,
    log,
    onTrade(symbol, price, at, size) {
      if (stopped || !subscribed.has(symbol)) return;
      restTicks++;
      // An answer older than a trade the stream already delivered only confirms freshness.
      if (staleness.observe(symbol, at)) writer.write(symbol, price, at, size, 'rest');
    },
  });

  const previousCloses = createPreviousCloseFetcher({
    client,
    redis: ctx.redis,
    keys: ctx.keys,
    feed: config.ALPACA_FEED === 'test' ? undefined : config.ALPACA_FEED,
    chunkSize: options.restChunkSize ?? config.MARKET_REST_CHUNK_SIZE,
    log,
  });
  const fetchPreviousCloses = (symbols: string[]) => {
    if (stopped || symbols.length === 0) return Promise.resolve(0);
    return previousCloses.fetch(symbols).catch((err: unknown) => {
      log.warn({ err, symbols: symbols.length }, 'storing previous closes failed');
      return 0;
    });
  };

  const refetch = (symbols: string[], all: boolean) => {
    if (stopped || symbols.length === 0) return;
    restRefetches++;
    void (all ? fetcher.refetchAll(symbols) : fetcher.fetchSome(symbols));
  };

  // --- the stream -----------------------------------------------------------------------

  const sockets = trackedSockets();
  const stream: streaming.StockDataStream = client.stockStream({
    wsFactory: sockets.factory,
    maxReconnectAttempts: -1,
    initialReconnectMs: options.reconnect?.initialMs ?? 1000,
    maxReconnectMs: reconnectMaxMs,
    reconnectJitter: options.reconnect?.jitter ?? 0.2,
    pingIntervalMs: options.pingIntervalMs ?? 10_000,
  });

  stream.onTrade((trade) => {
    const symbol = trade.symbol;
    if (!subscribed.has(symbol)) return; // in flight when it was unsubscribed
    streamTicks++;
    const at = trade.timestamp.getTime();
    staleness.observe(symbol, at);
    writer.write(symbol, trade.price, at, trade.size, 'stream');
  });
  stream.onConnect(() => {
    if (stopped) return;
    authenticated = true;
    connects++;
    lastError = undefined;
    metrics.connected(true);
    log.info({ connects, symbols: subscribed.size }, 'market-data stream authenticated; refetching latest prices');
    refetch([...subscribed], true);
  });
  stream.on('subscription', (subscriptions: unknown) => {
    confirmedSymbols = (subscriptions as { trades?: string[] }).trades?.length ?? 0;
  });
  stream.onReconnected(() => {
    reconnects++;
    metrics.reconnected();
  });
  stream.onStateChange((state) => {
    if (state === 'authenticated') return;
    // A stop (Ctrl-C, a deploy) disconnects on purpose: only an unasked-for loss is a warning.
    if (authenticated && !stopped) log.warn({ state }, 'market-data stream lost');
    authenticated = false;
    confirmedSymbols = 0;
    metrics.connected(false);
  });
  stream.onReconnecting((attempt) => log.info({ attempt }, 'market-data stream reconnecting'));
  stream.onError((message) => {
    lastError = message;
    if (stopped) return;
    if (TERMINAL_AUTH_ERRORS.has(message)) {
      // The SDK gives up after these (retrying bad keys would loop); a rotated key or an Alpaca
      // incident can still heal, so try again slowly on the same stream object.
      log.error({ error: message, retryInMs: reconnectMaxMs }, 'market-data stream authentication failed; check ALPACA_KEY_ID / ALPACA_SECRET_KEY');
      clearTimeout(authRetryTimer);
      authRetryTimer = setTimeout(() => {
        authRetryTimer = undefined;
        if (!stopped && stream.getState() === 'disconnected') stream.connect();
      }, reconnectMaxMs);
      authRetryTimer.unref();
    } else {
      log.warn({ error: message }, 'market-data stream error');
    }
  });

  /** Bring the stream's subscription in line with the held set. */
  const reconcile = (fetchNew: boolean) => {
    const removed: string[] = [];
    const added: string[] = [];
    for (const symbol of subscribed) if (!held.has(symbol)) removed.push(symbol);
    for (const symbol of held) if (!subscribed.has(symbol)) added.push(symbol);
    if (removed.length > 0) {
      for (const symbol of removed) {
        subscribed.delete(symbol);
        staleness.untrack(symbol);
      }
      stream.unsubscribeFromTrades(removed);
    }
    if (added.length > 0) {
      for (const symbol of added) {
        subscribed.add(symbol);
        staleness.track(symbol);
      }
      stream.subscribeForTrades(added);
    }
    metrics.subscribedSymbols(subscribed.size);
    if (removed.length > 0 || added.length > 0) log.info({ added: added.length, removed: removed.length, subscribed: subscribed.size }, 'market-data subscription changed');
    if (fetchNew) {
      refetch(added, false);
      void fetchPreviousCloses(added);
    }
  };

  const loadSnapshot = async (redis: Redis) => {
    const snapshot = await loadSymbolSnapshot(redis, ctx.keys);
    held.clear();
    for (const symbol of snapshot.symbols) held.add(symbol);
    cursor = snapshot.lastChangeId;
  };

  // --- the held set -----------------------------------------------------------------------

  await loadSnapshot(ctx.redis);
  // Before the connection: from here on no lower token (a lease holder that has not yet noticed
  // it lost) can write a price.
  if (!(await writer.claim())) throw new Error(`market lease token ${options.token ?? 0} is fenced: a newer holder owns the price streams`);
  reconcile(false); // the first authentication refetches everything (the backfill of a takeover too)
  stream.connect();
  // Previous closes of everything held now, then of everything subscribed at each session's open.
  void fetchPreviousCloses([...subscribed]);
  const sessionOpens = everySessionOpen(client, () => fetchPreviousCloses([...subscribed]), { log });

  const blocking = duplicateClient(ctx.redis, `foliostream-market-changes:${ctx.keys.namespace}`);
  blocking.on('error', (err) => log.debug({ err }, 'symbol-changes connection error'));

  /**
   * `promise`, or a rejection as soon as the ingester stops: a command queued on a connection that
   * is disconnected while it waits to reconnect (Redis down) never settles, and a stop (a lost
   * lease, a shutdown) must not wait for Redis to come back.
   */
  const untilStopped = <T>(promise: Promise<T>): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const onStop = () => reject(new Error('market ingester stopped'));
      if (stopping.signal.aborted) onStop();
      stopping.signal.addEventListener('abort', onStop, { once: true });
      promise.then(
        (value) => {
          stopping.signal.removeEventListener('abort', onStop);
          resolve(value);
        },
        (err: unknown) => {
          stopping.signal.removeEventListener('abort', onStop);
          reject(asError(err));
        },
      );
    });

  const followChanges = async () => {
    let failures = 0;
    let resync = false;
    while (!stopped) {
      try {
        if (resync) {
          await untilStopped(loadSnapshot(blocking));
          reconcile(true);
          resync = false;
          log.info({ symbols: held.size }, 'held symbols reloaded after a Redis failure');
        }
        const reply = (await untilStopped(blocking.call('XREAD', 'COUNT', 1000, 'BLOCK', changesBlockMs, 'STREAMS', changesKey, cursor))) as
          | Array<[string, Array<[string, string[]]>]>
          | null;
        failures = 0;
        const entries = reply?.[0]?.[1];
        if (stopped || !entries || entries.length === 0) continue;
        for (const [id, fields] of entries) {
          cursor = id;
          const change = parseSymbolChange(id, fields);
          if (!change) continue;
          if (change.op === 'add') held.add(change.symbol);
          else held.delete(change.symbol);
        }
        reconcile(true);
      } catch (err) {
        if (stopped) return;
        failures++;
        resync = true;
        if (failures === 1 || failures % 20 === 0) log.warn({ err, failures }, 'following symbol changes failed; retrying');
        await sleep(Math.min(100 * 2 ** Math.min(failures, 6), 5000), stopping.signal);
      }
    }
  };
  const following = followChanges();

  // --- metrics ------------------------------------------------------------------------------

  const report = () => {
    metrics.ticksReceived('stream', streamTicks - reportedStreamTicks);
    metrics.ticksReceived('rest', restTicks - reportedRestTicks);
    reportedStreamTicks = streamTicks;
    reportedRestTicks = restTicks;
    metrics.staleness(staleness.maxStalenessMs() / 1000, staleness.staleCount(staleAfterMs));
  };
  const metricsTimer = setInterval(report, options.metricsIntervalMs ?? 1000);
  metricsTimer.unref();

  log.info({ symbols: subscribed.size, changesFrom: cursor }, 'market ingester started');

  return {
    async stop(reason = 'shutdown') {
      if (stopped) return;
      stopped = true;
      // The connection goes first: after a lost lease the next holder must be able to connect.
      stream.disconnect();
      // And it is closed before this returns and the lease is released: Alpaca allows one data
      // connection per key, so a standby that connected while this close was still in flight would
      // be refused (a rolling restart under load saw two sockets open at once at the sandbox).
      const closeWaitMs = reason === 'lost' ? LOST_CLOSE_WAIT_MS : CLOSE_WAIT_MS;
      if (!(await sockets.closed(closeWaitMs))) log.warn({ waitedMs: closeWaitMs }, 'market-data socket did not close in time; terminated');
      stopping.abort();
      clearInterval(metricsTimer);
      clearTimeout(authRetryTimer);
      blocking.disconnect();
      await following;
      sessionOpens.stop();
      previousCloses.close();
      fetcher.close();
      const left = await writer.close(reason === 'lost' ? 0 : undefined);
      report();
      metrics.connected(false);
      log.info({ unwritten: left }, 'market ingester stopped');
    },
    status: () => ({
      connection: stream.getState(),
      authenticated,
      connects,
      reconnects,
      restRefetches,
      subscribedSymbols: subscribed.size,
      confirmedSymbols,
      ticksReceived: { stream: streamTicks, rest: restTicks },
      pendingWrites: writer.pending(),
      changesCursor: cursor,
      maxStalenessMs: staleness.maxStalenessMs(),
      lastError,
    }),
    staleSymbols: (thresholdMs) => staleness.staleSymbols(thresholdMs),
    subscribedSymbols: () => [...subscribed].sort(),
  };
}

/** How long a stop waits for the market-data socket's close handshake before cutting the connection. */
const CLOSE_WAIT_MS = 3_000;
/** The same after a lost lease, whose deadline is already near: the connection is cut sooner. */
const LOST_CLOSE_WAIT_MS = 500;
