/**
 * The browsers of `npm run bench:ticks`: socket.io clients (websocket transport, `auth.token`),
 * each with the product's portfolio store, in a child process of their own so they do not share
 * the engine's event loop. Freshness of a delta's holding (upserted or repriced) = receive time − its `priceAsOf`
 * (the bench writes each tick with `at` = the time it queued it for the append), recorded in an
 * HDR histogram (ms).
 *
 * IPC: `{cmd: 'connect', url, tokens: [[userId, token]]}` → `{type: 'connected', ...}` once every
 * store holds its snapshot; `{cmd: 'reset'}` clears the histogram and counters; `{cmd: 'report'}` →
 * `{type: 'report', p50, p99, max, count, deltas, gaps, mismatches, snapshots, connected, cpu, loopDelayP99Ms, loopDelayMaxMs, gcMaxMs, majorGcs}`;
 * `profile-start` / `profile-stop` as in step-profiler.ts.
 */
import * as hdr from 'hdr-histogram-js';
import { io } from 'socket.io-client';
import { createPauseMonitor } from './pause-monitor.ts';
import { handleProfilerMessage } from './step-profiler.ts';
import type { PortfolioDelta } from '../../src/realtime/events.ts';
import { createPortfolioStore, type PortfolioSocket, type PortfolioStore } from '../../src/realtime/client/portfolio-store.ts';

const histogram = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000, numberOfSignificantValueDigits: 3 });
const sockets: PortfolioSocket[] = [];
const stores: PortfolioStore[] = [];
let deltas = 0;
// A stall here delays what the clients receive as much as one in the engine: measure it too.
const pauses = createPauseMonitor();

function onDelta(delta: PortfolioDelta): void {
  const now = Date.now();
  deltas++;
  for (const h of [...delta.upserted, ...delta.repriced]) {
    if (h.priceAsOf) histogram.recordValue(Math.max(1, now - Date.parse(h.priceAsOf)));
  }
}

async function connectAll(url: string, tokens: [string, string][]): Promise<void> {
  for (let i = 0; i < tokens.length; i += 50) {
    await Promise.all(
      tokens.slice(i, i + 50).map(
        ([, token]) =>
          new Promise<void>((resolve, reject) => {
            const socket: PortfolioSocket = io(url, { auth: { token }, transports: ['websocket'], reconnection: true });
            const store = createPortfolioStore(socket);
            socket.on('portfolio:delta', onDelta);
            sockets.push(socket);
            stores.push(store);
            const off = store.subscribe((event) => {
              if (event.type === 'snapshot') {
                off();
                resolve();
              } else if (event.type === 'socket' && event.error) {
                off();
                reject(new Error(event.error.message));
              }
            });
          }),
      ),
    );
  }
}

process.on('message', (message: { cmd: string; url?: string; tokens?: [string, string][]; file?: string }) => {
  if (handleProfilerMessage(message)) return;
  if (message.cmd === 'connect') {
    connectAll(message.url!, message.tokens!).then(
      () => process.send!({ type: 'connected', clients: sockets.length }),
      (err: unknown) => process.send!({ type: 'error', message: String(err) }),
    );
  } else if (message.cmd === 'reset') {
    histogram.reset();
    pauses.reset();
    deltas = 0;
    process.send!({ type: 'reset' });
  } else if (message.cmd === 'report') {
    const gaps = stores.reduce((n, s) => n + s.stats().gaps, 0);
    const snapshots = stores.reduce((n, s) => n + s.stats().snapshots, 0);
    const mismatches = stores.reduce((n, s) => n + s.stats().mismatches, 0);
    process.send!({
      type: 'report',
      p50: histogram.getValueAtPercentile(50),
      p99: histogram.getValueAtPercentile(99),
      max: histogram.maxValue,
      count: histogram.totalCount,
      deltas,
      gaps,
      mismatches,
      snapshots,
      connected: sockets.filter((s) => s.connected).length,
      cpu: process.cpuUsage(),
      ...pauses.read(),
    });
  }
});
process.on('disconnect', () => {
  for (const socket of sockets) socket.disconnect();
  process.exit(0);
});
process.send!({ type: 'ready' });
