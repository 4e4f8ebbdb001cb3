import type { Config } from '../config/config.ts';
import type { Logger } from '../logging/logger.ts';
import { startSandbox, type Sandbox } from '../../sandbox/sandbox.ts';

function portOf(url: string | undefined, fallback: number): number {
  if (!url) return fallback;
  const parsed = new URL(url);
  return parsed.port ? Number(parsed.port) : fallback;
}

/**
 * The brokerage sandbox inside this process (`START_SANDBOX=true`, and the demo): started on the
 * ports the configured URLs name, or on free ports when those are taken, and the configuration
 * pointed at wherever it listens. Webhooks are switched on by the caller once the web role runs.
 */
export async function startEmbeddedSandbox(config: Config, log: Logger): Promise<{ sandbox: Sandbox; config: Config }> {
  // The sandbox takes the configured keys, so what the engine signs and verifies with is what
  // the operator set (and the demo behaves the same with its defaults or with their own).
  const options = {
    webhookUrl: null,
    tickRateHz: 1,
    clientId: config.SNAPTRADE_CLIENT_ID,
    consumerKey: config.SNAPTRADE_CONSUMER_KEY,
    alpacaKeyId: config.ALPACA_KEY_ID,
    alpacaSecretKey: config.ALPACA_SECRET_KEY,
  };
  let sandbox: Sandbox;
  try {
    sandbox = await startSandbox({
      ...options,
      snaptradePort: portOf(config.SNAPTRADE_BASE_URL, 4010),
      alpacaPort: portOf(config.ALPACA_TRADING_URL, 4020),
    });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
    log.warn('sandbox ports are taken: using free ports instead');
    sandbox = await startSandbox({ ...options, snaptradePort: 0, alpacaPort: 0 });
  }
  return {
    sandbox,
    config: {
      ...config,
      SNAPTRADE_BASE_URL: sandbox.snaptradeUrl,
      ALPACA_TRADING_URL: sandbox.alpacaUrl,
      ALPACA_DATA_URL: sandbox.alpacaUrl,
      ALPACA_STREAM_URL: sandbox.alpacaWsUrl,
    },
  };
}
