import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer, type WebSocket } from 'ws';
import { trackedSockets } from '../../src/market/market-data-sockets.ts';

/**
 * Alpaca allows one market-data connection per key, so the market role releases its lease only once
 * its connection is closed, not merely asked to close (the SDK's `disconnect()` only starts the
 * close handshake). Against a server that is slow to answer the close, the wait lasts until the
 * server has closed its end; past the limit the connection is cut.
 */
let server: WebSocketServer | undefined;
afterEach(async () => {
  const closing = server;
  server = undefined;
  if (!closing) return;
  for (const client of closing.clients) client.terminate();
  await new Promise((resolve) => closing.close(resolve));
});

/** A server that reads nothing from a connection for `deafMs` after it is asked to (a busy peer). */
async function slowServer(): Promise<{ url: string; deafFor(ms: number): void; openOnServer(): number }> {
  server = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await once(server, 'listening');
  const connections = new Set<WebSocket>();
  server.on('connection', (ws) => {
    connections.add(ws);
    ws.on('close', () => connections.delete(ws));
  });
  return {
    url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}`,
    deafFor(ms) {
      for (const ws of connections) {
        const socket = (ws as unknown as { _socket: { pause(): void; resume(): void } })._socket;
        socket.pause();
        setTimeout(() => socket.resume(), ms);
      }
    },
    openOnServer: () => connections.size,
  };
}

/** A tracked socket (as the market role's SDK stream gets one) open on a new slow server. */
async function connectedToSlowServer(codec: 'json' | 'msgpack') {
  const peer = await slowServer();
  const sockets = trackedSockets();
  const socket = sockets.factory(peer.url, codec) as unknown as WebSocket;
  await once(socket, 'open');
  await expect.poll(() => peer.openOnServer()).toBe(1);
  return { peer, sockets, socket };
}

describe('a market-data socket', () => {
  it('is waited for until the server has closed its end, when it answers the close late', async () => {
    const { peer, sockets, socket } = await connectedToSlowServer('json');
    peer.deafFor(800);
    const started = Date.now();
    socket.close();
    expect(await sockets.closed(5_000)).toBe(true);
    expect(Date.now() - started).toBeGreaterThanOrEqual(700);
    expect(peer.openOnServer()).toBe(0);
  });

  it('is cut when the close takes longer than the limit', async () => {
    const { peer, sockets, socket } = await connectedToSlowServer('msgpack');
    peer.deafFor(1_500);
    socket.close();
    expect(await sockets.closed(200)).toBe(false);
    // Terminated: the server, reading again, sees the connection gone.
    await expect.poll(() => peer.openOnServer(), { timeout: 5_000 }).toBe(0);
  });

  it('costs no wait when nothing is open', async () => {
    expect(await trackedSockets().closed(5_000)).toBe(true);
  });
});
