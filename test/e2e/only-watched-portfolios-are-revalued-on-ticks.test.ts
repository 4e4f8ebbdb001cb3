import { io as connectClient } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readPortfolio } from '../../actors/portfolio/portfolio-read-model.ts';
import { readLastPrices } from '../../src/market/price-reader.ts';
import { createPortfolioStore, type PortfolioSocket } from '../../src/realtime/client/portfolio-store.ts';
import type { HoldingView } from '../../src/realtime/events.ts';
import { eventually, startTestEngine, type TestEngine } from '../support/engine.ts';

/**
 * Price ticks revalue only portfolios someone watches (a socket is open): an unwatched
 * portfolio is not touched by ticks, and the moment its owner connects it catches up with the
 * last prices, so the browser still sees exactly a full recomputation.
 */
const USER = 'presence-user';
const SYMBOLS = ['AAPL', 'MSFT'];
let engine: TestEngine;

beforeAll(async () => {
  engine = await startTestEngine();
});
afterAll(async () => {
  await engine?.stop();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const prices = (holdings: readonly HoldingView[]) =>
  Object.fromEntries(holdings.map((h) => [h.symbol, { price: h.price, marketValue: h.marketValue }]));

/** Epoch ms of the newest entry across the price streams. */
async function newestPriceEntryMs(): Promise<number> {
  const keys = engine.app.ctx.keys;
  let newest = 0;
  for (let shard = 0; shard < engine.config.PRICE_SHARDS; shard++) {
    const [last] = await engine.redis.client.xrevrange(keys.priceStream(shard), '+', '-', 'COUNT', 1);
    if (last) newest = Math.max(newest, Number(last[0].split('-')[0]));
  }
  return newest;
}

describe('presence', () => {
  it('skips ticks for an unwatched portfolio and catches it up when its owner connects', async () => {
    const { sandbox } = engine;
    const book = sandbox.priceBook;
    const keys = engine.app.ctx.keys;
    expect((await engine.api(USER, 'POST', '/api/snaptrade/connection-url', {})).status).toBe(200);
    await sandbox.control.connect(USER, {
      brokerage: 'ROBINHOOD',
      accounts: [{ name: 'Individual', currency: 'USD', positions: [{ symbol: 'AAPL', units: 3 }, { symbol: 'MSFT', units: 2 }] }],
    });
    await eventually(async () => {
      const { body } = await engine.api<{ holdings: HoldingView[] }>(USER, 'GET', '/api/portfolio');
      return body.holdings?.length === SYMBOLS.length ? true : undefined;
    }, 30_000, 'holdings synced');

    const revaluation = engine.app.roles.priceRevaluation!;
    // Ticks flow (the ingester follows what the user holds) while nobody watches.
    const before = revaluation.stats().revaluations;
    await eventually(async () => {
      book.setPrice('AAPL', 201.5);
      book.setPrice('MSFT', 402.25);
      await sleep(100);
      const last = await readLastPrices(engine.redis.client, keys, SYMBOLS);
      return last.get('AAPL')?.price === 201.5 && last.get('MSFT')?.price === 402.25 ? true : undefined;
    }, 20_000, 'ticks in the last prices');
    // Positive marker instead of a sleep: the worker has handled the batch holding those ticks
    // (its newest handled entry is at least as new as the newest in the price streams).
    const newestMs = await newestPriceEntryMs();
    await eventually(async () => (revaluation.stats().lastEntryMs >= newestMs ? true : undefined), 10_000, 'the ticks handled by the worker');
    expect(revaluation.stats().revaluations).toBe(before);

    // The owner connects: the snapshot and then the store hold the last prices.
    const socket: PortfolioSocket = connectClient(engine.url, {
      auth: { token: await engine.token(USER) },
      transports: ['websocket'],
      reconnection: false,
    });
    try {
      const store = createPortfolioStore(socket);
      await eventually(async () => store.state ?? undefined, 10_000, 'the snapshot');
      const expected = prices((await readPortfolio(engine.app.ctx.db, engine.redis.client, keys, USER)).snapshot.holdings);
      expect(expected).toMatchObject({ AAPL: { price: '201.5' }, MSFT: { price: '402.25' } });
      await eventually(async () => (JSON.stringify(prices(store.holdings())) === JSON.stringify(expected) ? true : undefined), 10_000, 'the store at the last prices');

      // Watched now: a tick reaches the browser through the actor.
      await eventually(async () => (engine.app.roles.worker!.activeActors() > 0 ? true : undefined), 10_000, 'the actor active');
      // Ticks go on until one reaches the browser (the worker sees the user watched within its
      // presence poll): no sleep to guess when that is.
      // (The catch-up on activation also brings the last price, so the tick path is proved by the
      // revaluation counter moving too, and by a price set after it.)
      let price = 205;
      await eventually(
        async () => {
          price += 1;
          book.setPrice('AAPL', price);
          await sleep(100);
          const shown = store.holdings().find((h) => h.symbol === 'AAPL')?.price === String(price);
          return shown && revaluation.stats().revaluations > before ? true : undefined;
        },
        10_000,
        'a tick revalued by the actor and pushed',
      );
    } finally {
      socket.disconnect();
    }
  });
});
