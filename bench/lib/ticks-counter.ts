/**
 * The counting subscriber of `npm run bench:ticks` with `BENCH_DELIVERY=counting`: in place of the
 * web node and its 1,000 socket.io clients, one Redis subscriber on the socket.io adapter's channels
 * of the watched users' rooms, in a child process of its own. It marks the users watched in the
 * presence set (as a web node does for its sockets), counts the deltas the worker publishes, checks
 * their `seq` per user, and records their freshness as ticks-delivery-child.ts says. So the worker
 * does exactly the work it does for real browsers, and the CPU the bench measures in the worker
 * process is the worker's alone: nothing else of the delivery path (web node, sockets, browser
 * stores) runs beside it.
 *
 * IPC as in ticks-delivery-child.ts, with `{cmd: 'connect', redisUrl, namespace, users}`; in its
 * report `snapshots` and `mismatches` are 0 and `connected` is the number of users marked watched.
 */
import { Redis } from 'ioredis';
import { serveTicksDelivery } from './ticks-delivery-child.ts';
import { RawJson, realtimeAdapterParser } from '../../src/realtime/adapter-parser.ts';
import type { PortfolioDelta } from '../../src/realtime/events.ts';
import { createPresenceTracker, type PresenceTracker } from '../../src/realtime/presence.ts';
import { realtimeKeys } from '../../src/realtime/realtime-keys.ts';

const lastSeq = new Map<string, number>();
let gaps = 0;
let subscriber: Redis | undefined;
let publisher: Redis | undefined;
let presence: PresenceTracker | undefined;
let watched = 0;

const received = serveTicksDelivery<{ cmd: string; redisUrl?: string; namespace?: string; users?: string[]; file?: string }>({
  async connect(message) {
    await connect(message.redisUrl!, message.namespace!, message.users!);
    return watched;
  },
  counts: () => ({ gaps, mismatches: 0, snapshots: 0, connected: watched }),
  close() {
    void presence?.close();
    subscriber?.disconnect();
    publisher?.disconnect();
  },
});

function onMessage(channel: string, message: Buffer): void {
  const now = Date.now();
  const [, packet] = realtimeAdapterParser.decode(message) as [string, { data: unknown[] }, unknown];
  if (packet.data[0] !== 'portfolio:delta') return;
  const raw = packet.data[1];
  const delta = (raw instanceof RawJson ? JSON.parse(raw.text) : raw) as PortfolioDelta;
  // `<prefix>#/#user:<id>#`: the room names the user.
  const user = channel.slice(channel.indexOf('#user:') + 6, -1);
  const previous = lastSeq.get(user);
  if (previous !== undefined && delta.seq !== previous + 1) gaps++;
  lastSeq.set(user, delta.seq);
  received(delta, now);
}

async function connect(redisUrl: string, namespace: string, users: string[]): Promise<void> {
  subscriber = new Redis(redisUrl, { connectionName: 'bench-ticks-counter' });
  publisher = new Redis(redisUrl);
  subscriber.on('pmessageBuffer', (_pattern: Buffer, channel: Buffer, message: Buffer) => onMessage(channel.toString(), message));
  await subscriber.psubscribe(`${realtimeKeys(namespace).channelPrefix}#/#user:*`);
  presence = createPresenceTracker(publisher, namespace);
  for (const user of users) await presence.connected(user);
  watched = users.length;
}
