import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import type { Logger } from '../../src/logging/logger.ts';
import type { AlpacaBrokerage, SandboxAccount, SandboxTradeUpdate } from './brokerage.ts';
import { tradeUpdateJson } from './wire-format.ts';

/**
 * Alpaca's trading stream (`/stream`, JSON): authenticate with the account's key pair,
 * listen to `trade_updates`, then receive that account's order events (new, fill,
 * partial_fill, canceled) as they happen.
 */

export const TRADE_UPDATES_PATH = '/stream';

interface TradingClient {
  ws: WebSocket;
  account?: SandboxAccount;
  streams: Set<string>;
  authTimer?: NodeJS.Timeout;
}

export interface TradeUpdatesStreamOptions {
  brokerage: AlpacaBrokerage;
  logger: Logger;
  /** Close a connection that has not authenticated within this time. @default 10000 */
  authTimeoutMs?: number;
}

const SUPPORTED_STREAMS = new Set(['trade_updates']);

export class TradeUpdatesStreamServer {
  private readonly wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
  private readonly clients = new Set<TradingClient>();
  private readonly brokerage: AlpacaBrokerage;
  private readonly log: Logger;
  private readonly authTimeoutMs: number;
  private readonly unsubscribe: () => void;

  constructor(options: TradeUpdatesStreamOptions) {
    this.brokerage = options.brokerage;
    this.log = options.logger;
    this.authTimeoutMs = options.authTimeoutMs ?? 10_000;
    this.unsubscribe = this.brokerage.onTradeUpdate((update) => this.publish(update));
  }

  handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    this.wss.handleUpgrade(request, socket, head, (ws) => this.accept(ws));
  }

  connectionCount(): number {
    return this.clients.size;
  }

  /** Drop every connection abruptly; returns how many. */
  killAll(): number {
    const count = this.clients.size;
    for (const client of [...this.clients]) {
      this.forget(client);
      client.ws.terminate();
    }
    if (count > 0) this.log.info({ count }, 'killed trade_updates stream connections');
    return count;
  }

  close(): void {
    this.unsubscribe();
    this.killAll();
    this.wss.close();
  }

  private accept(ws: WebSocket): void {
    const client: TradingClient = { ws, streams: new Set() };
    this.clients.add(client);
    client.authTimer = setTimeout(() => {
      if (client.account) return;
      this.send(client, { stream: 'authorization', data: { action: 'authenticate', status: 'unauthorized' } });
      this.forget(client);
      ws.close();
    }, this.authTimeoutMs);
    client.authTimer.unref();
    ws.on('message', (data) => this.handleMessage(client, data));
    ws.on('close', () => this.forget(client));
    ws.on('error', (err) => this.log.debug({ err }, 'trade_updates stream socket error'));
  }

  private forget(client: TradingClient): void {
    if (client.authTimer) clearTimeout(client.authTimer);
    this.clients.delete(client);
  }

  private handleMessage(client: TradingClient, data: RawData): void {
    let frame: Record<string, unknown>;
    try {
      const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
      const parsed: unknown = JSON.parse(bytes.toString('utf8'));
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new TypeError('not an object');
      frame = parsed as Record<string, unknown>;
    } catch {
      this.send(client, { action: 'error', data: { error_message: 'invalid syntax' } });
      return;
    }
    const payload = (typeof frame.data === 'object' && frame.data !== null ? frame.data : {}) as Record<string, unknown>;
    if (frame.action === 'authenticate' || frame.action === 'auth') {
      const keyId = typeof payload.key_id === 'string' ? payload.key_id : undefined;
      const secret = typeof payload.secret_key === 'string' ? payload.secret_key : undefined;
      const account = this.brokerage.authenticate(keyId, secret);
      if (!account) {
        this.log.info('trade_updates stream auth failed');
        this.send(client, { stream: 'authorization', data: { action: 'authenticate', status: 'unauthorized' } });
        this.forget(client);
        client.ws.close();
        return;
      }
      client.account = account;
      if (client.authTimer) clearTimeout(client.authTimer);
      this.send(client, { stream: 'authorization', data: { action: 'authenticate', status: 'authorized' } });
      return;
    }
    if (frame.action === 'listen') {
      if (!client.account) {
        this.send(client, { stream: 'authorization', data: { action: 'listen', status: 'unauthorized' } });
        return;
      }
      const requested = Array.isArray(payload.streams) ? payload.streams.filter((s): s is string => typeof s === 'string') : [];
      client.streams = new Set(requested.filter((s) => SUPPORTED_STREAMS.has(s)));
      this.send(client, { stream: 'listening', data: { streams: [...client.streams] } });
      return;
    }
    this.send(client, { action: 'error', data: { error_message: 'invalid syntax' } });
  }

  private publish(update: SandboxTradeUpdate): void {
    let message: string | undefined;
    for (const client of this.clients) {
      if (client.account?.id !== update.accountId || !client.streams.has('trade_updates')) continue;
      message ??= JSON.stringify({ stream: 'trade_updates', data: tradeUpdateJson(update) });
      if (client.ws.readyState === client.ws.OPEN) client.ws.send(message);
    }
  }

  private send(client: TradingClient, message: unknown): void {
    if (client.ws.readyState === client.ws.OPEN) client.ws.send(JSON.stringify(message));
  }
}
