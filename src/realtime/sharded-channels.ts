import { createShardedAdapter } from '@socket.io/redis-adapter';
import type { RedisClient as Redis } from '../runtime/redis-client.ts';
import type { RoomPublisher } from './room-emitter.ts';

/**
 * socket.io on a Redis Cluster: Redis 7 sharded pub/sub (`SSUBSCRIBE`/`SPUBLISH`), through
 * `@socket.io/redis-adapter`'s sharded adapter in its "dynamic" mode. Each room `user:<id>` has a
 * channel of its own, `<prefix>#/#user:<id>#`, carried only by the master serving that channel's
 * slot and heard only by the web nodes with a socket in the room. The classic adapter's `PUBLISH`
 * is forwarded by a cluster to every node and every subscriber, so its cost grows with the
 * cluster's size times the web nodes; this one's does not.
 *
 * Processes without a socket.io server (workers, the market role) publish with
 * `shardedRoomPublisher`, which writes the adapter's own message format
 * (socket.io-adapter's `ClusterAdapter`: `{ uid, nsp, type, data }`, JSON), as
 * `@socket.io/redis-emitter` does for the classic adapter; it has no sharded mode.
 */

/** The namespace every event of ours travels in. */
const NSP = '/';
/** A sender id no adapter draws (theirs are random hex): adapters drop only their own messages. */
const UID = 'emitter';
/** socket.io-adapter's `MessageType` (cluster-adapter.ts), the two this module sends. */
const BROADCAST = 3;
const DISCONNECT_SOCKETS = 6;
/** socket.io-parser's `PacketType.EVENT`. */
const EVENT = 2;

/** The sharded adapter's channel of one room (its `dynamicChannel`). */
export function roomChannel(prefix: string, room: string): string {
  return `${prefix}#${NSP}#${room}#`;
}

/** The web node's adapter: one subscriber per master (`shardedSubscriber`), one channel per room. */
export function shardedAdapter(pubClient: Redis, subClient: Redis, prefix: string): ReturnType<typeof createShardedAdapter> {
  return createShardedAdapter(pubClient, subClient, { channelPrefix: prefix, subscriptionMode: 'dynamic' });
}

export function shardedRoomPublisher(redis: Redis, prefix: string): RoomPublisher {
  const options = (room: string) => ({ rooms: [room], except: [], flags: {} });
  return {
    emit(room, event, payload) {
      const message = { uid: UID, nsp: NSP, type: BROADCAST, data: { packet: { type: EVENT, data: [event, payload], nsp: NSP }, opts: options(room) } };
      return redis.spublish(roomChannel(prefix, room), JSON.stringify(message)).then(Number);
    },
    disconnect(room) {
      // On the room's channel, not the namespace's: the adapter handles any message type on any
      // of its channels, and one channel keeps it behind the room's earlier messages (a
      // `session:ended` must reach the tab before its socket closes).
      const message = { uid: UID, nsp: NSP, type: DISCONNECT_SOCKETS, data: { opts: options(room), close: true } };
      return redis.spublish(roomChannel(prefix, room), JSON.stringify(message)).then(Number);
    },
  };
}
