import { afterEach, describe, expect, it } from 'vitest';
import { createRateLimiter } from '../../src/providers/rate-limiter.ts';
import { createTestRedis, type TestRedis } from '../support/redis.ts';

/**
 * The SnapTrade budget all workers share gives each user at most their share of a window: a user
 * past it waits while another user's request is granted at once.
 */
let redis: TestRedis | undefined;
afterEach(async () => {
  await redis?.cleanup();
  redis = undefined;
});

/** Resolves true when the grant came before `ms`, false when it was still waiting. */
async function grantedWithin(acquire: (signal: AbortSignal) => Promise<unknown>, ms: number): Promise<boolean> {
  try {
    await acquire(AbortSignal.timeout(ms));
    return true;
  } catch (err) {
    if ((err as Error).name === 'TimeoutError') return false;
    throw err;
  }
}

describe('the shared SnapTrade budget', () => {
  it("holds one user to their share of the window while another user's requests still go through", async () => {
    redis = await createTestRedis();
    const limiter = createRateLimiter(redis.client, `${redis.prefix}{budget}`, { limit: 10, windowMs: 60_000, perUser: 3, maxInFlightMs: 30_000 });
    for (let i = 0; i < 3; i++) expect(await grantedWithin((s) => limiter.acquire(s, 'heavy'), 1_000)).toBe(true);
    expect(await grantedWithin((s) => limiter.acquire(s, 'heavy'), 300)).toBe(false);
    expect(await grantedWithin((s) => limiter.acquire(s, 'light'), 1_000)).toBe(true);
    expect(await limiter.used('heavy')).toBe(3);
    expect(await limiter.used('light')).toBe(1);
    expect(await limiter.used()).toBe(4);
  });

  it('still caps everyone together at the budget, and calls for no user count against the budget only', async () => {
    redis = await createTestRedis();
    const limiter = createRateLimiter(redis.client, `${redis.prefix}{budget}`, { limit: 4, windowMs: 60_000, perUser: 3, maxInFlightMs: 30_000 });
    for (const user of ['a', 'b']) for (let i = 0; i < 2; i++) expect(await grantedWithin((s) => limiter.acquire(s, user), 1_000)).toBe(true);
    expect(await grantedWithin((s) => limiter.acquire(s, 'c'), 300)).toBe(false);
    expect(await grantedWithin((s) => limiter.acquire(s), 300)).toBe(false);
    expect(await limiter.used()).toBe(4);
  });

  it('grants a user again once their oldest request leaves the window', async () => {
    redis = await createTestRedis();
    const limiter = createRateLimiter(redis.client, `${redis.prefix}{budget}`, { limit: 10, windowMs: 400, perUser: 1, maxInFlightMs: 30_000 });
    await (await limiter.acquire(undefined, 'u')).settle();
    // Waits for the window to move on, then is granted: no error, no lost request.
    expect(await grantedWithin((s) => limiter.acquire(s, 'u'), 3_000)).toBe(true);
    expect(await limiter.used('u')).toBe(1);
  });

  it('counts a request still in flight until one window after it ends, however long it takes', async () => {
    redis = await createTestRedis();
    // SnapTrade counts a request when it arrives, somewhere between our grant and its answer.
    const limiter = createRateLimiter(redis.client, `${redis.prefix}{budget}`, { limit: 1, windowMs: 300, maxInFlightMs: 60_000 });
    const slow = await limiter.acquire();
    // Three windows after the grant, the request is still in flight: nothing else is granted.
    expect(await grantedWithin((s) => limiter.acquire(s), 900)).toBe(false);
    await slow.settle();
    expect(await grantedWithin((s) => limiter.acquire(s), 10_000)).toBe(true);
  });
});
