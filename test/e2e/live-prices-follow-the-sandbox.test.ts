import { io as connectClient } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readPortfolio } from '../../actors/portfolio/portfolio-read-model.ts';
import { readLastPrices } from '../../src/market/price-reader.ts';
import { createPortfolioStore, type PortfolioSocket, type PortfolioStore } from '../../src/realtime/client/portfolio-store.ts';
import type { HoldingView, PortfolioSnapshot } from '../../src/realtime/events.ts';
import { eventually, startTestEngine, type TestEngine } from '../support/engine.ts';
import { createRandom } from '../../sandbox/market/seeded-random.ts';

/**
 * The live-prices path end to end: sandbox price book → Alpaca market-data WebSocket → market
 * ingester → price streams → worker (TickerHolders → actor state → applyLiveQuote) → delta
 * coalescer → Redis adapter → socket.io → the product's browser store. After 1,000 random
 * ticks and then a position change synced over them, what the client holds must equal a full
 * recomputation from the committed positions and the last prices, digit for digit, and the
 * prices must be the sandbox's.
 */

const USER = 'live-prices-user';
const TICKS = 1_000;

let engine: TestEngine;

beforeAll(async () => {
  engine = await startTestEngine();
});
afterAll(async () => {
  await engine?.stop();
});


const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** What the comparison looks at: every value a price moves, per holding, plus the totals. */
function valuesOf(holdings: readonly HoldingView[]) {
  return Object.fromEntries(
    [...holdings]
      .sort((a, b) => (a.id < b.id ? -1 : 1))
      .map((h) => [
        h.id,
        {
          symbol: h.symbol,
          quantity: h.quantity,
          price: h.price,
          priceAsOf: h.priceAsOf,
          marketValue: h.marketValue,
          marketValueBase: h.marketValueBase,
          unrealizedPl: h.unrealizedPl,
          dayChange: h.dayChange,
          unrealizedPlBase: h.unrealizedPlBase,
          dayChangeBase: h.dayChangeBase,
          accounts: h.accounts.map((a) => ({ accountId: a.accountId, quantity: a.quantity, marketValue: a.marketValue, marketValueBase: a.marketValueBase })),
        },
      ]),
  );
}

describe('live prices follow the sandbox to a connected client', () => {
  it('after 1,000 random ticks the client holds exactly what a full recomputation gives', async () => {
    const { sandbox } = engine;
    const book = sandbox.priceBook;
    const keys = engine.app.ctx.keys;

    // A user with two brokerages (AAPL held at both: one aggregated holding over two accounts).
    expect((await engine.api(USER, 'POST', '/api/snaptrade/connection-url', {})).status).toBe(200);
    const robinhood = await sandbox.control.connect(USER, {
      brokerage: 'ROBINHOOD',
      accounts: [
        {
          name: 'Individual',
          currency: 'USD',
          cash: { USD: 1234.56 },
          positions: [
            { symbol: 'AAPL', units: 10, averageCost: 150.25 },
            { symbol: 'MSFT', units: 3.5, averageCost: 300 },
            { symbol: 'NVDA', units: 12 },
          ],
        },
      ],
    });
    await sandbox.control.connect(USER, {
      brokerage: 'QUESTRADE',
      accounts: [
        {
          name: 'Margin',
          currency: 'USD',
          cash: { USD: 800 },
          positions: [
            { symbol: 'AAPL', units: 4.25, averageCost: 170 },
            { symbol: 'SPY', units: 5, averageCost: 480.1 },
            { symbol: 'AMD', units: 20 },
          ],
        },
      ],
    });
    const symbols = ['AAPL', 'AMD', 'MSFT', 'NVDA', 'SPY'];
    await eventually(
      async () => {
        const { body } = await engine.api<{ holdings: HoldingView[] }>(USER, 'GET', '/api/portfolio');
        const aapl = body.holdings?.find((h) => h.symbol === 'AAPL');
        return body.holdings?.length === symbols.length && aapl?.accounts.length === 2 ? true : undefined;
      },
      30_000,
      'both brokerages synced and aggregated',
    );

    // The ingester subscribes to what the user holds; a tick of every symbol reaching the last
    // prices means the whole market-data leg is up.
    await eventually(
      async () => {
        for (const symbol of symbols) book.setPrice(symbol, book.quote(symbol)!.price);
        await sleep(100);
        const last = await readLastPrices(engine.redis.client, keys, symbols);
        return symbols.every((s) => last.get(s)?.source === 'stream') ? true : undefined;
      },
      20_000,
      'market data subscribed for the held symbols',
    );

    const socket: PortfolioSocket = connectClient(engine.url, {
      auth: { token: await engine.token(USER) },
      transports: ['websocket'],
      reconnection: false,
    });
    let store: PortfolioStore | undefined;
    try {
      store = createPortfolioStore(socket);
      const client = store;
      let received: PortfolioSnapshot | undefined;
      socket.on('portfolio:snapshot', (s) => (received = s));
      await eventually(async () => client.state ?? undefined, 10_000, 'the connect snapshot');
      expect(received?.holdings.map((h) => h.symbol).sort()).toEqual(symbols);

      // 1,000 ticks: random absolute prices and random-walk steps over the user's symbols, in
      // bursts (several ticks of one symbol can share a millisecond and a coalescing window).
      const rand = createRandom(20261126);
      // The store also asks for snapshots of its own (the connection model's lists, after a sync
      // ends), so the ticks' share is counted from here.
      const beforeTicks = client.stats();
      let sent = 0;
      let bursts = 0;
      while (sent < TICKS) {
        bursts += 1;
        const burst = Math.min(1 + Math.floor(rand() * 12), TICKS - sent);
        for (let i = 0; i < burst; i++) {
          const symbol = symbols[Math.floor(rand() * symbols.length)]!;
          if (rand() < 0.6) {
            // Sub-dollar prices too: four decimals below $1 (sub-penny), cents above.
            const price = rand() < 0.1 ? 0.01 + rand() : 5 + rand() * 900;
            book.setPrice(symbol, price);
          } else {
            book.step([symbol]);
          }
        }
        sent += burst;
        await sleep(Math.floor(rand() * 100));
      }
      const finalPrices = Object.fromEntries(symbols.map((s) => [s, book.quote(s)!.price]));

      // Converged: the market leg has written the book's final prices ...
      await eventually(
        async () => {
          const last = await readLastPrices(engine.redis.client, keys, symbols);
          return symbols.every((s) => last.get(s)?.price === finalPrices[s]) ? true : undefined;
        },
        20_000,
        'the final prices in the last-prices hash',
      );
      // ... and the client's prices have caught up with them through deltas.
      await eventually(
        async () => (client.holdings().every((h) => Number(h.price) === finalPrices[h.symbol]) ? true : undefined),
        20_000,
        'the client to show the final prices',
      );
      // The prices came from deltas: no gap while the ticks ran (every snapshot is the connect one
      // or one the store asked for its connection model, never a resync; the answer to an ask made
      // before the ticks may arrive during them), and many deltas,
      // coalesced: a burst's ticks are written at once and share a window (a burst may straddle
      // windows), so there are at most a few deltas per burst, where one per tick would be six or
      // seven per burst.
      const afterTicks = client.stats();
      expect(afterTicks.gaps).toBe(0);
      expect(afterTicks.snapshots).toBeLessThanOrEqual(1 + afterTicks.snapshotRequests);
      const tickDeltas = afterTicks.deltasApplied - beforeTicks.deltasApplied;
      expect(tickDeltas).toBeGreaterThan(20);
      expect(tickDeltas).toBeLessThanOrEqual(3 * bursts);
      expect(3 * bursts).toBeLessThan(TICKS / 2);
      // Then Robinhood reports 3 more AAPL: the actor applies that sync over holdings and totals
      // the ticks moved (it must build them first: ticks only move numbers).
      await sandbox.control.setPosition(robinhood.accounts[0]!.id, { symbol: 'AAPL', units: 13, averageCost: 150.25, notify: true });
      await eventually(
        async () => (client.holdings().find((h) => h.symbol === 'AAPL')?.quantity === '17.25' ? true : undefined),
        20_000,
        'the new AAPL position on the client',
      );

      const full = await readPortfolio(engine.app.ctx.db, engine.redis.client, keys, USER);
      const state = client.state!;
      expect(valuesOf(client.holdings())).toEqual(valuesOf(full.snapshot.holdings));
      expect(state.totals).toEqual(full.snapshot.totals);
      expect(state.totals.totalValue).not.toBeNull();
      // And the HTTP read model says the same.
      const http = await engine.api<PortfolioSnapshot>(USER, 'GET', '/api/portfolio');
      expect(valuesOf(client.holdings())).toEqual(valuesOf(http.body.holdings));
      expect(state.totals).toEqual(http.body.totals);
      for (const h of client.holdings()) expect(Number(h.price)).toBe(finalPrices[h.symbol]);

      // No gap over the whole run (the sync's changes came as deltas too).
      const stats = client.stats();
      expect(stats.gaps).toBe(0);
      expect(state.seq).toBeGreaterThanOrEqual(stats.deltasApplied);
    } finally {
      store?.dispose();
      socket.disconnect();
    }
  });
});
