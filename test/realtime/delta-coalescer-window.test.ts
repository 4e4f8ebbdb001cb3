import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDeltaCoalescer } from '../../src/realtime/delta-coalescer.ts';
import { commandDeltaSender } from '../../src/realtime/delta-sender.ts';
import type { PortfolioDelta } from '../../src/realtime/events.ts';
import { createPortfolioSequence } from '../../src/realtime/portfolio-sequence.ts';
import { realtimeKeys } from '../../src/realtime/realtime-keys.ts';
import { createTestRedis, type TestRedis } from '../support/redis.ts';
import { holding, totalsOf, uniqueUser, until } from './realtime-harness.ts';

let redis: TestRedis;
let keys: ReturnType<typeof realtimeKeys>;

beforeAll(async () => {
  redis = await createTestRedis();
  keys = realtimeKeys(redis.prefix.replace(/:$/, ''));
});
afterAll(async () => {
  await redis.cleanup();
});

const change = (user: string, symbol: string, price: string) => {
  const h = holding(user, symbol, price);
  return { totals: totalsOf([h]), upserted: [h] };
};

function collector() {
  const sent: { userId: string; delta: PortfolioDelta; at: number }[] = [];
  return { sent, emit: async (userId: string, delta: PortfolioDelta) => void sent.push({ userId, delta, at: Date.now() }) };
}

describe('per-user delta coalescing over a window', () => {
  it('changes pushed within one window leave as one delta numbered from the shared counter', async () => {
    const sequence = createPortfolioSequence(redis.client, keys);
    const { sent, emit } = collector();
    const coalescer = createDeltaCoalescer({ sender: commandDeltaSender(sequence, emit), windowMs: 40 });
    const [ann, bob] = [uniqueUser('ann'), uniqueUser('bob')];
    for (let i = 1; i <= 10; i++) coalescer.push(ann, change(ann, 'AAPL', `${190 + i}`));
    coalescer.push(ann, change(ann, 'MSFT', '400'));
    coalescer.push(bob, change(bob, 'AAPL', '10'));
    expect(sent).toEqual([]);
    await until(() => sent.length === 2, 'one delta per user');
    const annDelta = sent.find((s) => s.userId === ann)?.delta;
    expect(annDelta?.seq).toBe(1);
    expect(annDelta?.upserted.map((h) => [h.symbol, h.price])).toEqual([
      ['AAPL', '200'],
      ['MSFT', '400'],
    ]);
    expect(await sequence.current(ann)).toBe(1);

    coalescer.push(ann, change(ann, 'AAPL', '201'));
    await until(() => sent.length === 3, 'the next window');
    expect(sent[2]?.delta.seq).toBe(2);
    await coalescer.close();
    expect(coalescer.activeUsers()).toBe(0);
  });

  it("stamps a delta with the time of its window's last change, not of the first", async () => {
    const sequence = createPortfolioSequence(redis.client, keys);
    const { sent, emit } = collector();
    const coalescer = createDeltaCoalescer({ sender: commandDeltaSender(sequence, emit), windowMs: 80 });
    const ann = uniqueUser('ann');
    coalescer.push(ann, change(ann, 'AAPL', '189'));
    await until(() => sent.length === 1, 'the first change to leave');
    // The next two changes fall within the window after that send, so they leave together.
    coalescer.push(ann, change(ann, 'AAPL', '190'));
    await new Promise((resolve) => setTimeout(resolve, 25));
    const lastPushAt = Date.now();
    coalescer.push(ann, change(ann, 'AAPL', '191'));
    await until(() => sent.length === 2, 'the window closed');
    expect(sent[1]!.delta.upserted.map((h) => h.price)).toEqual(['191']);
    const stamped = Date.parse(sent[1]!.delta.asOf);
    expect(stamped).toBeGreaterThanOrEqual(lastPushAt);
    expect(stamped).toBeLessThanOrEqual(sent[1]!.at);
    await coalescer.close();
  });

  it('a change to a user sent nothing for a window leaves on the next step of the clock, the next one a window after it', async () => {
    const sequence = createPortfolioSequence(redis.client, keys);
    const { sent, emit } = collector();
    const windowMs = 300;
    const coalescer = createDeltaCoalescer({ sender: commandDeltaSender(sequence, emit), windowMs });
    const user = uniqueUser('lone');
    const pushedAt = Date.now();
    coalescer.push(user, change(user, 'AAPL', '100'));
    await until(() => sent.length === 1, 'the lone change');
    // The clock's step is 10 ms; a loaded machine may add to it, but not a whole window.
    expect(sent[0]!.at - pushedAt).toBeLessThan(windowMs / 2);
    coalescer.push(user, change(user, 'AAPL', '101'));
    await until(() => sent.length === 2, 'the second change, a window later');
    expect(sent[1]!.at - sent[0]!.at).toBeGreaterThanOrEqual(windowMs - 25);
    expect(coalescer.activeUsers()).toBe(1);
    // Once a window has passed since the last send, the user is forgotten and leads again.
    await until(() => coalescer.activeUsers() === 0, 'the user to be forgotten');
    const againAt = Date.now();
    coalescer.push(user, change(user, 'AAPL', '102'));
    await until(() => sent.length === 3, 'the third change');
    expect(sent[2]!.at - againAt).toBeLessThan(windowMs / 2);
    expect(sent.map((s) => s.delta.seq)).toEqual([1, 2, 3]);
    await coalescer.close();
  });

  it('sends at most one delta per user per window under a steady stream of changes', async () => {
    const sequence = createPortfolioSequence(redis.client, keys);
    const { sent, emit } = collector();
    const windowMs = 100;
    const coalescer = createDeltaCoalescer({ sender: commandDeltaSender(sequence, emit), windowMs });
    const user = uniqueUser('busy');
    const started = Date.now();
    let price = 100;
    while (Date.now() - started < 450) {
      coalescer.push(user, change(user, 'AAPL', String(price++)));
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    await coalescer.close();
    const elapsed = Date.now() - started;
    const pushes = price - 100;
    expect(pushes).toBeGreaterThan(20);
    // At most one delta per window that elapsed (windows close on a 10 ms clock, so one lasts at
    // least windowMs - 10), plus the one close() flushes: a bound that a slow machine widens
    // instead of breaking. And far fewer deltas than changes.
    expect(sent.length).toBeGreaterThanOrEqual(2);
    expect(sent.length).toBeLessThanOrEqual(Math.ceil(elapsed / (windowMs - 10)) + 1);
    expect(sent.length).toBeLessThan(pushes / 3);
    expect(sent.map((s) => s.delta.seq)).toEqual(sent.map((_, i) => i + 1));
    expect(sent.at(-1)?.delta.upserted[0]?.price).toBe(String(price - 1));
  });

  it('changes that could not be numbered while Redis was unreachable go out merged once it is back', async () => {
    const flaky = new Redis(redis.url, { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0 });
    try {
      const { sent, emit } = collector();
      const coalescer = createDeltaCoalescer({ sender: commandDeltaSender(createPortfolioSequence(flaky, keys), emit), windowMs: 30 });
      const user = uniqueUser('offline');
      coalescer.push(user, change(user, 'AAPL', '101'));
      coalescer.push(user, change(user, 'MSFT', '401'));
      await coalescer.flush(user); // INCR fails: not connected, no offline queue
      expect(sent).toEqual([]);
      expect(coalescer.activeUsers()).toBe(1);
      coalescer.push(user, change(user, 'AAPL', '102'));
      // The failed command made the lazy client start connecting; the retry needs no help from us.
      await until(() => flaky.status === 'ready', 'the connection to come up');
      await until(() => sent.length === 1, 'the retried delta');
      expect(sent[0]?.delta.seq).toBe(1);
      expect(Object.fromEntries(sent[0]?.delta.upserted.map((h) => [h.symbol, h.price]) ?? [])).toEqual({
        AAPL: '102',
        MSFT: '401',
      });
      await coalescer.close();
      expect(() => coalescer.push(user, change(user, 'AAPL', '1'))).toThrow(/closed/);
    } finally {
      flaky.disconnect();
    }
  });

  it('close() sends what is pending without waiting for the window', async () => {
    const { sent, emit } = collector();
    const coalescer = createDeltaCoalescer({ sender: commandDeltaSender(createPortfolioSequence(redis.client, keys), emit), windowMs: 60_000 });
    const user = uniqueUser('closing');
    coalescer.push(user, change(user, 'AAPL', '5'));
    await coalescer.close();
    expect(sent.map((s) => s.delta.seq)).toEqual([1]);
  });
});
