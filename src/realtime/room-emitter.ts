import { Emitter } from '@socket.io/redis-emitter';
import { isCluster, type RedisClient as Redis } from '../runtime/redis-client.ts';
import type {
  ActivitiesUpdate,
  ConnectionAttempt,
  ConnectionStatus,
  HistoryPointUpdate,
  OrderUpdate,
  PortfolioDelta,
  PortfolioSnapshot,
  ServerToClientEvents,
  SessionEnded,
  SyncStatus,
} from './events.ts';
import { userRoom } from './events.ts';
import { RawJson, realtimeAdapterParser } from './adapter-parser.ts';
import { realtimeKeys } from './realtime-keys.ts';
import { shardedRoomPublisher } from './sharded-channels.ts';

/**
 * How a process without an HTTP server (a worker, the market role) pushes to a user's browsers:
 * it publishes on the socket.io Redis adapter's channel of the room `user:<id>`, and every web
 * node with a socket in that room delivers it. Each call resolves with the number of web nodes
 * that received the message (0 when none is subscribed), or rejects when Redis does. On a Redis
 * Cluster the channel is a sharded one (`SPUBLISH`, sharded-channels.ts): only the master serving
 * the room's slot carries it, to the web nodes with a socket in the room.
 */
export interface RoomEmitter {
  /**
   * Replaces the state of every open tab of the user (after a replay, say). Its `seq` must be
   * `PortfolioSequence.current(userId)` read BEFORE the portfolio was read, like the gateway's.
   */
  snapshot(userId: string, snapshot: PortfolioSnapshot): Promise<number>;
  /** Normally sent by the delta coalescer, which numbers it. */
  delta(userId: string, delta: PortfolioDelta): Promise<number>;
  syncStatus(userId: string, status: SyncStatus): Promise<number>;
  connectionStatus(userId: string, status: ConnectionStatus): Promise<number>;
  connectionAttempt(userId: string, attempt: ConnectionAttempt): Promise<number>;
  orderUpdate(userId: string, order: OrderUpdate): Promise<number>;
  historyPoint(userId: string, point: HistoryPointUpdate): Promise<number>;
  activitiesUpdate(userId: string, update: ActivitiesUpdate): Promise<number>;
  /** Tells every open tab of the user why their session is over, then closes their sockets. */
  endSessions(userId: string, ended: SessionEnded): Promise<number>;
}

export interface RoomEmitterOptions {
  /**
   * Key namespace shared with the gateways (`attachRealtimeGateway`'s `namespace`).
   * @default 'fs'
   */
  namespace?: string;
}

/**
 * `redis` is a regular (non-subscriber) connection; it is used only to PUBLISH and is not closed
 * here. Messages published on one connection reach each web node in order, so a worker's deltas
 * for one user arrive in the order of their seq as long as it emits them in that order.
 */
export function createRoomEmitter(redis: Redis, options: RoomEmitterOptions = {}): RoomEmitter {
  const prefix = realtimeKeys(options.namespace).channelPrefix;
  return roomEmitterOf(isCluster(redis) ? shardedRoomPublisher(redis, prefix) : classicRoomPublisher(redis, prefix));
}

/** How a room message leaves this process: the classic adapter's channels, or sharded ones. */
export interface RoomPublisher {
  /** Resolves with the number of web nodes that received it. */
  emit(room: string, event: string, payload: unknown): Promise<number>;
  /** Disconnects every socket in the room, after whatever was emitted to it before. */
  disconnect(room: string): Promise<number>;
}

function roomEmitterOf(publisher: RoomPublisher): RoomEmitter {
  function send<E extends keyof ServerToClientEvents>(userId: string, event: E, payload: Parameters<ServerToClientEvents[E]>[0]): Promise<number> {
    return publisher.emit(userRoom(userId), event, payload);
  }
  return {
    snapshot: (userId, snapshot) => send(userId, 'portfolio:snapshot', snapshot),
    delta: (userId, delta) => send(userId, 'portfolio:delta', delta),
    syncStatus: (userId, status) => send(userId, 'sync:status', status),
    connectionStatus: (userId, status) => send(userId, 'connection:status', status),
    connectionAttempt: (userId, attempt) => send(userId, 'connection:attempt', attempt),
    orderUpdate: (userId, order) => send(userId, 'order:update', order),
    historyPoint: (userId, point) => send(userId, 'portfolio:history', point),
    activitiesUpdate: (userId, update) => send(userId, 'activities:update', update),
    async endSessions(userId, ended) {
      const told = await send(userId, 'session:ended', ended);
      await publisher.disconnect(userRoom(userId));
      return told;
    },
  };
}

/** Where a broadcast of one event to one room goes, and its message up to the payload's JSON. */
export interface RoomFrame {
  channel: string;
  /** The adapter's header and its separator: the message is `head` + the payload's JSON. */
  head: string;
}

/**
 * The frames of single-event broadcasts on the classic adapter's channels, as
 * `createRoomEmitter` publishes them (taken from the same socket.io emitter, so they cannot
 * drift): a sender that writes the payload's text itself (the delta sender's script) publishes
 * exactly the message the emitter would.
 */
export function classicRoomFrames(prefix: string): (room: string, event: string) => RoomFrame {
  let published: RoomFrame | undefined;
  const capture = {
    publish(channel: string, message: string): void {
      published = { channel, head: message };
    },
  };
  const emitter = new Emitter<Record<string, (payload: unknown) => void>>(capture, { key: prefix, parser: realtimeAdapterParser });
  return (room, event) => {
    published = undefined;
    emitter.to(room).emit(event, new RawJson(''));
    const frame = published as RoomFrame | undefined;
    if (frame === undefined || !frame.head.endsWith('\n')) throw new Error(`socket.io emitter did not frame ${event}`);
    return frame;
  };
}

/** The classic adapter's channels (`PUBLISH`), through `@socket.io/redis-emitter`. */
function classicRoomPublisher(redis: Redis, prefix: string): RoomPublisher {
  // The emitter fires PUBLISH and drops the promise; this shim keeps it so callers can await it
  // and so a Redis error is the caller's rejection, not an unhandled one.
  let lastPublish: Promise<number> | undefined;
  const publisher = {
    publish(channel: string, message: Buffer | string): Promise<number> {
      lastPublish = redis.publish(channel, message);
      return lastPublish;
    },
  };
  const emitter = new Emitter<Record<string, (payload: unknown) => void>>(publisher, { key: prefix, parser: realtimeAdapterParser });
  const published = (what: string): Promise<number> => {
    const p = lastPublish;
    lastPublish = undefined;
    return p ?? Promise.reject(new Error(`socket.io emitter did not publish ${what}`));
  };
  return {
    emit(room, event, payload) {
      lastPublish = undefined;
      emitter.to(room).emit(event, payload);
      return published(event);
    },
    disconnect(room) {
      lastPublish = undefined;
      emitter.in(room).disconnectSockets(true);
      return published('disconnectSockets');
    },
  };
}
