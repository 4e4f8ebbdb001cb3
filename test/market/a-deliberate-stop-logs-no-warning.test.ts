import { Writable } from 'node:stream';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { startMarketHarness, waitFor, type MarketHarness } from './market-harness.ts';

/**
 * Ctrl-C (or a deploy) stops the market role, which closes its Alpaca stream on purpose: that is
 * not a lost stream, and must not log the warning an operator would have to look into. A stream
 * the server drops still warns.
 */
let h: MarketHarness | undefined;

afterEach(async () => {
  await h?.close();
  h = undefined;
});

function capture() {
  const lines: { level: number; msg: string }[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split('\n')) if (line) lines.push(JSON.parse(line) as { level: number; msg: string });
      done();
    },
  });
  return { log: pino({ level: 'info' }, stream), lines };
}

describe('the market-data ingester', () => {
  it('stops without a warning when asked to, and still warns when the server drops the stream', async () => {
    h = await startMarketHarness();
    const harness = h;
    await harness.collector.setUserSymbols('u1', ['AAPL']);
    const { log, lines } = capture();
    const ingester = await harness.startIngester({ log });
    await waitFor(() => ingester.status().authenticated && ingester.status().confirmedSymbols === 1, 'subscribed');

    // Dropped by the server: a warning.
    expect(harness.sandbox.alpaca.killMarketDataConnections()).toBe(1);
    await waitFor(() => lines.some((l) => l.msg === 'market-data stream lost'), 'the warning about the lost stream');
    await waitFor(() => ingester.status().reconnects === 1 && ingester.status().authenticated, 'reconnected');

    const before = lines.length;
    await ingester.stop();
    const stopping = lines.slice(before);
    expect(stopping.map((l) => l.msg)).toContain('market ingester stopped');
    expect(stopping.filter((l) => l.level >= 40)).toEqual([]);
  });
});
