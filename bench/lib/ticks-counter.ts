/**
 * The counting subscriber of `npm run bench:ticks` with `BENCH_DELIVERY=counting`: in place of the
 * web node and its 1,000 socket.io clients, one Redis subscriber on the socket.io adapter's channels
 * of the watched users' rooms, in a child process of its own. It marks the users watched in the
 * presence set (as a web node does for its sockets), counts the deltas the worker publishes, checks
 * their `seq` per user, and records freshness (receive time − each repriced or upserted holding's
 * `priceAsOf`) in an HDR histogram. So the worker does exactly the work it does for real browsers,
 * and the CPU the bench measures in the worker process is the worker's alone: nothing else of the
 * delivery path (web node, sockets, browser stores) runs beside it.
 *
 * Speaks the IPC of ticks-clients.ts: `{cmd: 'connect', redisUrl, namespace, users}` →
 * `{type: 'connected', clients}`; `reset`; `report` (the same fields; `snapshots` and `mismatches`
 * are 0 and `connected` is the number of users marked watched).
 */
import * as hdr from 'hdr-histogram-js';
import { Redis } from 'ioredis';
import { createPauseMonitor } from './pause-monitor.ts';
import { handleProfilerMessage } from './step-profiler.ts';
import { RawJson, realtimeAdapterParser } from '../../src/realtime/adapter-parser.ts';
import type { PortfolioDelta } from '../../src/realtime/events.ts';
import { createPresenceTracker, type PresenceTracker } from '../../src/realtime/presence.ts';
import { realtimeKeys } from '../../src/realtime/realtime-keys.ts';

const histogram = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000, numberOfSignificantValueDigits: 3 });
const pauses = createPauseMonitor();
const lastSeq = new Map<string, number>();
let deltas = 0;
let gaps = 0;
let subscriber: Redis | undefined;
let publisher: Redis | undefined;
let presence: PresenceTracker | undefined;
let watched = 0;

function onMessage(channel: string, message: Buffer): void {
  const now = Date.now();
  const [, packet] = realtimeAdapterParser.decode(message) as [string, { data: unknown[] }, unknown];
  if (packet.data[0] !== 'portfolio:delta') return;
  const raw = packet.data[1];
  const delta = (raw instanceof RawJson ? JSON.parse(raw.text) : raw) as PortfolioDelta;
  deltas++;
  // `<prefix>#/#user:<id>#`: the room names the user.
  const user = channel.slice(channel.indexOf('#user:') + 6, -1);
  const previous = lastSeq.get(user);
  if (previous !== undefined && delta.seq !== previous + 1) gaps++;
  lastSeq.set(user, delta.seq);
  for (const h of delta.upserted) if (h.priceAsOf) histogram.recordValue(Math.max(1, now - Date.parse(h.priceAsOf)));
  for (const h of delta.repriced) if (h.priceAsOf) histogram.recordValue(Math.max(1, now - Date.parse(h.priceAsOf)));
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

process.on('message', (message: { cmd: string; redisUrl?: string; namespace?: string; users?: string[]; file?: string }) => {
  if (handleProfilerMessage(message)) return;
  if (message.cmd === 'connect') {
    connect(message.redisUrl!, message.namespace!, message.users!).then(
      () => process.send!({ type: 'connected', clients: watched }),
      (err: unknown) => process.send!({ type: 'error', message: String(err) }),
    );
  } else if (message.cmd === 'reset') {
    histogram.reset();
    pauses.reset();
    deltas = 0;
    process.send!({ type: 'reset' });
  } else if (message.cmd === 'report') {
    process.send!({
      type: 'report',
      p50: histogram.getValueAtPercentile(50),
      p99: histogram.getValueAtPercentile(99),
      max: histogram.maxValue,
      count: histogram.totalCount,
      deltas,
      gaps,
      mismatches: 0,
      snapshots: 0,
      connected: watched,
      cpu: process.cpuUsage(),
      ...pauses.read(),
    });
  }
});
process.on('disconnect', () => {
  void presence?.close();
  subscriber?.disconnect();
  publisher?.disconnect();
  process.exit(0);
});
process.send!({ type: 'ready' });
