import pino from 'pino';
import { createAlpacaClient, type AlpacaClient } from '../../src/providers/alpaca/client.ts';
import { startAlpacaSandbox, type AlpacaSandbox, type AlpacaSandboxOptions } from '../../sandbox/alpaca/server.ts';
import { createPriceBook } from '../../sandbox/market/price-book.ts';
import type { PriceBook } from '../../sandbox/market/price-book.types.ts';
import { WAIT_FLOOR_MS } from '../support/wait-floor.ts';

/** A sandbox on a free port with its own price book, plus SDK clients for its accounts. */
export interface AlpacaHarness {
  book: PriceBook;
  sandbox: AlpacaSandbox;
  /** Real SDK client for the default account. */
  client: AlpacaClient;
  clientFor(keyId: string, secretKey: string, options?: { retry?: false }): AlpacaClient;
  close(): Promise<void>;
}

export const KEY_ID = 'PKSANDBOXTEST0000001';
export const SECRET = 'sandbox-secret-for-tests-0123456789abcdef';

export async function startHarness(overrides: Partial<AlpacaSandboxOptions> = {}): Promise<AlpacaHarness> {
  const book = createPriceBook({ seed: 42 });
  const sandbox = await startAlpacaSandbox({
    port: 0,
    priceBook: book,
    keyId: KEY_ID,
    secretKey: SECRET,
    logger: pino({ level: 'silent' }),
    ...overrides,
  });
  const clientFor = (keyId: string, secretKey: string, options: { retry?: false } = {}): AlpacaClient =>
    createAlpacaClient({ keyId, secretKey, tradingUrl: sandbox.url, dataUrl: sandbox.url, retry: options.retry });
  return {
    book,
    sandbox,
    client: clientFor(KEY_ID, SECRET, { retry: false }),
    clientFor,
    async close() {
      await sandbox.close();
      book.close();
    },
  };
}

/** Resolve when `predicate` holds, polling every 10 ms; reject after `timeoutMs`. */
export async function waitFor(predicate: () => boolean, timeoutMs = 3000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + Math.max(timeoutMs, WAIT_FLOOR_MS);
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
