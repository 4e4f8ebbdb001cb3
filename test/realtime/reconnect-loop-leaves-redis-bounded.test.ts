import { randomUUID } from 'node:crypto';
import { io as connectClient } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { UserPortfolioState } from '../../actors/portfolio/user-portfolio-behavior.ts';
import { readLastPrices } from '../../src/market/price-reader.ts';
import type { PortfolioSocket } from '../../src/realtime/client/portfolio-store.ts';
import { presenceKey } from '../../src/realtime/presence.ts';
import { createStreamProducer } from '../../streams/producer.ts';
import { ENVELOPE_SCHEMA_VERSION } from '../../streams/envelope.ts';
import { readDeadLetters } from '../../streams/dead-letter.ts';
import { partitionOf } from '../../streams/partition.ts';
import { eventually, startTestEngine, type TestEngine } from '../support/engine.ts';

/**
 * A browser that reconnects in a loop must not grow Redis (it runs `noeviction`): presence is
 * state, kept in the watched set, never appended to the durable partition stream. The worker
 * owning the user's partition still activates the user's actor from that set, valued with the
 * last prices.
 */
const CYCLES = 1_000;
/** What 1,000 cycles may leave behind under the namespace: no new key, at most this many bytes. */
const MAX_GROWTH_BYTES = 4_096;
const LOOPER = 'reconnect-loop-user';
const WATCHER = 'presence-activated-user';

let engine: TestEngine;
beforeAll(async () => {
  // Stream maintenance writes its bookkeeping (two keys a partition, bounded by partitions) on its
  // own clock, once a minute by default: a loop slowed down by a loaded machine would count them
  // as growth. Here it waits an hour.
  engine = await startTestEngine({ env: { STREAM_MAINTENANCE_MS: '3600000' } });
});
afterAll(async () => {
  await engine?.stop();
});

/** Keys under the engine's namespace and their summed `MEMORY USAGE`. */
async function footprint(): Promise<{ keys: number; bytes: number; names: string[] }> {
  const redis = engine.redis.client;
  let cursor = '0';
  const keys: string[] = [];
  do {
    const [next, found] = await redis.scan(cursor, 'MATCH', `${engine.namespace}:*`, 'COUNT', 500);
    cursor = next;
    keys.push(...found);
  } while (cursor !== '0');
  let bytes = 0;
  for (const key of keys) bytes += Number((await redis.call('MEMORY', 'USAGE', key, 'SAMPLES', '0')) ?? 0);
  return { keys: keys.length, bytes, names: keys };
}

async function streamLengths(): Promise<number[]> {
  const keys = engine.app.ctx.keys;
  return Promise.all(Array.from({ length: engine.config.PARTITION_COUNT }, (_, p) => engine.redis.client.xlen(keys.partitionStream(p))));
}

async function usedMemory(): Promise<number> {
  const info = await engine.redis.client.info('memory');
  return Number(/used_memory:(\d+)/.exec(info)?.[1] ?? 0);
}

function socketFor(token: string): PortfolioSocket {
  return connectClient(engine.url, { auth: { token }, transports: ['websocket'], reconnection: false, autoConnect: false });
}

/** Connects and resolves on the snapshot: the server ran its connect handler (presence) first. */
function connectForSnapshot(socket: PortfolioSocket): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => {
      socket.off('portfolio:snapshot', onSnapshot);
      reject(err);
    };
    const onSnapshot = () => {
      socket.off('connect_error', onError);
      resolve();
    };
    socket.once('portfolio:snapshot', onSnapshot);
    socket.once('connect_error', onError);
    socket.connect();
  });
}

function disconnect(socket: PortfolioSocket): Promise<void> {
  if (!socket.connected) return Promise.resolve();
  return new Promise((resolve) => {
    socket.once('disconnect', () => resolve());
    socket.disconnect();
  });
}

/** The actor's state for `userId` on the worker, when active. */
function inActor<T>(userId: string, read: (state: UserPortfolioState) => T): T | undefined {
  let value: T | undefined;
  const told = engine.app.roles.worker!.tell(userId, (state) => {
    value = read(state);
  });
  return told ? value : undefined;
}

describe('presence off the durable stream', () => {
  it('1,000 connect/disconnect cycles of one user leave the partition streams and the namespace\'s keys and memory bounded, and the actor activates', async () => {
    const worker = engine.app.roles.worker!;
    const socket = socketFor(await engine.token(LOOPER));
    try {
      // Nobody watched the user yet: no actor.
      expect(inActor(LOOPER, () => true)).toBeUndefined();
      const streamsAtStart = await streamLengths();

      // First connect: the worker owning the partition activates the actor from the watched set.
      await connectForSnapshot(socket);
      await eventually(async () => inActor(LOOPER, (s) => s.userId), 10_000, 'the actor activated by presence');
      await disconnect(socket);
      expect(await streamLengths()).toEqual(streamsAtStart);

      const before = await footprint();
      const memoryBefore = await usedMemory();
      for (let i = 0; i < CYCLES; i++) {
        await connectForSnapshot(socket);
        await disconnect(socket);
      }
      const after = await footprint();
      const memoryAfter = await usedMemory();

      // Not one entry appended to any partition stream, no new key, and (the watched set holding
      // one member however often it reconnects) no memory growth under the namespace.
      expect(await streamLengths()).toEqual(streamsAtStart);
      expect(after.keys, `new keys: ${after.names.filter((key) => !before.names.includes(key)).join(', ')}`).toBeLessThanOrEqual(before.keys);
      expect(after.bytes - before.bytes).toBeLessThanOrEqual(MAX_GROWTH_BYTES);
      expect(await engine.redis.client.zscore(presenceKey(engine.namespace), LOOPER)).not.toBeNull();
      expect(await engine.redis.client.zcard(presenceKey(engine.namespace))).toBe(1);
      console.log(
        `${CYCLES} reconnects: ${before.keys} -> ${after.keys} keys, ${before.bytes} -> ${after.bytes} bytes under the namespace; ` +
          `server used_memory ${memoryBefore} -> ${memoryAfter} (shared server, not asserted)`,
      );

      // The actor is still there (watched users stay active).
      expect(inActor(LOOPER, (s) => s.userId)).toBe(LOOPER);
      expect(worker.ownedPartitions()).toContain(partitionOf(LOOPER, engine.config.PARTITION_COUNT));
    } finally {
      socket.disconnect();
    }
  });

  it('activates a watched user\'s passivated actor without a stream event, caught up with the last prices', async () => {
    const { sandbox } = engine;
    const worker = engine.app.roles.worker!;
    const keys = engine.app.ctx.keys;
    expect((await engine.api(WATCHER, 'POST', '/api/snaptrade/connection-url', {})).status).toBe(200);
    await sandbox.control.connect(WATCHER, {
      brokerage: 'ROBINHOOD',
      accounts: [{ name: 'Individual', currency: 'USD', positions: [{ symbol: 'AAPL', units: 3 }] }],
    });
    await eventually(async () => {
      const { body } = await engine.api<{ holdings?: unknown[] }>(WATCHER, 'GET', '/api/portfolio');
      return body.holdings?.length === 1 ? true : undefined;
    }, 30_000, 'holdings synced');

    // Nobody watches: the idle actor is passivated, and prices move while it is gone.
    await eventually(async () => {
      worker.passivateIdle(0);
      return inActor(WATCHER, () => true) === undefined ? true : undefined;
    }, 10_000, 'the actor passivated');
    await eventually(async () => {
      sandbox.priceBook.setPrice('AAPL', 187.25);
      const last = await readLastPrices(engine.redis.client, keys, ['AAPL']);
      return last.get('AAPL')?.price === 187.25 ? true : undefined;
    }, 20_000, 'the new price in the last prices');
    const partitionStream = keys.partitionStream(partitionOf(WATCHER, engine.config.PARTITION_COUNT));
    const lastBefore = (await engine.redis.client.xrevrange(partitionStream, '+', '-', 'COUNT', 1))[0]?.[0] ?? '0-0';

    const socket = socketFor(await engine.token(WATCHER));
    try {
      await connectForSnapshot(socket);
      const price = await eventually(
        async () => inActor(WATCHER, (s) => s.portfolio.prices.get(s.tickers.get('AAPL') ?? '')?.price),
        10_000,
        'the actor activated with the last price',
      );
      expect(price).toBe('187.25');
      // No event was needed: nothing about presence was appended to the user's partition stream
      // (a late sync result of the user may have been).
      const appended = await engine.redis.client.xrange(partitionStream, `(${lastBefore}`, '+');
      const types = appended.map(([, fields]) => (JSON.parse(fields[fields.indexOf('e') + 1] ?? '{}') as { type?: string }).type);
      expect(types).not.toContain('presence.watch');
    } finally {
      socket.disconnect();
    }
  });
  it('still applies a legacy presence.watch entry already in a stream, as a no-op', async () => {
    const user = 'legacy-presence-user';
    const partition = partitionOf(user, engine.config.PARTITION_COUNT);
    const keys = engine.app.ctx.keys;
    await createStreamProducer(engine.redis.client, keys).append({
      id: randomUUID(),
      type: 'presence.watch',
      user,
      partition,
      time: new Date().toISOString(),
      schema: ENVELOPE_SCHEMA_VERSION,
      payload: {},
    });
    // The checkpoint moves past it (a positive marker), and nothing is parked.
    const id = await engine.applied(user, (e) => e.type === 'presence.watch');
    const parked = await readDeadLetters(engine.redis.client, keys, partition);
    expect(parked.map((d) => d.entryId)).not.toContain(id);
  });
});
