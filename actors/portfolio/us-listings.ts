import type { Holding } from '../../src/portfolio/index.ts';

/** US exchanges Alpaca's market data covers. */
const US_MICS = new Set(['XNAS', 'XNYS', 'ARCX', 'XASE', 'BATS', 'IEXG']);

/**
 * The market-data ticker of a holding when Alpaca quotes it (a US listing in USD), else
 * undefined: a Toronto listing is valued from the brokerage's prices only.
 */
export function alpacaTicker(holding: Pick<Holding, 'security' | 'currency'>): string | undefined {
  const security = holding.security;
  if (holding.currency !== 'USD') return undefined;
  if (security.type === 'option' || security.type === 'crypto' || security.type === 'future') return undefined;
  if (security.exchangeMic !== undefined && !US_MICS.has(security.exchangeMic)) return undefined;
  return security.ticker;
}
