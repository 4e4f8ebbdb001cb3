import { afterEach, describe, expect, it } from 'vitest';
import { startMarketHarness, waitFor, type MarketHarness } from './market-harness.ts';

const LATEST_TRADES = 'GET /v2/stocks/trades/latest';

let h: MarketHarness | undefined;

afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe('market-data ingester', () => {
  it('subscribes to the securities already held, fetches their latest prices and writes ticks as the market moves', async () => {
    h = await startMarketHarness();
    const harness = h;
    await harness.collector.setUserSymbols('u1', ['AAPL', 'MSFT']);
    await harness.collector.setUserSymbols('u2', ['MSFT']);
    const ingester = await harness.startIngester();

    await waitFor(() => ingester.status().authenticated && ingester.status().confirmedSymbols === 2, 'authenticated with 2 symbols');
    expect(ingester.subscribedSymbols()).toEqual(['AAPL', 'MSFT']);
    // The first connect fetches the latest prices over REST, so positions are valued before any trade.
    await waitFor(async () => (await harness.lastPrice('MSFT')) !== undefined && (await harness.lastPrice('AAPL')) !== undefined, 'REST prices');
    expect(await harness.lastPrice('AAPL')).toMatchObject({ price: harness.sandbox.priceBook.quote('AAPL')!.price, source: 'rest' });
    expect(harness.sandbox.alpaca.requestCounts().byRoute[LATEST_TRADES]).toBe(1);

    harness.sandbox.priceBook.setPrice('AAPL', 250.5);
    harness.sandbox.priceBook.setPrice('TSLA', 300); // held by nobody
    harness.sandbox.priceBook.setPrice('AAPL', 251.25);
    await waitFor(async () => (await harness.lastPrice('AAPL'))?.price === 251.25, 'AAPL at 251.25');
    expect(await harness.lastPrice('AAPL')).toMatchObject({ price: 251.25, source: 'stream' });
    expect((await harness.ticks('AAPL')).filter((t) => t.source === 'stream').map((t) => t.price)).toEqual([250.5, 251.25]);
    expect(await harness.lastPrice('TSLA')).toBeUndefined();

    // A random-walk step moves both; each lands in its own shard's stream and in the last prices.
    harness.sandbox.priceBook.step(['AAPL', 'MSFT']);
    const aapl = harness.sandbox.priceBook.quote('AAPL')!.price;
    const msft = harness.sandbox.priceBook.quote('MSFT')!.price;
    await waitFor(async () => (await harness.lastPrice('AAPL'))?.price === aapl && (await harness.lastPrice('MSFT'))?.price === msft, 'stepped prices');
    expect((await harness.ticks('MSFT')).at(-1)).toMatchObject({ price: msft, source: 'stream' });
    expect(ingester.status().ticksReceived.stream).toBe(4);
    expect(await harness.metric('foliostream_market_subscribed_symbols')).toBe(2);
    await waitFor(async () => (await harness.metric('foliostream_market_ticks_written_total')) === 6, 'written counter');
    expect(ingester.staleSymbols(60_000)).toEqual([]);

    // Stop closes the stream and leaves nothing unwritten.
    await ingester.stop();
    expect(ingester.status().pendingWrites).toBe(0);
    await waitFor(() => harness.sandbox.alpaca.connectionCounts().marketData === 0, 'connection closed');
  });

  it('follows adds and removes from the symbol collector while running', async () => {
    h = await startMarketHarness();
    const harness = h;
    await harness.collector.setUserSymbols('u3', ['IBM']);
    const ingester = await harness.startIngester();
    await waitFor(() => ingester.status().confirmedSymbols === 1, 'IBM subscribed');

    // A newly held security is subscribed and priced over REST at once.
    await harness.collector.setUserSymbols('u1', ['NVDA']);
    await waitFor(() => ingester.status().confirmedSymbols === 2, 'NVDA subscribed');
    expect(ingester.subscribedSymbols()).toEqual(['IBM', 'NVDA']);
    await waitFor(async () => (await harness.lastPrice('NVDA'))?.source === 'rest', 'NVDA REST price');
    harness.sandbox.priceBook.setPrice('NVDA', 130);
    await waitFor(async () => (await harness.lastPrice('NVDA'))?.price === 130, 'NVDA tick');

    // A second holder adds AMD; the first leaving NVDA changes nothing while the second holds it.
    await harness.collector.setUserSymbols('u2', ['NVDA', 'AMD']);
    await waitFor(() => ingester.status().confirmedSymbols === 3, 'AMD subscribed');
    await harness.collector.removeUser('u1');
    harness.sandbox.priceBook.setPrice('NVDA', 131);
    await waitFor(async () => (await harness.lastPrice('NVDA'))?.price === 131, 'NVDA still streamed');
    expect(ingester.subscribedSymbols()).toEqual(['AMD', 'IBM', 'NVDA']);

    // Nobody holds NVDA or AMD any more: both are unsubscribed and their ticks no longer written.
    await harness.collector.removeUser('u2');
    await waitFor(() => ingester.status().confirmedSymbols === 1, 'NVDA and AMD unsubscribed');
    expect(ingester.subscribedSymbols()).toEqual(['IBM']);
    harness.sandbox.priceBook.setPrice('NVDA', 140);
    harness.sandbox.priceBook.setPrice('IBM', 226);
    await waitFor(async () => (await harness.lastPrice('IBM'))?.price === 226, 'IBM tick after NVDA');
    expect((await harness.lastPrice('NVDA'))?.price).toBe(131);
    expect(await harness.metric('foliostream_market_subscribed_symbols')).toBe(1);
  });

  it('takes changes made while it was stopped into account when it starts', async () => {
    h = await startMarketHarness();
    const harness = h;
    await harness.collector.setUserSymbols('u1', ['KO', 'PEP']);
    const first = await harness.startIngester();
    await waitFor(() => first.status().confirmedSymbols === 2, 'first subscription');
    await first.stop();
    await waitFor(() => harness.sandbox.alpaca.connectionCounts().marketData === 0, 'first connection closed');

    await harness.collector.setUserSymbols('u1', ['KO', 'WMT']);
    const second = await harness.startIngester();
    await waitFor(() => second.status().confirmedSymbols === 2, 'second subscription');
    expect(second.subscribedSymbols()).toEqual(['KO', 'WMT']);
    await harness.collector.setUserSymbols('u1', ['WMT']);
    await waitFor(() => second.status().confirmedSymbols === 1, 'KO removed');
    expect(second.subscribedSymbols()).toEqual(['WMT']);
  });

  it('keeps following changes after its Redis connection for them is killed', async () => {
    h = await startMarketHarness();
    const harness = h;
    await harness.collector.setUserSymbols('u1', ['XOM']);
    const ingester = await harness.startIngester();
    await waitFor(() => ingester.status().confirmedSymbols === 1, 'XOM subscribed');

    const name = `foliostream-market-changes:${harness.ctx.keys.namespace}`;
    const clients = (await harness.redis.client.client('LIST')) as string;
    const id = clients
      .split('\n')
      .find((line) => line.includes(` name=${name} `))
      ?.match(/^id=(\d+)/)?.[1];
    expect(id).toBeDefined();
    await harness.redis.client.client('KILL', 'ID', id!);
    await harness.collector.setUserSymbols('u1', ['XOM', 'JPM']);
    await waitFor(() => ingester.status().confirmedSymbols === 2, 'JPM subscribed after the kill', 8000);
    expect(ingester.subscribedSymbols()).toEqual(['JPM', 'XOM']);
  });
});
