import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDeltaCoalescer } from '../../src/realtime/delta-coalescer.ts';
import { commandDeltaSender, scriptedDeltaSender, type OutgoingDelta } from '../../src/realtime/delta-sender.ts';
import { userRoom, type PortfolioDelta } from '../../src/realtime/events.ts';
import { SoleAccountPriceText } from '../../src/portfolio/reprice.ts';
import { preparedRepricing } from '../../actors/portfolio/portfolio-views.ts';
import { mergeChange, toDelta } from '../../src/realtime/pending-delta.ts';
import { createPortfolioSequence } from '../../src/realtime/portfolio-sequence.ts';
import { realtimeKeys } from '../../src/realtime/realtime-keys.ts';
import { classicRoomFrames, createRoomEmitter } from '../../src/realtime/room-emitter.ts';
import { createTestRedis, type TestRedis } from '../support/redis.ts';
import { holding, oneHoldingTotals, totalsOf, uniqueUser, until } from './realtime-harness.ts';

let redis: TestRedis;
let keys: ReturnType<typeof realtimeKeys>;
let namespace: string;
let subscriber: Redis;
/** Messages heard on the room channels of this test's namespace, by channel. */
const heard = new Map<string, string[]>();

beforeAll(async () => {
  redis = await createTestRedis();
  namespace = redis.prefix.replace(/:$/, '');
  keys = realtimeKeys(namespace);
  subscriber = new Redis(redis.url);
  subscriber.on('pmessage', (_pattern: string, channel: string, message: string) => {
    const list = heard.get(channel) ?? [];
    list.push(message);
    heard.set(channel, list);
  });
  await subscriber.psubscribe(`${keys.channelPrefix}#*`);
});
afterAll(async () => {
  subscriber.disconnect();
  await redis.cleanup();
});

const channelOf = (userId: string) => classicRoomFrames(keys.channelPrefix)(userRoom(userId), 'portfolio:delta').channel;

const change = (userId: string, price: string) => {
  const h = holding(userId, 'AAPL', price);
  return { totals: totalsOf([h]), upserted: [h] };
};
const outgoing = (userId: string, price: string): OutgoingDelta => ({ userId, pending: mergeChange(undefined, change(userId, price), new Date().toISOString()) });

const T0 = '2026-06-02T14:30:00.000Z';
/** A delta of one tick of the usual holding (10 shares at 190), and that holding's text, which its next tick moves. */
const tickDelta = (userId: string) => {
  const text = new SoleAccountPriceText(`${userId}/AAPL`, '190', T0, 1900, 0, null, 0, null, 0, 'no-previous-close');
  const pending = mergeChange(undefined, { totals: oneHoldingTotals('1900'), repriced: [preparedRepricing(text)] }, T0);
  return { delta: { userId, pending }, text };
};

describe('deltas sent one command at a time (a Redis Cluster)', () => {
  it('send what a delta said when its send began, though a later tick moves its texts before its seq comes back', async () => {
    const user = uniqueUser('moved-commands');
    const { delta, text } = tickDelta(user);
    const emitted: PortfolioDelta[] = [];
    const sender = commandDeltaSender(createPortfolioSequence(redis.client, keys), async (_userId, d) => {
      emitted.push(d);
    });
    const sending = sender.send([delta]);
    text.moveTo(text.identityKey, '191', text.priceAsOf, 1910, 0, null, 0, null, 0, 'no-previous-close');
    expect(await sending).toEqual([1]);
    expect(emitted).toHaveLength(1);
    expect(emitted[0]!.repriced[0]!.slice(1, 4)).toEqual(['190', T0, '1900']);
  });
});

describe('deltas numbered and published by one script per clock step', () => {
  it("publishes exactly the message the room emitter would, with the user's next seq spliced in", async () => {
    const sender = scriptedDeltaSender(redis.client, keys);
    const user = uniqueUser('framed');
    const delta = outgoing(user, '190.25');
    expect(await sender.send([delta])).toEqual([1]);
    expect(await sender.send([delta])).toEqual([2]);
    const channel = channelOf(user);
    await until(() => (heard.get(channel)?.length ?? 0) === 2, 'both scripted messages');
    // The emitter's own publish of the same delta, numbered 2, on the same channel.
    const emitter = createRoomEmitter(redis.client, { namespace });
    await emitter.delta(user, toDelta(delta.pending, 2));
    await until(() => heard.get(channel)?.length === 3, "the emitter's message");
    const [, scripted, emitted] = heard.get(channel)!;
    expect(scripted).toBe(emitted);
    expect(JSON.parse(scripted!.slice(scripted!.indexOf('\n') + 1))).toEqual(toDelta(delta.pending, 2));
    expect(await createPortfolioSequence(redis.client, keys).current(user)).toBe(2);
  });

  it('publishes text beyond ASCII byte for byte, as the emitter would', async () => {
    const sender = scriptedDeltaSender(redis.client, keys);
    const user = uniqueUser('unicode');
    const h = { ...holding(user, 'GLE', '41.05'), description: 'Société Générale — € ordinary shares 😀' };
    const delta: OutgoingDelta = { userId: user, pending: mergeChange(undefined, { totals: totalsOf([h]), upserted: [h] }, new Date().toISOString()) };
    expect(await sender.send([delta])).toEqual([1]);
    const channel = channelOf(user);
    await createRoomEmitter(redis.client, { namespace }).delta(user, toDelta(delta.pending, 1));
    await until(() => heard.get(channel)?.length === 2, 'the scripted and the emitted message');
    const [scripted, emitted] = heard.get(channel)!;
    expect(scripted).toBe(emitted);
    expect((JSON.parse(scripted!.slice(scripted!.indexOf('\n') + 1)) as { upserted: Array<{ description: string }> }).upserted[0]!.description).toBe(h.description);
  });

  it('loads the script again when Redis has forgotten it, and numbers that step as usual', async () => {
    const sender = scriptedDeltaSender(redis.client, keys);
    const user = uniqueUser('flushed');
    expect(await sender.send([outgoing(user, '1')])).toEqual([1]);
    await redis.client.script('FLUSH');
    expect(await sender.send([outgoing(user, '2'), outgoing(user, '3')])).toEqual([2, 3]);
    await until(() => heard.get(channelOf(user))?.length === 3, 'all three messages');
  });

  it('sends what a delta said when its send began, though a later tick moves its texts before the script is loaded again', async () => {
    const sender = scriptedDeltaSender(redis.client, keys);
    const user = uniqueUser('moved-scripted');
    const { delta, text } = tickDelta(user);
    await redis.client.script('FLUSH');
    const sending = sender.send([delta]);
    // The holding's next tick, while the first call waits for NOSCRIPT.
    text.moveTo(text.identityKey, '191', text.priceAsOf, 1910, 0, null, 0, null, 0, 'no-previous-close');
    expect(await sending).toEqual([1]);
    await until(() => heard.get(channelOf(user))?.length === 1, 'the message');
    const sent = heard.get(channelOf(user))![0]!;
    expect((JSON.parse(sent.slice(sent.indexOf('\n') + 1)) as { repriced: string[][] }).repriced[0]!.slice(1, 4)).toEqual(['190', T0, '1900']);
  });

  it('numbers every delta of a step larger than one script call, each from its own user\'s counter, in order', async () => {
    const sender = scriptedDeltaSender(redis.client, keys);
    // 600 deltas: three script calls; one user twice, so its second delta takes seq 2.
    const users = Array.from({ length: 599 }, (_, i) => uniqueUser(`many${i}`));
    const deltas = [...users.map((u) => outgoing(u, '10')), outgoing(users[0]!, '11')];
    const outcomes = await sender.send(deltas);
    expect(outcomes).toEqual([...users.map(() => 1), 2]);
    await until(() => heard.get(channelOf(users[0]!))?.length === 2, "the first user's two messages");
    const seqs = heard.get(channelOf(users[0]!))!.map((m) => (JSON.parse(m.slice(m.indexOf('\n') + 1)) as { seq: number }).seq);
    expect(seqs).toEqual([1, 2]);
  });

  it("a user whose seq key is not a counter loses only their own delta, and the coalescer retries it while the others' leave", async () => {
    const sender = scriptedDeltaSender(redis.client, keys);
    const [good, broken] = [uniqueUser('good'), uniqueUser('broken')];
    await redis.client.set(keys.seq(broken), 'not a number');
    const outcomes = await sender.send([outgoing(broken, '1'), outgoing(good, '2')]);
    expect(outcomes[0]).toBeInstanceOf(Error);
    expect(String(outcomes[0])).toMatch(/not an integer/);
    expect(outcomes[1]).toBe(1);

    const coalescer = createDeltaCoalescer({ sender, windowMs: 30 });
    coalescer.push(broken, change(broken, '3'));
    coalescer.push(good, change(good, '4'));
    await until(() => heard.get(channelOf(good))?.length === 2, "the good user's second delta");
    expect(heard.get(channelOf(broken))).toBeUndefined();
    // Repaired, the broken user's change goes out on a retry, numbered from the counter.
    await redis.client.set(keys.seq(broken), '41');
    await until(() => heard.get(channelOf(broken))?.length === 1, "the repaired user's delta", 3_000);
    const message = heard.get(channelOf(broken))![0]!;
    expect((JSON.parse(message.slice(message.indexOf('\n') + 1)) as { seq: number }).seq).toBe(42);
    await coalescer.close();
  });
});
