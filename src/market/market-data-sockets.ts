import type { streaming } from '@alpacahq/alpaca-trade-api';
import { WebSocket } from 'ws';

/**
 * The SDK's market-data sockets, made as its default factory makes them (the `ws` package, no
 * compression, the msgpack header), and remembered until closed, so a stop can wait for the close
 * to complete (`closed`), which the SDK's `disconnect()` does not: it only starts it.
 */
export function trackedSockets(): {
  factory: NonNullable<streaming.StockDataStreamOptions['wsFactory']>;
  /** Resolves true once every socket made so far has closed, or false after `timeoutMs` (those left are terminated). */
  closed(timeoutMs: number): Promise<boolean>;
} {
  const open = new Set<WebSocket>();
  return {
    factory(url, codec) {
      const socket = new WebSocket(url, { perMessageDeflate: false, ...(codec === 'msgpack' ? { headers: { 'Content-Type': 'application/msgpack' } } : {}) });
      open.add(socket);
      socket.once('close', () => open.delete(socket));
      return socket;
    },
    async closed(timeoutMs) {
      const waiting = [...open];
      if (waiting.length === 0) return true;
      let timer: NodeJS.Timeout | undefined;
      const done = await Promise.race([
        Promise.all(waiting.map((socket) => new Promise<void>((resolve) => (socket.readyState === WebSocket.CLOSED ? resolve() : socket.once('close', () => resolve()))))).then(() => true),
        new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs))),
      ]);
      clearTimeout(timer);
      if (!done) for (const socket of open) socket.terminate();
      return done;
    },
  };
}
