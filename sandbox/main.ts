import { createLogger } from '../src/logging/logger.ts';
import { startSandbox } from './sandbox.ts';

/**
 * `npm run sandbox`: the brokerage sandbox on its own. Environment overrides:
 * SANDBOX_SNAPTRADE_PORT (4010), SANDBOX_ALPACA_PORT (4020), SANDBOX_WEBHOOK_URL (none; the
 * engine's is http://127.0.0.1:3000/api/snaptrade/webhook), SANDBOX_SEED (1),
 * SANDBOX_TICK_RATE_HZ (1: prices walk once a second), SANDBOX_HOST or HOST (127.0.0.1).
 */
const log = createLogger('sandbox');

function intFromEnv(name: string, fallback: number): number {
  const raw = process.env[name]?.trim();
  if (!raw) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) {
    log.fatal(`${name} must be a non-negative integer, got ${JSON.stringify(raw)}`);
    process.exit(1);
  }
  return value;
}

const sandbox = await startSandbox({
  snaptradePort: intFromEnv('SANDBOX_SNAPTRADE_PORT', 4010),
  alpacaPort: intFromEnv('SANDBOX_ALPACA_PORT', 4020),
  host: process.env.SANDBOX_HOST?.trim() || process.env.HOST?.trim() || '127.0.0.1',
  webhookUrl: process.env.SANDBOX_WEBHOOK_URL?.trim() || null,
  seed: intFromEnv('SANDBOX_SEED', 1),
  tickRateHz: intFromEnv('SANDBOX_TICK_RATE_HZ', 1),
});

log.info(
  {
    snaptradeUrl: sandbox.snaptradeUrl,
    alpacaUrl: sandbox.alpacaUrl,
    alpacaStreamUrl: `${sandbox.alpacaWsUrl}/v2/iex`,
    controlApi: `${sandbox.snaptradeUrl}/__sandbox`,
    clientId: sandbox.clientId,
  },
  'brokerage sandbox ready',
);

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  log.info({ signal }, 'stopping sandbox');
  await sandbox.close();
  process.exit(0);
}
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('SIGTERM', () => void shutdown('SIGTERM'));
