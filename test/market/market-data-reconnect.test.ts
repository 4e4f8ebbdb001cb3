import { afterEach, describe, expect, it } from 'vitest';
import { startMarketHarness, waitFor, type MarketHarness } from './market-harness.ts';

const LATEST_TRADES = 'GET /v2/stocks/trades/latest';

let h: MarketHarness | undefined;

afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe('market-data ingester when the connection is killed', () => {
  it('reconnects, resubscribes and fetches over REST the prices it missed while down', async () => {
    h = await startMarketHarness();
    const harness = h;
    const book = harness.sandbox.priceBook;
    await harness.collector.setUserSymbols('u1', ['AMD', 'INTC']);
    const ingester = await harness.startIngester();
    await waitFor(() => ingester.status().confirmedSymbols === 2, 'subscribed');
    book.setPrice('AMD', 150);
    await waitFor(async () => (await harness.lastPrice('AMD'))?.price === 150, 'first AMD tick');
    harness.sandbox.alpaca.resetRequestCounts();

    expect(harness.sandbox.alpaca.killMarketDataConnections()).toBe(1);
    // The market moves while nobody is connected: the stream will never deliver this trade.
    book.setPrice('AMD', 155.55);

    await waitFor(() => ingester.status().reconnects === 1 && ingester.status().authenticated, 'reconnected');
    await waitFor(async () => (await harness.lastPrice('AMD'))?.price === 155.55, 'the missed price, over REST');
    expect(await harness.lastPrice('AMD')).toMatchObject({ price: 155.55, source: 'rest' });
    expect((await harness.ticks('AMD')).at(-1)).toMatchObject({ price: 155.55, source: 'rest' });
    expect(harness.sandbox.alpaca.requestCounts().byRoute[LATEST_TRADES]).toBe(1);

    // Resubscribed: the server confirms both symbols again and new trades stream in.
    await waitFor(() => ingester.status().confirmedSymbols === 2, 'resubscribed');
    book.setPrice('INTC', 23.5);
    await waitFor(async () => (await harness.lastPrice('INTC'))?.price === 23.5, 'INTC tick after the reconnect');
    expect(await harness.lastPrice('INTC')).toMatchObject({ source: 'stream' });
    expect(harness.sandbox.alpaca.connectionCounts().marketData).toBe(1);
    expect(await harness.metric('foliostream_market_reconnects_total')).toBe(1);
    expect(await harness.metric('foliostream_market_rest_refetches_total')).toBe(2);
    expect(ingester.status().connects).toBe(2);
  });

  it('never holds two connections, even through a burst of kills', async () => {
    h = await startMarketHarness();
    const harness = h;
    await harness.collector.setUserSymbols('u1', ['JNJ']);
    const ingester = await harness.startIngester({ reconnect: { initialMs: 10, maxMs: 50, jitter: 0 } });
    await waitFor(() => ingester.status().authenticated, 'authenticated');
    let killed = 0;
    for (let i = 0; i < 12; i++) {
      killed += harness.sandbox.alpaca.killMarketDataConnections();
      // Kill at different points: mid-handshake, just after auth, while waiting to reconnect.
      await new Promise((resolve) => setTimeout(resolve, 5 + (i % 4) * 15));
    }
    expect(killed).toBeGreaterThan(3);
    // Settled on both sides: under load the client can still report the connection the last kill
    // closed, so the sandbox's count is part of the condition.
    await waitFor(
      () => ingester.status().authenticated && ingester.status().confirmedSymbols === 1 && harness.sandbox.alpaca.connectionCounts().marketData === 1,
      'settled',
    );
    // Never two at once: the sandbox counts every connection it accepted, so no brief overlap
    // between two samples can hide.
    expect(harness.sandbox.alpaca.peakMarketDataConnections()).toBe(1);
    expect(ingester.status().lastError).not.toBe('connection limit exceeded');
    harness.sandbox.priceBook.setPrice('JNJ', 161);
    await waitFor(async () => (await harness.lastPrice('JNJ'))?.price === 161, 'tick after the kills');
  });

  // The market lease keeps a standby market process from connecting at all (market-lease.ts); this
  // is the ingester's own answer to a connection it does not own: the socket of a holder that lost
  // its lease while paused, still open until that process wakes up or dies.
  it('keeps retrying through 406 while another connection holds the key, and gets in once it closes', async () => {
    h = await startMarketHarness();
    const harness = h;
    await harness.collector.setUserSymbols('u1', ['DIS']);
    const first = await harness.startIngester();
    await waitFor(() => first.status().confirmedSymbols === 1, 'first subscribed');
    const second = await harness.startIngester({ reconnect: { initialMs: 50, maxMs: 200, jitter: 0 } });
    await waitFor(() => second.status().lastError === 'connection limit exceeded', 'the second refused with 406');
    expect(second.status().authenticated).toBe(false);
    expect(harness.sandbox.alpaca.connectionCounts().marketData).toBeLessThanOrEqual(2);

    await first.stop();
    await waitFor(() => second.status().authenticated && second.status().confirmedSymbols === 1, 'the second got in', 8000);
    harness.sandbox.priceBook.setPrice('DIS', 99);
    await waitFor(async () => (await harness.lastPrice('DIS'))?.price === 99, 'tick through the second');
    expect(harness.sandbox.alpaca.connectionCounts().marketData).toBe(1);
  });
});
