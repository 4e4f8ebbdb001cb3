import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { createLogger, type Logger } from '../../src/logging/logger.ts';
import type { PriceBook } from '../market/price-book.types.ts';
import { tapeOf } from './assets.ts';
import { AlpacaBrokerage, type CreateAccountInput, type PositionInput, type SandboxAccount } from './brokerage.ts';
import { roundTo } from './decimal.ts';
import { MarketDataStreamServer, MARKET_DATA_PATHS } from './market-data-stream.ts';
import { MarketFeed } from './market-feed.ts';
import { FaultInjector, KeyRateLimiter, RequestCounter, type FaultConfig, type RequestCounts } from './request-guards.ts';
import { createRestApi } from './rest-api.ts';
import { TradeUpdatesStreamServer, TRADE_UPDATES_PATH } from './trade-updates-stream.ts';

/**
 * The Alpaca-compatible sandbox: one HTTP server with the trading and market-data REST APIs,
 * the market-data WebSocket (`/v2/iex`, `/v2/sip`, `/v2/test`) and the trading stream
 * (`/stream`), driven by a shared price book. Point the real SDK at `url` (REST, both trading
 * and data) and `wsUrl` (streams). The control methods are for the sandbox control API.
 */

export interface AlpacaSandboxOptions {
  /** Port to listen on; 0 picks a free one. */
  port: number;
  /** @default '127.0.0.1' */
  host?: string;
  priceBook: PriceBook;
  /** Key pair of the default account. */
  keyId: string;
  secretKey: string;
  /** Starting cash of the default account. @default 100000 */
  defaultCash?: number;
  logger?: Logger;
  /** Seed for account, order and execution ids and for fault injection. @default 1 */
  seed?: number;
  /** REST requests per minute per key; 0 disables. @default 200 */
  rateLimitPerMinute?: number;
  /** Most distinct symbols per market-data connection (error 405); 0 means no limit. @default 0 */
  symbolLimit?: number;
  /** Length of a streamed bar in ms (Alpaca: one minute). @default 60000 */
  barIntervalMs?: number;
  /** How often batched market-data frames are flushed. @default 20 */
  streamFlushIntervalMs?: number;
  /** Stream connections must authenticate within this time. @default 10000 */
  streamAuthTimeoutMs?: number;
  /** Most shares a resting order fills per tick (bigger ones fill in parts). @default Infinity */
  maxFillQtyPerTick?: number;
  /**
   * Clock for account, order, fill and activity times and for the REST clock (`/v2/clock`,
   * `/v3/clock`). Tick times come from the price book's own clock. @default () => new Date()
   */
  now?: () => Date;
}

export interface AlpacaSandboxAccountInfo {
  id: string;
  accountNumber: string;
  keyId: string;
  /** The account's API secret: the control API hands it to the user who links the account. */
  secretKey: string;
  cash: number;
  positions: Array<{ symbol: string; qty: number; costBasis: number; avgEntryPrice: number }>;
  openOrders: number;
}

export interface AlpacaSandbox {
  /** REST base URL (trading and market data), e.g. `http://127.0.0.1:4123`. */
  url: string;
  /** WebSocket base URL: market data at `${wsUrl}/v2/iex`, trade updates at `${wsUrl}/stream`. */
  wsUrl: string;
  port: number;
  /** The default account (the key pair from the options). */
  defaultAccountId: string;
  createAccount(input?: CreateAccountInput): AlpacaSandboxAccountInfo;
  /** Deposit (negative: withdraw) USD; returns the new cash balance. */
  fundAccount(accountIdOrKeyId: string, amount: number): number;
  /** Replace an account's positions. */
  setPositions(accountIdOrKeyId: string, positions: PositionInput[]): void;
  listAccounts(): AlpacaSandboxAccountInfo[];
  account(accountIdOrKeyId: string): AlpacaSandboxAccountInfo | undefined;
  /** Drop every market-data stream socket (clients should reconnect and resubscribe). */
  killMarketDataConnections(): number;
  /** Drop every trade_updates stream socket. */
  killTradeUpdateConnections(): number;
  /** Most distinct symbols per market-data connection; 0 removes the limit. */
  setSymbolLimit(limit: number): void;
  symbolLimit(): number;
  /** REST requests per minute per key; 0 disables. */
  setRateLimit(perMinute: number): void;
  rateLimit(): number;
  /** Fail REST requests at random with the given statuses; `undefined` stops. */
  setFaults(config: FaultConfig | undefined): void;
  /** Script market hours, rejections after acceptance and partial fills (`AlpacaBrokerage.setTradingScript`). */
  setTradingScript(script: Parameters<AlpacaBrokerage['setTradingScript']>[0]): void;
  tradingScript(): ReturnType<AlpacaBrokerage['tradingScript']>;
  /** The active fault config, if any. */
  faults(): FaultConfig | undefined;
  requestCounts(): RequestCounts;
  resetRequestCounts(): void;
  connectionCounts(): { marketData: number; tradeUpdates: number };
  /** The most market-data connections ever open at once (Alpaca allows one per key). */
  peakMarketDataConnections(): number;
  close(): Promise<void>;
}

function accountInfo(account: SandboxAccount): AlpacaSandboxAccountInfo {
  return {
    id: account.id,
    accountNumber: account.accountNumber,
    keyId: account.keyId,
    secretKey: account.secretKey,
    cash: account.cash,
    positions: [...account.positions.values()].map((p) => ({
      symbol: p.symbol,
      qty: p.qty,
      costBasis: p.costBasis,
      avgEntryPrice: p.qty === 0 ? 0 : roundTo(p.costBasis / p.qty, 6),
    })),
    openOrders: [...account.orders.values()].filter((o) => o.status === 'new' || o.status === 'partially_filled').length,
  };
}

export async function startAlpacaSandbox(options: AlpacaSandboxOptions): Promise<AlpacaSandbox> {
  const log = options.logger ?? createLogger('sandbox-alpaca');
  const book = options.priceBook;
  const seed = options.seed ?? 1;
  const host = options.host ?? '127.0.0.1';

  const now = options.now ?? (() => new Date());
  const brokerage = new AlpacaBrokerage({ priceBook: book, seed, maxFillQtyPerTick: options.maxFillQtyPerTick, now });
  const defaultAccount = brokerage.createAccount({ keyId: options.keyId, secretKey: options.secretKey, cash: options.defaultCash });
  const feed = new MarketFeed(book, { barIntervalMs: options.barIntervalMs });
  const stopMatching = feed.onTick((tick) => brokerage.handleTick(tick));
  const limiter = new KeyRateLimiter(options.rateLimitPerMinute ?? 200);
  const faults = new FaultInjector(seed);
  const counter = new RequestCounter();
  let symbolLimit = options.symbolLimit ?? 0;

  const marketData = new MarketDataStreamServer({
    feed,
    authenticate: (key, secret) => brokerage.authenticate(key, secret),
    tape: (symbol) => {
      const security = book.security(symbol);
      return security ? tapeOf(security) : 'C';
    },
    logger: log,
    symbolLimit: options.symbolLimit,
    flushIntervalMs: options.streamFlushIntervalMs,
    authTimeoutMs: options.streamAuthTimeoutMs,
  });
  const tradeUpdates = new TradeUpdatesStreamServer({ brokerage, logger: log, authTimeoutMs: options.streamAuthTimeoutMs });

  const app = createRestApi({ brokerage, book, feed, limiter, faults, counter, logger: log, now });
  const server = createServer(app);
  server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    const path = new URL(request.url ?? '/', 'http://sandbox').pathname.replace(/\/+$/, '');
    if (MARKET_DATA_PATHS.includes(path)) {
      marketData.handleUpgrade(request, socket, head, path.slice('/v2/'.length));
    } else if (path === TRADE_UPDATES_PATH) {
      tradeUpdates.handleUpgrade(request, socket, head);
    } else {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    }
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const urlHost = host.includes(':') ? `[${host}]` : host;
  const url = `http://${urlHost}:${port}`;
  log.info({ url, accountId: defaultAccount.id }, 'alpaca sandbox listening');

  const requireAccount = (idOrKeyId: string): SandboxAccount => {
    const account = brokerage.account(idOrKeyId);
    if (!account) throw new RangeError(`unknown Alpaca sandbox account ${idOrKeyId}`);
    return account;
  };

  let closed: Promise<void> | undefined;
  return {
    url,
    wsUrl: `ws://${urlHost}:${port}`,
    port,
    defaultAccountId: defaultAccount.id,
    createAccount(input) {
      const account = brokerage.createAccount(input);
      log.info({ accountId: account.id }, 'alpaca sandbox account created');
      return accountInfo(account);
    },
    fundAccount: (idOrKeyId, amount) => brokerage.fund(idOrKeyId, amount),
    setPositions(idOrKeyId, positions) {
      brokerage.setPositions(requireAccount(idOrKeyId).id, positions);
    },
    listAccounts: () => brokerage.accounts().map(accountInfo),
    account(idOrKeyId) {
      const account = brokerage.account(idOrKeyId);
      return account ? accountInfo(account) : undefined;
    },
    killMarketDataConnections: () => marketData.killAll(),
    killTradeUpdateConnections: () => tradeUpdates.killAll(),
    setSymbolLimit(limit) {
      marketData.setSymbolLimit(limit);
      symbolLimit = limit;
    },
    symbolLimit: () => symbolLimit,
    setRateLimit: (perMinute) => limiter.setLimit(perMinute),
    rateLimit: () => limiter.limit,
    setTradingScript(script) {
      brokerage.setTradingScript(script);
      log.info({ script: brokerage.tradingScript() }, 'alpaca sandbox trading script set');
    },
    tradingScript: () => brokerage.tradingScript(),
    setFaults(config) {
      faults.set(config);
      log.info({ faults: config ?? null }, 'alpaca sandbox faults set');
    },
    faults: () => (faults.current ? structuredClone(faults.current) : undefined),
    requestCounts: () => counter.snapshot(),
    resetRequestCounts: () => counter.reset(),
    connectionCounts: () => ({ marketData: marketData.connectionCount(), tradeUpdates: tradeUpdates.connectionCount() }),
    peakMarketDataConnections: () => marketData.peakConnectionCount(),
    close() {
      closed ??= new Promise<void>((resolve, reject) => {
        stopMatching();
        marketData.close();
        tradeUpdates.close();
        feed.close();
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      });
      return closed;
    },
  };
}
