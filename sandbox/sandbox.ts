import {
  SANDBOX_ALPACA_KEY_ID,
  SANDBOX_ALPACA_SECRET,
  SANDBOX_CLIENT_ID,
  SANDBOX_CONSUMER_KEY,
} from '../src/config/variables.ts';
import { createLogger, type Logger } from '../src/logging/logger.ts';
import { startAlpacaSandbox, type AlpacaSandbox } from './alpaca/server.ts';
import { SandboxControlClient } from './control-client.ts';
import { createPriceBook } from './market/price-book.ts';
import type { PriceBook } from './market/price-book.types.ts';
import type { RateLimitConfig } from './snaptrade/rate-limiter.ts';
import { startSnaptradeSandbox, type SnaptradeSandbox } from './snaptrade/server.ts';

/**
 * The whole brokerage sandbox: the SnapTrade-compatible server (API, connection portal, control
 * API) and the Alpaca-compatible server, sharing one price book. Point the product at
 * `snaptradeUrl` (SNAPTRADE_BASE_URL) and `alpacaUrl` (ALPACA_*_URL); script both with `control`
 * (the control API on the SnapTrade server; Alpaca under `/__sandbox/alpaca/...`).
 */
export interface SandboxOptions {
  /** SnapTrade server port; 0 picks a free one. @default 4010 */
  snaptradePort?: number;
  /** Alpaca server port; 0 picks a free one. @default 4020 */
  alpacaPort?: number;
  /** @default '127.0.0.1' */
  host?: string;
  /** @default SANDBOX_CLIENT_ID */
  clientId?: string;
  /** @default SANDBOX_CONSUMER_KEY */
  consumerKey?: string;
  /** @default SANDBOX_ALPACA_KEY_ID */
  alpacaKeyId?: string;
  /** @default SANDBOX_ALPACA_SECRET */
  alpacaSecretKey?: string;
  /** Where SnapTrade webhooks are posted (can be changed later through the control API). */
  webhookUrl?: string | null;
  /** Scenario and market seed. @default 1 */
  seed?: number;
  /** Automatic price walk, steps per second. @default 0 */
  tickRateHz?: number;
  /** SnapTrade rolling rate limit. @default { limit: 250, windowMs: 60000 } */
  rateLimit?: Partial<RateLimitConfig>;
  /** Delays before each webhook retry. @default [1000, 5000, 30000] */
  webhookRetryScheduleMs?: readonly number[];
  /** Use this market instead of creating one from the seed. */
  priceBook?: PriceBook;
  logger?: Logger;
}

export interface Sandbox {
  snaptradeUrl: string;
  alpacaUrl: string;
  /** Alpaca WebSocket base (`${alpacaWsUrl}/v2/iex`, `${alpacaWsUrl}/stream`). */
  alpacaWsUrl: string;
  control: SandboxControlClient;
  priceBook: PriceBook;
  snaptrade: SnaptradeSandbox;
  alpaca: AlpacaSandbox;
  clientId: string;
  consumerKey: string;
  close(): Promise<void>;
}

export async function startSandbox(options: SandboxOptions = {}): Promise<Sandbox> {
  const seed = options.seed ?? 1;
  const ownsBook = !options.priceBook;
  const priceBook = options.priceBook ?? createPriceBook({ seed, tickRateHz: options.tickRateHz ?? 0 });
  const clientId = options.clientId ?? SANDBOX_CLIENT_ID;
  const consumerKey = options.consumerKey ?? SANDBOX_CONSUMER_KEY;
  const host = options.host ?? '127.0.0.1';

  // Alpaca first: the control API on the SnapTrade server scripts it (`/__sandbox/alpaca/...`).
  const alpaca = await startAlpacaSandbox({
    port: options.alpacaPort ?? 4020,
    host,
    priceBook,
    keyId: options.alpacaKeyId ?? SANDBOX_ALPACA_KEY_ID,
    secretKey: options.alpacaSecretKey ?? SANDBOX_ALPACA_SECRET,
    seed,
    logger: options.logger?.child({ module: 'sandbox-alpaca' }) ?? createLogger('sandbox-alpaca'),
  }).catch((err: unknown) => {
    if (ownsBook) priceBook.close();
    throw err;
  });
  let snaptrade: SnaptradeSandbox;
  try {
    snaptrade = await startSnaptradeSandbox({
      port: options.snaptradePort ?? 4010,
      host,
      priceBook,
      clientId,
      consumerKey,
      seed,
      webhookUrl: options.webhookUrl ?? null,
      webhookRetryScheduleMs: options.webhookRetryScheduleMs,
      rateLimit: options.rateLimit,
      alpaca,
      logger: options.logger?.child({ module: 'sandbox-snaptrade' }),
    });
  } catch (err) {
    await alpaca.close();
    if (ownsBook) priceBook.close();
    throw err;
  }

  let closed = false;
  return {
    snaptradeUrl: snaptrade.url,
    alpacaUrl: alpaca.url,
    alpacaWsUrl: alpaca.wsUrl,
    control: new SandboxControlClient(snaptrade.url),
    priceBook,
    snaptrade,
    alpaca,
    clientId,
    consumerKey,
    async close() {
      if (closed) return;
      closed = true;
      await Promise.allSettled([snaptrade.close(), alpaca.close()]);
      if (ownsBook) priceBook.close();
    },
  };
}
