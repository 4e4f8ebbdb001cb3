import type { Server as HttpServer } from 'node:http';
import { createAdapter } from '@socket.io/redis-adapter';
import { realtimeAdapterParser, realtimeSocketParser } from './adapter-parser.ts';
import type { Registry } from 'prom-client';
import { Server, type Socket } from 'socket.io';
import type { UserTokenVerifier } from '../auth/user-tokens.ts';
import { securityHeaders } from '../http/security-headers.ts';
import type { Logger } from '../logging/logger.ts';
import { createRedisClient, type RedisTarget } from '../runtime/redis-client.ts';
import {
  userRoom,
  type ClientToServerEvents,
  type HandshakeErrorData,
  type InterServerEvents,
  type PortfolioSnapshotBody,
  type RealtimeErrorCode,
  type ServerToClientEvents,
  type SnapshotRequestResult,
  type SocketData,
} from './events.ts';
import { createPortfolioSequence, type PortfolioSequence } from './portfolio-sequence.ts';
import { realtimeKeys } from './realtime-keys.ts';
import { realtimeMetrics, type RealtimeMetrics } from './realtime-metrics.ts';
import { roomChannel, shardedAdapter } from './sharded-channels.ts';

export type RealtimeServer = Server<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>;
type RealtimeSocket = Socket<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>;

export interface RealtimeGatewayOptions {
  verifier: UserTokenVerifier;
  /** Redis of the adapter (pub/sub between web nodes and workers) and of the seq counters. */
  redisTarget: RedisTarget;
  /**
   * Builds the user's portfolio. The gateway reads the user's seq before calling it and stamps
   * it on the result, so it must only see changes whose deltas were numbered before it was called
   * or later (see `portfolio-sequence.ts`).
   */
  snapshot: (userId: string) => Promise<PortfolioSnapshotBody>;
  log: Logger;
  metrics: Registry;
  /**
   * Origins allowed to connect cross-origin (long-polling CORS). Unset: same origin only.
   * @default undefined
   */
  corsOrigin?: string | string[] | undefined;
  /**
   * Key namespace shared with the room emitters (`createRoomEmitter`) and coalescers.
   * @default 'fs'
   */
  namespace?: string;
  /**
   * Called when a user's first socket on this node connects, and when one leaves (presence:
   * the workers revalue only watched portfolios on price ticks).
   */
  onSocket?: { connected(userId: string): Promise<unknown>; disconnected(userId: string): void };
}

export interface RealtimeGateway {
  io: RealtimeServer;
  /** The seq counters the snapshots read (the coalescer of an in-process worker can share it). */
  sequence: PortfolioSequence;
  /**
   * Disconnects every client, unsubscribes and closes the Redis clients. The HTTP server stays
   * open: its owner closes it (after this, so the upgraded connections are gone).
   */
  close(): Promise<void>;
}

const EXPIRED_MESSAGE = /"exp" claim timestamp check failed/;
/** How long closing waits for the Redis clients' QUIT before dropping their connections. */
const QUIT_WAIT_MS = 2_000;
/** setTimeout's largest delay; a later expiry disconnects early and the client reconnects. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * The socket.io gateway of a web node. Handshake: `auth.token` must be a valid user JWT, or the
 * connection is refused with `connect_error` whose `data.code` is one of `FS_RT_TOKEN_*`. Each
 * socket joins `user:<userId>`, receives `portfolio:snapshot` at once, then whatever is emitted to
 * its room from any node or worker (Redis adapter). The socket is disconnected when its token
 * expires.
 */
export async function attachRealtimeGateway(
  httpServer: HttpServer,
  options: RealtimeGatewayOptions,
): Promise<RealtimeGateway> {
  const { verifier, log } = options;
  const keys = realtimeKeys(options.namespace);
  const metrics = realtimeMetrics(options.metrics);
  // On a cluster, sharded pub/sub (sharded-channels.ts): one channel per user's room, on one master.
  const sharded = options.redisTarget.cluster;
  const pubClient = createRedisClient(options.redisTarget, { name: 'foliostream-realtime-pub' });
  const subClient = createRedisClient(options.redisTarget, { name: 'foliostream-realtime-sub', shardedSubscriber: sharded });
  pubClient.on('error', (err) => log.warn({ err }, 'realtime redis (pub) error'));
  subClient.on('error', (err) => log.warn({ err }, 'realtime redis (sub) error'));
  const sequence = createPortfolioSequence(pubClient, keys);

  const io: RealtimeServer = new Server(httpServer, {
    serveClient: false,
    parser: realtimeSocketParser,
    adapter: sharded
      ? shardedAdapter(pubClient, subClient, keys.channelPrefix)
      : createAdapter(pubClient, subClient, { key: keys.channelPrefix, parser: realtimeAdapterParser }),
    ...(options.corsOrigin ? { cors: { origin: options.corsOrigin } } : {}),
  });
  // Long-polling answers come from engine.io, not Express: the same helmet headers as the rest.
  io.engine.use(securityHeaders);
  io.of('/').adapter.on('error', (err: unknown) => log.warn({ err }, 'realtime adapter error'));
  try {
    // The adapter PSUBSCRIBEd when the namespace was created; a reply to a later command on the
    // same connection means the subscription is in place, so nothing emitted after this is lost.
    // (Sharded: each room subscribes when its first socket joins; see onConnection.)
    await subClient.ping();
  } catch (err) {
    await closeAll(io, pubClient, subClient);
    throw err;
  }

  io.use((socket, next) => {
    const token: unknown = (socket.handshake.auth as Record<string, unknown> | undefined)?.token;
    if (typeof token !== 'string' || token === '') {
      next(refuse(metrics, 'FS_RT_TOKEN_MISSING', 'authentication required: pass the user token as auth.token'));
      return;
    }
    verifier.verify(token).then(
      ({ userId, payload }) => {
        socket.data.userId = userId;
        socket.data.tokenExpiresAt = (payload.exp ?? Number.POSITIVE_INFINITY) * 1000;
        next();
      },
      (err: unknown) => {
        const message = err instanceof Error ? err.message : 'invalid token';
        const code = EXPIRED_MESSAGE.test(message) ? 'FS_RT_TOKEN_EXPIRED' : 'FS_RT_TOKEN_INVALID';
        log.debug({ code, reason: message }, 'realtime handshake refused');
        next(refuse(metrics, code, code === 'FS_RT_TOKEN_EXPIRED' ? 'token expired' : 'invalid token'));
      },
    );
  });

  io.on('connection', (socket) => {
    void onConnection(socket).catch((err: unknown) => log.error({ err }, 'realtime connection setup failed'));
  });

  async function onConnection(socket: RealtimeSocket): Promise<void> {
    const { userId } = socket.data;
    metrics.connectedClients.inc();
    const expiryTimer = setTimeout(
      () => socket.disconnect(true),
      Math.min(Math.max(socket.data.tokenExpiresAt - Date.now(), 0), MAX_TIMER_MS),
    );
    expiryTimer.unref();
    socket.on('disconnect', () => {
      metrics.connectedClients.dec();
      clearTimeout(expiryTimer);
      options.onSocket?.disconnected(userId);
    });
    await options.onSocket?.connected(userId).catch((err: unknown) => log.warn({ err, userId }, 'presence update failed'));

    const requestSnapshot = snapshotSender(socket, userId);
    socket.on('portfolio:request-snapshot', (ack) => {
      const reply = typeof ack === 'function' ? ack : () => undefined;
      requestSnapshot('request').then(
        (seq) => reply({ ok: true, seq } satisfies SnapshotRequestResult),
        () =>
          reply({
            ok: false,
            error: { code: 'FS_RT_SNAPSHOT_UNAVAILABLE', message: 'snapshot unavailable, retry later' },
          }),
      );
    });
    // Join before the snapshot reads the seq: every delta numbered after that read is then
    // delivered to this socket.
    await socket.join(userRoom(userId));
    // Sharded: the adapter sent the room's SSUBSCRIBE on the join without waiting for it; the
    // reply to ours, on the same connection after it, says the room's channel is heard.
    if (sharded) await subClient.ssubscribe(roomChannel(keys.channelPrefix, userRoom(userId)));
    await requestSnapshot('connect').catch(() => undefined);
  }

  /**
   * Snapshots of one socket, one at a time: a request while one is being built waits for a fresh
   * one (at most one queued), so a client cannot pile up snapshot work.
   */
  function snapshotSender(socket: RealtimeSocket, userId: string) {
    let running: Promise<number> | undefined;
    let queued: Promise<number> | undefined;
    const start = (trigger: 'connect' | 'request'): Promise<number> => {
      const run = build(socket, userId, trigger).finally(() => {
        if (running === run) running = undefined;
      });
      running = run;
      return run;
    };
    return (trigger: 'connect' | 'request'): Promise<number> => {
      if (!running) return start(trigger);
      queued ??= running
        .catch(() => undefined)
        .then(() => {
          queued = undefined;
          return start(trigger);
        });
      return queued;
    };
  }

  async function build(socket: RealtimeSocket, userId: string, trigger: 'connect' | 'request'): Promise<number> {
    try {
      const seq = await sequence.current(userId);
      const body = await options.snapshot(userId);
      if (socket.connected) {
        socket.emit('portfolio:snapshot', { ...body, seq });
        metrics.snapshots.inc({ trigger });
      }
      return seq;
    } catch (err) {
      metrics.snapshotFailures.inc();
      log.error({ err, userId, trigger }, 'portfolio snapshot failed');
      throw err;
    }
  }

  let closing: Promise<void> | undefined;
  return {
    io,
    sequence,
    close() {
      closing ??= closeAll(io, pubClient, subClient);
      return closing;
    },
  };
}

function refuse(metrics: RealtimeMetrics, code: RealtimeErrorCode, message: string): Error {
  metrics.authFailures.inc({ code });
  const err = new Error(message) as Error & { data: HandshakeErrorData };
  err.data = { code };
  return err;
}

async function closeAll(io: RealtimeServer, ...clients: ReturnType<typeof createRedisClient>[]): Promise<void> {
  io.local.disconnectSockets(true);
  io.engine.close();
  // Not `adapter.close()`: it sends UNSUBSCRIBEs without awaiting them (an unhandled rejection
  // when Redis is down); closing the subscriber connection drops its subscriptions anyway.
  // QUIT waits for a reply, and on a cluster whose master just died (a subscriber per master)
  // none may come: after a short wait the connections are dropped anyway.
  const quitting = Promise.allSettled(clients.map((client) => client.quit()));
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([quitting, new Promise<void>((resolve) => (timer = setTimeout(resolve, QUIT_WAIT_MS)))]);
  clearTimeout(timer);
  for (const client of clients) client.disconnect();
}
