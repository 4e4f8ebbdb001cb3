import type { SandboxSecurity } from '../market/price-book.types.ts';
import { createRandom } from '../market/seeded-random.ts';

/**
 * Seeded holdings for a newly connected account: what the portal "finds" at the brokerage.
 * Pure: the same seed, user, brokerage and account index give the same positions and cash.
 *
 * The picks are deliberately overlapping: every account starts with one security from a small
 * core list (so the same security is held at several brokerages), Canadian accounts hold US
 * listings too (positions in a currency other than the account's), and some accounts hold a
 * cash-equivalent fund.
 */
export interface GeneratedPosition {
  symbol: string;
  units: number;
  averageCost: number;
}

export interface GeneratedHoldings {
  positions: GeneratedPosition[];
  cash: Record<string, number>;
}

const CORE_USD = ['AAPL', 'MSFT', 'SPY', 'NVDA'];
const CORE_CAD = ['SHOP.TO', 'XIU.TO', 'RY.TO', 'VFV.TO'];

export function generateHoldings(input: {
  seed: number;
  userId: string;
  brokerageSlug: string;
  accountIndex: number;
  /** Nth connection of this user to this brokerage (0 first): a reconnection differs. */
  connectionIndex: number;
  accountCurrency: string;
  securities: readonly SandboxSecurity[];
  priceOf: (symbol: string) => number | undefined;
}): GeneratedHoldings {
  const random = createRandom(
    input.seed,
    'holdings',
    input.userId,
    input.brokerageSlug,
    input.connectionIndex,
    input.accountIndex,
  );
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const available = new Map(input.securities.map((s) => [s.symbol, s]));
  const usd = input.securities.filter((s) => s.currency === 'USD' && !s.cashEquivalent && !s.symbol.startsWith('SYN'));
  const cad = input.securities.filter((s) => s.currency === 'CAD' && !s.cashEquivalent);
  const cashFunds = input.securities.filter((s) => s.cashEquivalent);
  const isCad = input.accountCurrency === 'CAD';

  const chosen: string[] = [];
  const core = (isCad ? CORE_CAD : CORE_USD).filter((s) => available.has(s));
  if (core.length > 0) chosen.push(pick(core));
  // Everyone holds one of the two most common US names somewhere: the cross-brokerage overlap.
  const overlap = ['AAPL', 'SPY'].filter((s) => available.has(s));
  if (overlap.length > 0) chosen.push(pick(overlap));
  const pool = isCad && cad.length > 0 ? [...cad, ...cad, ...usd] : usd;
  const target = 3 + Math.floor(random() * 4);
  for (let guard = 0; chosen.length < target && guard < 50 && pool.length > 0; guard++) chosen.push(pick(pool).symbol);
  if (!isCad && cashFunds.length > 0 && random() < 0.4) chosen.push(pick(cashFunds).symbol);

  const positions: GeneratedPosition[] = [];
  for (const symbol of new Set(chosen)) {
    const price = input.priceOf(symbol);
    if (price === undefined) continue;
    const security = available.get(symbol);
    const targetValue = security?.cashEquivalent ? 500 + random() * 4_500 : 1_000 + random() * 24_000;
    const units = Math.max(1, Math.round(targetValue / price));
    const averageCost = security?.cashEquivalent ? price : Math.round(price * (0.7 + random() * 0.5) * 100) / 100;
    positions.push({ symbol, units, averageCost });
  }

  const cash: Record<string, number> = { [input.accountCurrency]: Math.round((200 + random() * 15_000) * 100) / 100 };
  if (isCad && random() < 0.5) cash.USD = Math.round(random() * 3_000 * 100) / 100;
  return { positions, cash };
}
