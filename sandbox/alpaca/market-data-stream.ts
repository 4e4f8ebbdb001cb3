import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { decode, encode } from '@msgpack/msgpack';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import type { Logger } from '../../src/logging/logger.ts';
import type { SandboxTick } from '../market/price-book.types.ts';
import type { SandboxAccount } from './brokerage.ts';
import type { FeedBar, FeedQuote, MarketFeed } from './market-feed.ts';

/**
 * Alpaca's real-time stock data stream (`/v2/{iex,sip,test}`): the connected / auth /
 * subscribe handshake, error frames with Alpaca's codes, and trade, quote and bar frames
 * batched into arrays. Speaks msgpack when the client asks for it (the SDK sends
 * `Content-Type: application/msgpack`; timestamps go out as msgpack timestamp extensions,
 * which the SDK decodes) and JSON otherwise (timestamps as RFC 3339 strings).
 */

export const MARKET_DATA_PATHS: readonly string[] = ['/v2/iex', '/v2/sip', '/v2/test', '/v2/delayed_sip'];

/** Stream error codes and messages (the SDK's CONN_ERROR map). */
const STREAM_ERRORS = {
  invalidSyntax: { code: 400, msg: 'invalid syntax' },
  notAuthenticated: { code: 401, msg: 'not authenticated' },
  authFailed: { code: 402, msg: 'auth failed' },
  alreadyAuthenticated: { code: 403, msg: 'already authenticated' },
  authTimeout: { code: 404, msg: 'auth timeout' },
  symbolLimit: { code: 405, msg: 'symbol limit exceeded' },
  connectionLimit: { code: 406, msg: 'connection limit exceeded' },
  slowClient: { code: 407, msg: 'slow client' },
} as const;

/** Channels a client may subscribe to (as the SDK names them). */
const CHANNELS = ['trades', 'quotes', 'bars', 'updatedBars', 'dailyBars', 'statuses', 'lulds', 'imbalances'] as const;
type Channel = (typeof CHANNELS)[number];

type Frame = Record<string, unknown>;

interface StreamClient {
  ws: WebSocket;
  codec: 'msgpack' | 'json';
  feed: string;
  account?: SandboxAccount;
  subscriptions: Record<Channel, Set<string>>;
  pending: Frame[];
  authTimer?: NodeJS.Timeout;
}

export interface MarketDataStreamOptions {
  feed: MarketFeed;
  authenticate(keyId: string | undefined, secretKey: string | undefined): SandboxAccount | undefined;
  /** SIP tape (`z`) of a symbol. */
  tape(symbol: string): string;
  logger: Logger;
  /** Close a connection that has not authenticated within this time (error 404). @default 10000 */
  authTimeoutMs?: number;
  /** How often batched data frames are flushed to each client. @default 20 */
  flushIntervalMs?: number;
  /** Most data frames in one message. @default 1000 */
  maxFramesPerMessage?: number;
  /** Most distinct symbols per connection (error 405); 0 means no limit. @default 0 */
  symbolLimit?: number;
  /** Concurrent authenticated connections per key (error 406). @default 1 */
  connectionsPerKey?: number;
  /** A client with more unsent bytes than this is dropped as slow (error 407). @default 16 MiB */
  maxBufferedBytes?: number;
}

function emptySubscriptions(): Record<Channel, Set<string>> {
  return Object.fromEntries(CHANNELS.map((c) => [c, new Set<string>()])) as Record<Channel, Set<string>>;
}

function wants(set: Set<string>, symbol: string): boolean {
  return set.size > 0 && (set.has(symbol) || set.has('*'));
}

export class MarketDataStreamServer {
  private readonly wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
  private readonly clients = new Set<StreamClient>();
  private peak = 0;
  private readonly options: Required<Omit<MarketDataStreamOptions, 'feed' | 'authenticate' | 'tape' | 'logger'>>;
  private readonly feed: MarketFeed;
  private readonly authenticateKey: MarketDataStreamOptions['authenticate'];
  private readonly tape: MarketDataStreamOptions['tape'];
  private readonly log: Logger;
  private readonly flushTimer: NodeJS.Timeout;
  private readonly unsubscribers: Array<() => void>;

  constructor(options: MarketDataStreamOptions) {
    this.feed = options.feed;
    this.authenticateKey = options.authenticate;
    this.tape = options.tape;
    this.log = options.logger;
    this.options = {
      authTimeoutMs: options.authTimeoutMs ?? 10_000,
      flushIntervalMs: options.flushIntervalMs ?? 20,
      maxFramesPerMessage: options.maxFramesPerMessage ?? 1000,
      symbolLimit: options.symbolLimit ?? 0,
      connectionsPerKey: options.connectionsPerKey ?? 1,
      maxBufferedBytes: options.maxBufferedBytes ?? 16 * 1024 * 1024,
    };
    this.unsubscribers = [
      this.feed.onTick((tick, quote) => this.fanOutTick(tick, quote)),
      this.feed.onBars((bars) => this.fanOutBars(bars)),
    ];
    this.flushTimer = setInterval(() => this.flush(), this.options.flushIntervalMs);
    this.flushTimer.unref();
  }

  /** Most distinct symbols a connection may subscribe to; 0 removes the limit. */
  setSymbolLimit(limit: number): void {
    if (!Number.isInteger(limit) || limit < 0) throw new RangeError('symbol limit must be a non-negative integer');
    this.options.symbolLimit = limit;
  }

  connectionCount(): number {
    return this.clients.size;
  }

  /** The most connections ever open at once: every accepted one counted, not samples. */
  peakConnectionCount(): number {
    return this.peak;
  }

  /** Drop every connection abruptly (as a network failure would); returns how many. */
  killAll(): number {
    const count = this.clients.size;
    for (const client of [...this.clients]) this.drop(client, true);
    if (count > 0) this.log.info({ count }, 'killed market-data stream connections');
    return count;
  }

  handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer, feed: string): void {
    this.wss.handleUpgrade(request, socket, head, (ws) => this.accept(ws, request, feed));
  }

  close(): void {
    for (const unsubscribe of this.unsubscribers) unsubscribe();
    clearInterval(this.flushTimer);
    for (const client of [...this.clients]) this.drop(client, true);
    this.wss.close();
  }

  // --- connection lifecycle -------------------------------------------------------------

  private accept(ws: WebSocket, request: IncomingMessage, feed: string): void {
    const contentType = String(request.headers['content-type'] ?? '').toLowerCase();
    const client: StreamClient = {
      ws,
      codec: contentType.includes('msgpack') ? 'msgpack' : 'json',
      feed,
      subscriptions: emptySubscriptions(),
      pending: [],
    };
    this.clients.add(client);
    this.peak = Math.max(this.peak, this.clients.size);
    client.authTimer = setTimeout(() => {
      if (!client.account) this.fail(client, STREAM_ERRORS.authTimeout);
    }, this.options.authTimeoutMs);
    client.authTimer.unref();
    ws.on('message', (data, isBinary) => this.handleMessage(client, data, isBinary));
    ws.on('close', () => this.forget(client));
    ws.on('error', (err) => this.log.debug({ err }, 'market-data stream socket error'));
    this.send(client, [{ T: 'success', msg: 'connected' }]);
  }

  private forget(client: StreamClient): void {
    if (client.authTimer) clearTimeout(client.authTimer);
    client.pending = [];
    this.clients.delete(client);
  }

  private drop(client: StreamClient, abrupt: boolean): void {
    this.forget(client);
    if (abrupt) client.ws.terminate();
    else client.ws.close();
  }

  /** Send an error frame, then close the connection. */
  private fail(client: StreamClient, error: { code: number; msg: string }): void {
    this.send(client, [{ T: 'error', ...error }]);
    this.drop(client, false);
  }

  // --- inbound --------------------------------------------------------------------------

  private handleMessage(client: StreamClient, data: RawData, isBinary: boolean): void {
    let message: unknown;
    try {
      const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
      message = isBinary ? decode(bytes) : JSON.parse(bytes.toString('utf8'));
    } catch {
      // Binary frames that are not msgpack may still be JSON text sent as binary.
      try {
        const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
        message = JSON.parse(bytes.toString('utf8'));
      } catch {
        this.send(client, [{ T: 'error', ...STREAM_ERRORS.invalidSyntax }]);
        return;
      }
    }
    if (typeof message !== 'object' || message === null || Array.isArray(message)) {
      this.send(client, [{ T: 'error', ...STREAM_ERRORS.invalidSyntax }]);
      return;
    }
    const frame = message as Record<string, unknown>;
    switch (frame.action) {
      case 'auth':
        this.handleAuth(client, frame);
        return;
      case 'subscribe':
      case 'unsubscribe':
        this.handleSubscription(client, frame, frame.action === 'subscribe');
        return;
      default:
        this.send(client, [{ T: 'error', ...STREAM_ERRORS.invalidSyntax }]);
    }
  }

  private handleAuth(client: StreamClient, frame: Record<string, unknown>): void {
    if (client.account) {
      this.send(client, [{ T: 'error', ...STREAM_ERRORS.alreadyAuthenticated }]);
      return;
    }
    const key = typeof frame.key === 'string' ? frame.key : undefined;
    const secret = typeof frame.secret === 'string' ? frame.secret : undefined;
    const account = this.authenticateKey(key, secret);
    if (!account) {
      this.log.info({ feed: client.feed }, 'market-data stream auth failed');
      this.fail(client, STREAM_ERRORS.authFailed);
      return;
    }
    const sameKey = [...this.clients].filter((c) => c !== client && c.account?.keyId === account.keyId).length;
    if (sameKey >= this.options.connectionsPerKey) {
      this.log.info({ accountId: account.id }, 'market-data stream connection limit exceeded');
      this.fail(client, STREAM_ERRORS.connectionLimit);
      return;
    }
    client.account = account;
    if (client.authTimer) clearTimeout(client.authTimer);
    this.send(client, [{ T: 'success', msg: 'authenticated' }]);
  }

  private handleSubscription(client: StreamClient, frame: Record<string, unknown>, add: boolean): void {
    if (!client.account) {
      this.send(client, [{ T: 'error', ...STREAM_ERRORS.notAuthenticated }]);
      return;
    }
    const changes: Array<[Channel, string[]]> = [];
    for (const channel of CHANNELS) {
      const value = frame[channel];
      if (value === undefined) continue;
      if (!Array.isArray(value) || !value.every((s) => typeof s === 'string' && s.length > 0)) {
        this.send(client, [{ T: 'error', ...STREAM_ERRORS.invalidSyntax }]);
        return;
      }
      changes.push([channel, value as string[]]);
    }
    const next = Object.fromEntries(CHANNELS.map((c) => [c, new Set(client.subscriptions[c])])) as Record<Channel, Set<string>>;
    for (const [channel, symbols] of changes) {
      for (const symbol of symbols) {
        if (add) next[channel].add(symbol);
        else next[channel].delete(symbol);
      }
    }
    if (add && this.options.symbolLimit > 0) {
      const distinct = new Set<string>();
      for (const channel of CHANNELS) for (const symbol of next[channel]) distinct.add(symbol);
      if (distinct.size > this.options.symbolLimit) {
        this.send(client, [{ T: 'error', ...STREAM_ERRORS.symbolLimit }]);
        return;
      }
    }
    client.subscriptions = next;
    this.send(client, [this.subscriptionFrame(client)]);
  }

  /** The full current subscription set; corrections and cancel errors follow trades. */
  private subscriptionFrame(client: StreamClient): Frame {
    const list = (channel: Channel): string[] => [...client.subscriptions[channel]];
    return {
      T: 'subscription',
      trades: list('trades'),
      quotes: list('quotes'),
      bars: list('bars'),
      updatedBars: list('updatedBars'),
      dailyBars: list('dailyBars'),
      statuses: list('statuses'),
      lulds: list('lulds'),
      corrections: list('trades'),
      cancelErrors: list('trades'),
    };
  }

  // --- outbound -------------------------------------------------------------------------

  private fanOutTick(tick: SandboxTick, quote: FeedQuote): void {
    if (this.clients.size === 0) return;
    let trade: Frame | undefined;
    let quoteFrame: Frame | undefined;
    let tape: string | undefined;
    for (const client of this.clients) {
      if (!client.account) continue;
      if (wants(client.subscriptions.trades, tick.symbol)) {
        trade ??= { T: 't', S: tick.symbol, i: tick.id, x: tick.exchange, p: tick.price, s: tick.size, c: ['@'], t: tick.at, z: (tape ??= this.tape(tick.symbol)) };
        client.pending.push(trade);
      }
      if (wants(client.subscriptions.quotes, tick.symbol)) {
        quoteFrame ??= {
          T: 'q',
          S: tick.symbol,
          bx: quote.bidExchange,
          bp: quote.bidPrice,
          bs: quote.bidSize,
          ax: quote.askExchange,
          ap: quote.askPrice,
          as: quote.askSize,
          c: ['R'],
          t: quote.at,
          z: (tape ??= this.tape(tick.symbol)),
        };
        client.pending.push(quoteFrame);
      }
    }
  }

  private fanOutBars(bars: FeedBar[]): void {
    for (const client of this.clients) {
      if (!client.account || client.subscriptions.bars.size === 0) continue;
      for (const bar of bars) {
        if (!wants(client.subscriptions.bars, bar.symbol)) continue;
        client.pending.push({
          T: 'b',
          S: bar.symbol,
          o: bar.open,
          h: bar.high,
          l: bar.low,
          c: bar.close,
          v: bar.volume,
          t: bar.at,
          n: bar.tradeCount,
          vw: bar.vwap,
        });
      }
    }
  }

  private flush(): void {
    for (const client of this.clients) {
      if (client.pending.length === 0) continue;
      if (client.ws.bufferedAmount > this.options.maxBufferedBytes) {
        this.log.warn({ accountId: client.account?.id }, 'market-data stream client too slow; dropping it');
        this.fail(client, STREAM_ERRORS.slowClient);
        continue;
      }
      const frames = client.pending;
      client.pending = [];
      for (let i = 0; i < frames.length; i += this.options.maxFramesPerMessage) {
        this.send(client, frames.slice(i, i + this.options.maxFramesPerMessage));
      }
    }
  }

  private send(client: StreamClient, frames: Frame[]): void {
    if (client.ws.readyState !== client.ws.OPEN) return;
    client.ws.send(client.codec === 'msgpack' ? encode(frames) : JSON.stringify(frames));
  }
}
