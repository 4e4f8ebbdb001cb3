import { Alpaca, marketData, trading, type streaming } from '@alpacahq/alpaca-trade-api';

/**
 * The product's Alpaca client factory: a real SDK `Alpaca` instance, pointed at real Alpaca
 * (no URLs given) or at any compatible server such as the sandbox (URLs given). The SDK has no
 * REST base-URL option, so a `pre` middleware rewrites the SDK's built-in hosts to the given
 * ones; streams take explicit URLs.
 */

export type StockFeed = 'iex' | 'sip' | 'test' | 'delayed_sip';

export interface AlpacaClientConfig {
  keyId: string;
  secretKey: string;
  /** Trading REST base URL, e.g. `http://127.0.0.1:4123`. @default Alpaca's paper (or live) host */
  tradingUrl?: string;
  /** Market-data REST base URL. @default Alpaca's data host */
  dataUrl?: string;
  /**
   * Market-data stream base URL without the feed path (`ws://127.0.0.1:4123`); the feed is
   * appended as `/v2/{feed}`. @default derived from `dataUrl` (http -> ws), else Alpaca's
   */
  streamUrl?: string;
  /** Trading stream URL (trade_updates). @default `${tradingUrl as ws}/stream`, else Alpaca's */
  tradingStreamUrl?: string;
  /** @default true */
  paper?: boolean;
  /** @default 'iex' */
  feed?: StockFeed;
  /**
   * SDK-side rate limiting. Off by default: the engine shares one limiter across workers.
   * @default false
   */
  rateLimit?: trading.RateLimitConfig | false;
  /** SDK retry policy for idempotent calls. @default the SDK's (2 retries) */
  retry?: trading.RetryConfig | false;
  /** Per-request timeout in ms. @default 30000 */
  timeoutMs?: number;
  /** Extra SDK middleware (after the URL rewrite). */
  middleware?: trading.Middleware[];
}

export interface AlpacaClient {
  /** The SDK facade: `sdk.trading.*`, `sdk.marketData.*`. */
  sdk: Alpaca;
  /** A market-data stream (not yet connected) for the configured feed. */
  stockStream(options?: Omit<streaming.StockDataStreamOptions, 'credentials' | 'url' | 'feed'>): streaming.StockDataStream;
  /** A trade_updates stream (not yet connected). */
  tradingStream(options?: Omit<streaming.TradingStreamOptions, 'credentials' | 'url' | 'paper'>): streaming.TradingStream;
}

const TRADING_HOSTS = [trading.TRADING_PAPER_HOST, trading.TRADING_LIVE_HOST];
const DATA_HOSTS = [marketData.MARKET_DATA_HOST, marketData.MARKET_DATA_SANDBOX_HOST];

function trimSlash(url: string): string {
  return url.replace(/\/+$/, '');
}

function toWebSocketUrl(httpUrl: string): string {
  return trimSlash(httpUrl).replace(/^http(s?):\/\//, 'ws$1://');
}

/** Rewrite a URL whose origin is one of `hosts` onto `target`. */
function rebase(url: string, hosts: readonly string[], target: string | undefined): string | undefined {
  if (!target) return undefined;
  const host = hosts.find((h) => url === h || url.startsWith(`${h}/`) || url.startsWith(`${h}?`));
  return host === undefined ? undefined : trimSlash(target) + url.slice(host.length);
}

export function createAlpacaClient(config: AlpacaClientConfig): AlpacaClient {
  const rewrite: trading.Middleware = {
    async pre(context) {
      const url =
        rebase(context.url, TRADING_HOSTS, config.tradingUrl) ?? rebase(context.url, DATA_HOSTS, config.dataUrl) ?? context.url;
      return { url, init: context.init };
    },
  };
  const sdk = new Alpaca({
    keyId: config.keyId,
    secret: config.secretKey,
    paper: config.paper ?? true,
    rateLimit: config.rateLimit ?? false,
    retry: config.retry,
    timeoutMs: config.timeoutMs,
    middleware: [rewrite, ...(config.middleware ?? [])],
  });
  const feed = config.feed ?? 'iex';
  const streamBase = config.streamUrl ?? (config.dataUrl ? toWebSocketUrl(config.dataUrl) : undefined);
  const tradingStreamUrl = config.tradingStreamUrl ?? (config.tradingUrl ? `${toWebSocketUrl(config.tradingUrl)}/stream` : undefined);

  return {
    sdk,
    stockStream(options = {}) {
      if (streamBase) return sdk.marketData.stockStream({ ...options, url: `${trimSlash(streamBase)}/v2/${feed}` });
      // The SDK's feed type has no 'test'; real Alpaca's test feed needs an explicit URL anyway.
      return sdk.marketData.stockStream({ ...options, feed: feed === 'test' ? 'iex' : feed });
    },
    tradingStream(options = {}) {
      return sdk.trading.stream(tradingStreamUrl ? { ...options, url: tradingStreamUrl } : options);
    },
  };
}
