/**
 * The browsers of `npm run bench:ticks`: socket.io clients (websocket transport, `auth.token`),
 * each with the product's portfolio store, in a child process of their own so they do not share
 * the engine's event loop. They record the freshness of every delta's holdings as
 * ticks-delivery-child.ts says, and report the stores' gaps, mismatches and snapshots.
 *
 * IPC as in ticks-delivery-child.ts, with `{cmd: 'connect', url, tokens: [[userId, token]]}` →
 * `{type: 'connected', clients}` once every store holds its snapshot.
 */
import { io } from 'socket.io-client';
import { serveTicksDelivery } from './ticks-delivery-child.ts';
import { createPortfolioStore, type PortfolioSocket, type PortfolioStore } from '../../src/realtime/client/portfolio-store.ts';

const sockets: PortfolioSocket[] = [];
const stores: PortfolioStore[] = [];

const received = serveTicksDelivery<{ cmd: string; url?: string; tokens?: [string, string][]; file?: string }>({
  async connect(message) {
    await connectAll(message.url!, message.tokens!);
    return sockets.length;
  },
  counts: () => ({
    gaps: stores.reduce((n, s) => n + s.stats().gaps, 0),
    mismatches: stores.reduce((n, s) => n + s.stats().mismatches, 0),
    snapshots: stores.reduce((n, s) => n + s.stats().snapshots, 0),
    connected: sockets.filter((s) => s.connected).length,
  }),
  close() {
    for (const socket of sockets) socket.disconnect();
  },
});

async function connectAll(url: string, tokens: [string, string][]): Promise<void> {
  for (let i = 0; i < tokens.length; i += 50) {
    await Promise.all(
      tokens.slice(i, i + 50).map(
        ([, token]) =>
          new Promise<void>((resolve, reject) => {
            const socket: PortfolioSocket = io(url, { auth: { token }, transports: ['websocket'], reconnection: true });
            const store = createPortfolioStore(socket);
            socket.on('portfolio:delta', (delta) => received(delta, Date.now()));
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
