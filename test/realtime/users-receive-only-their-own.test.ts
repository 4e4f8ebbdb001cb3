import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDeltaCoalescer, type DeltaCoalescer } from '../../src/realtime/delta-coalescer.ts';
import { commandDeltaSender, scriptedDeltaSender } from '../../src/realtime/delta-sender.ts';
import { createPortfolioSequence } from '../../src/realtime/portfolio-sequence.ts';
import { realtimeKeys } from '../../src/realtime/realtime-keys.ts';
import { createRoomEmitter } from '../../src/realtime/room-emitter.ts';
import {
  connected,
  createRealtimeHarness,
  holding,
  record,
  totalsOf,
  uniqueUser,
  until,
  type ClientSocket,
  type RealtimeHarness,
  type Received,
  type WebNode,
} from './realtime-harness.ts';

const USERS = 30;
const ROUNDS = 4;
const SYMBOLS = ['AAPL', 'MSFT', 'NVDA'];

let h: RealtimeHarness;
let nodes: WebNode[];
const workerConnections: Redis[] = [];

beforeAll(async () => {
  h = await createRealtimeHarness();
  nodes = await Promise.all([h.startWebNode(), h.startWebNode()]);
});
afterAll(async () => {
  for (const connection of workerConnections) connection.disconnect();
  await h.close();
});

/**
 * A worker process as far as realtime goes: its own Redis connection, emitter, seq counter and
 * coalescer, sending as a worker on a single Redis does (one script per clock step) or as one on a
 * Cluster does (an INCR and a publish per delta).
 */
function startWorker(sending: 'script' | 'commands'): DeltaCoalescer {
  const redis = new Redis(h.redis.url, { maxRetriesPerRequest: 1 });
  workerConnections.push(redis);
  const keys = realtimeKeys(h.namespace);
  const sequence = createPortfolioSequence(redis, keys);
  const emitter = createRoomEmitter(redis, { namespace: h.namespace });
  const sender = sending === 'script' ? scriptedDeltaSender(redis, keys) : commandDeltaSender(sequence, (userId, delta) => emitter.delta(userId, delta));
  return createDeltaCoalescer({ sender, windowMs: 40 });
}

const priceOf = (userIndex: number, symbolIndex: number, round: number) =>
  (100 + userIndex + symbolIndex / 10 + round / 100).toFixed(2);

describe('many users on shared workers and web nodes', () => {
  it('each client receives only its own user\'s snapshot and deltas, in seq order', async () => {
    const users = Array.from({ length: USERS }, (_, i) => uniqueUser(`u${i}`));
    users.forEach((user, i) => h.book.set(user, SYMBOLS.map((s, j) => holding(user, s, priceOf(i, j, 0)))));
    // Every user has a socket on one node; every third user has a second tab on the other node.
    const clients: { user: string; index: number; socket: ClientSocket; received: Received }[] = [];
    for (const [index, user] of users.entries()) {
      const homes = index % 3 === 0 ? [nodes[0], nodes[1]] : [nodes[index % 2]];
      for (const node of homes) {
        if (!node) throw new Error('missing node');
        const socket = h.connect(node, { token: await h.token(user) });
        clients.push({ user, index, socket, received: record(socket) });
      }
    }
    await Promise.all(clients.map((c) => connected(c.socket)));
    await until(() => clients.every((c) => c.received.snapshots.length === 1), 'every connect snapshot');

    // Two workers, each owning half of the users (as partitions would split them), pushing
    // interleaved changes: three per user per round, all within one coalescing window. The two
    // send differently, and the clients must not be able to tell.
    const workers = [startWorker('script'), startWorker('commands')];
    for (let round = 1; round <= ROUNDS; round++) {
      for (const [symbolIndex, symbol] of SYMBOLS.entries()) {
        for (const [i, user] of users.entries()) {
          const changed = holding(user, symbol, priceOf(i, symbolIndex, round));
          workers[i % 2]?.push(user, { totals: totalsOf([changed]), upserted: [changed] });
        }
      }
      await new Promise((resolve) => setTimeout(resolve, 120));
    }
    await Promise.all(workers.map((w) => w.close()));

    const finalPrice = (c: (typeof clients)[number]) =>
      c.received.deltas
        .flatMap((d) => d.upserted)
        .filter((x) => x.id === `${c.user}/NVDA`)
        .at(-1)?.price;
    await until(
      () => clients.every((c) => finalPrice(c) === priceOf(c.index, 2, ROUNDS)),
      'every client to see its last round',
      10_000,
    );

    for (const c of clients) {
      const mine = (id: string) => id.startsWith(`${c.user}/`);
      expect(c.received.snapshots.flatMap((s) => s.holdings.map((x) => x.id)).every(mine), c.user).toBe(true);
      expect(c.received.deltas.flatMap((d) => [...d.upserted.map((x) => x.id), ...d.removed]).every(mine), c.user).toBe(true);
      // Snapshot at seq 0, then 1, 2, 3... with no gap and nothing twice.
      expect(c.received.snapshots[0]?.seq).toBe(0);
      expect(c.received.deltas.map((d) => d.seq)).toEqual(c.received.deltas.map((_, i) => i + 1));
      // Coalesced: 3 changes per round became at most one delta per round.
      expect(c.received.deltas.length).toBeLessThanOrEqual(ROUNDS);
      // Every delta carries the absolute values of all three changed holdings.
      for (const d of c.received.deltas) expect(d.upserted.map((x) => x.symbol).sort()).toEqual(SYMBOLS);
    }
    // Two tabs of one user saw the same deltas, whichever node each was on.
    const tabs = clients.filter((c) => c.index === 0);
    expect(tabs).toHaveLength(2);
    expect(tabs[0]?.received.deltas).toEqual(tabs[1]?.received.deltas);
  });
});
