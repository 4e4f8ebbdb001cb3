import type { PortfolioSocket } from '../../../src/realtime/client/portfolio-store.ts';
import type { ServerToClientEvents, SnapshotRequestResult } from '../../../src/realtime/events.ts';

/**
 * A socket.io client socket as the dashboard's components use it (`on`, `off`, `connected`,
 * `timeout(ms).emit('portfolio:request-snapshot', ack)`), with the server's side in the test's
 * hands: `serverSends` delivers one of the typed `ServerToClientEvents` as the gateway would, so a
 * payload that no longer fits the contract fails to compile here. Snapshot requests are recorded
 * and answered `{ok: true}` at once (the snapshot itself is the test's to send).
 */
export interface FakeSocket {
  /** What the components are given (main.ts gives them the real one). */
  socket: PortfolioSocket;
  serverSends<E extends keyof ServerToClientEvents>(event: E, ...args: Parameters<ServerToClientEvents[E]>): void;
  /** How many `portfolio:request-snapshot` the client sent. */
  snapshotRequests(): number;
}

type Handler = (...args: unknown[]) => void;

export function fakeSocket(): FakeSocket {
  const handlers = new Map<string, Set<Handler>>();
  let requests = 0;
  const socket = {
    connected: false,
    on(event: string, handler: Handler) {
      if (!handlers.has(event)) handlers.set(event, new Set());
      handlers.get(event)!.add(handler);
      return socket;
    },
    off(event: string, handler: Handler) {
      handlers.get(event)?.delete(handler);
      return socket;
    },
    timeout() {
      return {
        emit(event: string, ack: (err: Error | null, result: SnapshotRequestResult) => void) {
          if (event !== 'portfolio:request-snapshot') throw new Error(`the fake socket does not know ${event}`);
          requests += 1;
          ack(null, { ok: true, seq: 0 });
        },
      };
    },
  };
  return {
    socket: socket as unknown as PortfolioSocket,
    serverSends(event, ...args) {
      for (const handler of handlers.get(event) ?? []) handler(...args);
    },
    snapshotRequests: () => requests,
  };
}
