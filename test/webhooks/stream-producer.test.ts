import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeEnvelope, ENVELOPE_FIELD, type Envelope } from '../../streams/envelope.ts';
import { streamKeys } from '../../streams/keys.ts';
import { createStreamProducer, StreamAppendError } from '../../streams/producer.ts';
import { createTestRedis, type TestRedis } from '../support/redis.ts';

let redis: TestRedis;

beforeAll(async () => {
  redis = await createTestRedis();
});

afterAll(async () => {
  await redis.cleanup();
});

function envelope(id: string, partition: number): Envelope {
  return {
    id,
    type: 'positions.synced',
    user: `user-${partition}`,
    partition,
    time: new Date('2026-09-01T12:00:00Z').toISOString(),
    schema: 1,
    payload: { accountId: 'a1', positions: [{ symbol: 'AAPL', units: '3' }] },
  };
}

async function read(keysNs: string, partition: number) {
  const entries = await redis.client.xrange(streamKeys(keysNs).partitionStream(partition), '-', '+');
  return entries.map(([id, fields]) => ({ id, envelope: decodeEnvelope(fields[fields.indexOf(ENVELOPE_FIELD) + 1]!) }));
}

describe('stream producer', () => {
  it('appends one envelope to its partition stream as the `e` field and returns the stream id', async () => {
    const ns = `${redis.prefix}one`;
    const producer = createStreamProducer(redis.client, streamKeys(ns));
    const id = await producer.append(envelope('e-1', 3));
    expect(await read(ns, 3)).toEqual([{ id, envelope: envelope('e-1', 3) }]);
  });

  it('appends many envelopes in one pipeline, across partitions, ids in input order', async () => {
    const ns = `${redis.prefix}many`;
    const producer = createStreamProducer(redis.client, streamKeys(ns));
    const batch = [envelope('m-1', 0), envelope('m-2', 5), envelope('m-3', 0), envelope('m-4', 5)];
    const ids = await producer.appendMany(batch);
    expect(ids).toHaveLength(4);
    expect(await read(ns, 0)).toEqual([
      { id: ids[0], envelope: batch[0] },
      { id: ids[2], envelope: batch[2] },
    ]);
    expect(await read(ns, 5)).toEqual([
      { id: ids[1], envelope: batch[1] },
      { id: ids[3], envelope: batch[3] },
    ]);
    expect(await producer.appendMany([])).toEqual([]);
  });

  it('reports which entries of a batch failed, so a caller retries only those', async () => {
    const ns = `${redis.prefix}partial`;
    const keys = streamKeys(ns);
    // Partition 1's key holds a string: XADD to it fails with WRONGTYPE, the others succeed.
    await redis.client.set(keys.partitionStream(1), 'not a stream');
    const producer = createStreamProducer(redis.client, keys);
    const error = await producer.appendMany([envelope('p-1', 0), envelope('p-2', 1), envelope('p-3', 2)]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StreamAppendError);
    const outcomes = (error as StreamAppendError).outcomes;
    expect(outcomes.map((o) => o.ok)).toEqual([true, false, true]);
    expect((await read(ns, 0)).map((e) => e.envelope.id)).toEqual(['p-1']);
    expect((await read(ns, 2)).map((e) => e.envelope.id)).toEqual(['p-3']);
  });

  it('rejects when Redis refuses the append', async () => {
    const closed = new Redis(redis.url, { lazyConnect: true, enableOfflineQueue: false });
    const producer = createStreamProducer(closed, streamKeys(`${redis.prefix}closed`));
    await expect(producer.append(envelope('c-1', 0))).rejects.toThrow();
    closed.disconnect();
  });
});
