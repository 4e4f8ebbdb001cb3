import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendDeadLetter, DEAD_LETTER_MAXLEN, readDeadLetters } from '../../streams/dead-letter.ts';
import { streamKeys, type StreamKeys } from '../../streams/keys.ts';
import { createTestRedis, type TestRedis } from '../support/redis.ts';

/**
 * Redis runs `noeviction`: a flood of poison events must not grow a partition's dead-letter
 * stream without bound. Each append trims it (`MAXLEN ~`) to `DEAD_LETTER_MAXLEN`, oldest first.
 */
describe('dead-letter streams', () => {
  let redis: TestRedis;
  let keys: StreamKeys;
  beforeAll(async () => {
    redis = await createTestRedis();
    keys = streamKeys(redis.prefix.replace(/:$/, ''));
  });
  afterAll(async () => {
    await redis.cleanup();
  });

  it('are trimmed to their cap, keeping the newest dead letters', async () => {
    expect(DEAD_LETTER_MAXLEN).toBe(10_000);
    const cap = 100;
    for (let i = 0; i < 1_000; i++) {
      await appendDeadLetter(redis.client, keys, 0, { entryId: `${i}-0`, envelope: '{}', reason: 'poison', deliveries: 5 }, cap);
    }
    const length = await redis.client.xlen(keys.deadLetterStream(0));
    // MAXLEN ~ trims whole macro nodes (100 entries by default): at most one node over the cap.
    expect(length).toBeGreaterThanOrEqual(cap);
    expect(length).toBeLessThanOrEqual(2 * cap);
    const kept = await readDeadLetters(redis.client, keys, 0);
    expect(kept.at(-1)).toMatchObject({ entryId: '999-0', reason: 'poison', deliveries: 5 });
    expect(kept.map((d) => d.entryId)).not.toContain('0-0');
  });
});
