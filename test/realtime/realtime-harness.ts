/**
 * Fast, unit-level harness for the socket.io gateway: real gateways (`attachRealtimeGateway`) on
 * plain HTTP servers, the real Redis adapter, room emitter and seq counters, and socket.io
 * clients. What it does not cover: the snapshot comes from `PortfolioBook`, an in-memory book of
 * hand-made holdings computed in floating point (`holding`, `totalsOf`), not from the read model
 * (`readPortfolio` over Postgres rows), and deltas are made by the test and emitted directly, not
 * by the portfolio actor through its commit, notifier and coalescer. So these tests say nothing
 * about the read model agreeing with the actor's deltas, or about a commit landing while a
 * snapshot is read from Postgres. `connect-snapshot-races-a-commit-on-the-real-read-model.test.ts`
 * covers that on the engine itself (`startTestEngine`): rows written by the actor, the web role's
 * gateway and read model, and the browser store ending equal to `GET /api/portfolio`.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { Registry } from 'prom-client';
import { io as connectClient, type Socket } from 'socket.io-client';
import { createUserTokenVerifier, issueUserToken, type UserTokenVerifier } from '../../src/auth/user-tokens.ts';
import type {
  ClientToServerEvents,
  HoldingView,
  PortfolioDelta,
  PortfolioSnapshot,
  PortfolioSnapshotBody,
  PortfolioTotals,
  ServerToClientEvents,
} from '../../src/realtime/events.ts';
import { attachRealtimeGateway, type RealtimeGateway } from '../../src/realtime/gateway.ts';
import { createPortfolioSequence, type PortfolioSequence } from '../../src/realtime/portfolio-sequence.ts';
import { realtimeKeys } from '../../src/realtime/realtime-keys.ts';
import { writeDeltaAfterSeq, type PendingDelta } from '../../src/realtime/pending-delta.ts';
import { RespWriter } from '../../src/runtime/resp-command.ts';
import { createRoomEmitter, type RoomEmitter } from '../../src/realtime/room-emitter.ts';
import { createTestRedis, type TestRedis } from '../support/redis.ts';
import { createRedisClient, singleRedis, type RedisClient } from '../../src/runtime/redis-client.ts';
import type { TestRedisCluster } from '../support/redis-cluster.ts';

export const SECRET = 'realtime-test-secret-0123456789-abcdefghij';

export type ClientSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

/** Test-controlled portfolios: what each gateway's `snapshot` function returns (not the read model). */
export class PortfolioBook {
  readonly bodies = new Map<string, PortfolioSnapshotBody>();
  /** The user of every snapshot build, in order. */
  readonly requested: string[] = [];
  /** While set, snapshot builds wait for it (to order a delta before the snapshot). */
  gate: Promise<void> | undefined;

  set(userId: string, holdings: HoldingView[], totals: PortfolioTotals = totalsOf(holdings)): void {
    this.bodies.set(userId, {
      asOf: new Date().toISOString(),
      baseCurrency: 'USD',
      totals,
      holdings,
      accounts: [
        { id: `${userId}-acct-1`, institution: 'Questrade', name: 'Margin', provider: 'snaptrade', status: 'open', connectionId: `${userId}-conn-1`, connectionStatus: 'active', cashBase: '500.00' },
        { id: `${userId}-acct-2`, institution: 'Alpaca', name: 'Internal', provider: 'alpaca', status: 'open', connectionId: `${userId}-conn-2`, connectionStatus: 'active', cashBase: null },
      ],
      connections: [
        { id: `${userId}-conn-1`, provider: 'snaptrade', externalId: `${userId}-auth-1`, brokerage: 'Questrade', status: 'active', statusReason: null, lastSyncedAt: null },
        { id: `${userId}-conn-2`, provider: 'alpaca', externalId: `${userId}-alpaca-1`, brokerage: 'Alpaca', status: 'active', statusReason: null, lastSyncedAt: null },
      ],
    });
  }

  readonly snapshot = async (userId: string): Promise<PortfolioSnapshotBody> => {
    this.requested.push(userId);
    if (this.gate) await this.gate;
    const body = this.bodies.get(userId);
    if (!body) throw new Error(`no portfolio for ${userId}`);
    return structuredClone(body);
  };
}

/** A holding whose id names its user, so a test sees at once whose data a client received. */
export function holding(userId: string, symbol: string, price: string, quantity = '10'): HoldingView {
  const value = (Number(price) * Number(quantity)).toFixed(2);
  return {
    id: `${userId}/${symbol}`,
    symbol,
    description: `${symbol} Inc.`,
    currency: 'USD',
    assetClass: 'equity',
    quantity,
    price,
    priceAsOf: new Date().toISOString(),
    priceSource: 'market',
    priceStale: false,
    marketValue: value,
    marketValueBase: value,
    costBasis: (100 * Number(quantity)).toFixed(2),
    unrealizedPl: (Number(value) - 100 * Number(quantity)).toFixed(2),
    dayChange: '1.50',
    unrealizedPlBase: (Number(value) - 100 * Number(quantity)).toFixed(2),
    dayChangeBase: '1.50',
    dayChangeMissing: null,
    positionsAsOf: new Date().toISOString(),
    accounts: [
      { accountId: `${userId}-acct-1`, institution: 'Questrade', quantity: '6', marketValue: (Number(price) * 6).toFixed(2), marketValueBase: (Number(price) * 6).toFixed(2) },
      {
        accountId: `${userId}-acct-2`,
        institution: 'Alpaca',
        quantity: String(Number(quantity) - 6),
        marketValue: (Number(price) * (Number(quantity) - 6)).toFixed(2),
        marketValueBase: (Number(price) * (Number(quantity) - 6)).toFixed(2),
      },
    ],
  };
}

export function totalsOf(holdings: HoldingView[]): PortfolioTotals {
  const sum = holdings.reduce((acc, h) => acc + Number(h.marketValueBase ?? 0), 0);
  return { totalValue: (sum + 500).toFixed(2), cash: '500.00', invested: sum.toFixed(2), costBasis: null, unrealizedPl: null, dayChange: null, holdingsCount: holdings.length, dayChangeHoldings: 0 };
}

/** Totals of a portfolio of one holding worth `value` and no cash. */
export function oneHoldingTotals(value: string): PortfolioTotals {
  return { totalValue: value, cash: '0', invested: value, costBasis: null, unrealizedPl: null, dayChange: null, holdingsCount: 1, dayChangeHoldings: 0 };
}

export interface WebNode {
  url: string;
  server: Server;
  gateway: RealtimeGateway;
  metrics: Registry;
  close(): Promise<void>;
}

export interface RealtimeHarness {
  redis: TestRedis;
  namespace: string;
  book: PortfolioBook;
  /** What a worker process has: its own Redis connection, the room emitter and the seq counter. */
  worker: { redis: RedisClient; emitter: RoomEmitter; sequence: PortfolioSequence };
  /** A web node; `verifier` replaces the harness's (HS256 with SECRET, default settings). */
  startWebNode(options?: { verifier?: UserTokenVerifier }): Promise<WebNode>;
  token(userId: string, ttlSeconds?: number): Promise<string>;
  connect(node: { url: string }, auth: Record<string, unknown>): ClientSocket;
  /** Closes every node and socket it opened, then deletes the test's keys. */
  close(): Promise<void>;
}

/** `cluster`: the web nodes and the worker connect to that Redis Cluster (which `close()` stops). */
export async function createRealtimeHarness(options: { cluster?: TestRedisCluster } = {}): Promise<RealtimeHarness> {
  const redis = options.cluster ?? (await createTestRedis());
  const target = options.cluster ? { urls: options.cluster.cluster.urls, cluster: true } : singleRedis(redis.url);
  const namespace = redis.prefix.replace(/:$/, '');
  const book = new PortfolioBook();
  const log = pino({ level: process.env.LOG_LEVEL ?? 'silent' });
  const verifier = createUserTokenVerifier({ secret: SECRET });
  const nodes: WebNode[] = [];
  const sockets: ClientSocket[] = [];
  const workerRedis = createRedisClient(target, { name: 'test-realtime-worker' });
  const worker = {
    redis: workerRedis,
    emitter: createRoomEmitter(workerRedis, { namespace }),
    sequence: createPortfolioSequence(workerRedis, realtimeKeys(namespace)),
  };

  return {
    redis,
    namespace,
    book,
    worker,
    async startWebNode(options = {}) {
      const server = createServer();
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const metrics = new Registry();
      const gateway = await attachRealtimeGateway(server, {
        verifier: options.verifier ?? verifier,
        redisTarget: target,
        snapshot: book.snapshot,
        log,
        metrics,
        namespace,
      });
      let closing: Promise<void> | undefined;
      const node: WebNode = {
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        server,
        gateway,
        metrics,
        close() {
          closing ??= gateway.close().then(
            () =>
              new Promise<void>((resolve) => {
                server.close(() => resolve());
                server.closeAllConnections();
              }),
          );
          return closing;
        },
      };
      nodes.push(node);
      return node;
    },
    token: (userId, ttlSeconds = 300) => issueUserToken(SECRET, userId, ttlSeconds),
    connect(node, auth) {
      const socket: ClientSocket = connectClient(node.url, {
        auth,
        transports: ['websocket'],
        forceNew: true,
        reconnection: false,
        autoConnect: false,
      });
      sockets.push(socket);
      return socket;
    },
    async close() {
      for (const socket of sockets) socket.disconnect();
      await Promise.all(nodes.map((n) => n.close()));
      workerRedis.disconnect();
      await redis.cleanup();
    },
  };
}

/** Everything one client socket received, in order. */
export interface Received {
  snapshots: PortfolioSnapshot[];
  deltas: PortfolioDelta[];
}

export function record(socket: ClientSocket): Received {
  const received: Received = { snapshots: [], deltas: [] };
  socket.on('portfolio:snapshot', (s) => received.snapshots.push(s));
  socket.on('portfolio:delta', (d) => received.deltas.push(d));
  return received;
}

export function connected(socket: ClientSocket): Promise<void> {
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', reject);
    socket.connect();
  });
}

/** Resolves once `predicate` holds, checking every 10 ms; fails after `timeoutMs` with `what`. */
export async function until(predicate: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

export const uniqueUser = (label: string) => `${label}-${randomUUID().slice(0, 8)}`;

/** What a delta sender writes of `pending` after `{"seq":<seq>`, as text (from a buffer too small at first, so it grows). */
export function deltaTextAfterSeq(pending: PendingDelta): string {
  const out = new RespWriter(1);
  writeDeltaAfterSeq(pending, out);
  return out.bytes().toString('utf8');
}
