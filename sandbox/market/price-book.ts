import { createLogger } from '../../src/logging/logger.ts';
import { DEFAULT_UNIVERSE } from './default-universe.ts';
import type { PriceBook, SandboxQuote, SandboxSecurity, SandboxTick } from './price-book.types.ts';
import { createRandom, normal, seededFigi, seededUuid, type Random } from './seeded-random.ts';

export type { PriceBook, SandboxQuote, SandboxSecurity, SandboxTick } from './price-book.types.ts';

/** One security to register: identity fields not given are derived from the seed. */
export type PriceBookSecurityInput = Partial<SandboxSecurity> & {
  symbol: string;
  price: number;
  /** Previous close; derived from the seed (within about 1% of `price`) when absent. */
  previousClose?: number;
  /** Per-step log-return standard deviation; `stepVolatility` when absent (0 pins the price). */
  volatility?: number;
};

export interface PriceBookOptions {
  /** Scenario seed: the same seed gives the same ids, the same prices and the same walk. */
  seed: number;
  /**
   * Automatic walk rate: every security takes this many random-walk steps per second.
   * @default 0 (no timer; call `step()` yourself)
   */
  tickRateHz?: number;
  /** Securities to list instead of the default universe of about forty real listings. */
  universe?: PriceBookSecurityInput[];
  /**
   * Extra synthetic US listings (`SYN00001`, `SYN00002`, ...) appended to the universe, for
   * benchmarks that need thousands of symbols.
   * @default 0
   */
  syntheticCount?: number;
  /**
   * Default per-step standard deviation of the log return (0.002 = 0.2% per step).
   * @default 0.002
   */
  stepVolatility?: number;
  /** Clock for tick timestamps. @default () => new Date() */
  now?: () => Date;
}

/** Alpaca trade exchange codes (`x`) by MIC. */
const EXCHANGE_CODE_BY_MIC: Record<string, string> = {
  XNAS: 'Q',
  XNYS: 'N',
  ARCX: 'P',
  BATS: 'Z',
  IEXG: 'V',
  XTSE: 'T',
};

/** Alpaca's trade exchange code (`x`) for a listing venue. */
export function exchangeCodeOf(mic: string): string {
  return EXCHANGE_CODE_BY_MIC[mic] ?? 'V';
}

/** Timers never fire faster than this; higher rates take several steps per firing. */
const MIN_TIMER_INTERVAL_MS = 10;
const DEFAULT_STEP_VOLATILITY = 0.002;
const TRADE_SIZES = [1, 1, 2, 5, 10, 10, 25, 50, 100, 100, 100, 200, 300, 500];

interface Listing {
  security: SandboxSecurity;
  /** Unrounded walk state; quotes and ticks report it rounded to a valid price increment. */
  price: number;
  previousClose: number;
  volatility: number;
  /** Per-symbol stream: a symbol's walk depends only on the seed and its own step count. */
  random: Random;
  at: Date;
}

/** Listing prices: cents at or above $1, four decimals below (sub-penny rule). */
export function roundPrice(price: number): number {
  const factor = price >= 1 ? 100 : 10_000;
  return Math.round(price * factor) / factor;
}

function assertPrice(symbol: string, price: number): void {
  if (!Number.isFinite(price) || price <= 0) throw new RangeError(`price for ${symbol} must be a positive number, got ${price}`);
}

function syntheticEntries(seed: number, count: number): PriceBookSecurityInput[] {
  const random = createRandom(seed, 'synthetic-universe');
  const entries: PriceBookSecurityInput[] = [];
  const width = Math.max(5, String(count).length);
  for (let i = 1; i <= count; i++) {
    const mic = i % 3 === 0 ? 'XNYS' : 'XNAS';
    entries.push({
      symbol: `SYN${String(i).padStart(width, '0')}`,
      // Log-uniform between $2 and $800.
      price: roundPrice(2 * Math.exp(random() * Math.log(400))),
      exchangeMic: mic,
      currency: 'USD',
      description: `Synthetic Security ${i}`,
      typeCode: 'cs',
    });
  }
  return entries;
}

/** Create the sandbox market. Deterministic for a seed; the walk runs only when a tick rate is set. */
export function createPriceBook(options: PriceBookOptions): PriceBook {
  const log = createLogger('sandbox-market');
  const seed = options.seed;
  const stepVolatility = options.stepVolatility ?? DEFAULT_STEP_VOLATILITY;
  const now = options.now ?? (() => new Date());
  const listings = new Map<string, Listing>();
  const bySnaptradeId = new Map<string, Listing>();
  const listeners = new Set<(tick: SandboxTick) => void>();
  let ordered: SandboxSecurity[] = [];
  let nextTradeId = 1;
  let timer: NodeJS.Timeout | undefined;
  let closed = false;

  function emit(listing: Listing): void {
    const tickRandom = listing.random();
    const tick: SandboxTick = {
      symbol: listing.security.symbol,
      price: roundPrice(listing.price),
      size: TRADE_SIZES[Math.floor(tickRandom * TRADE_SIZES.length)]!,
      id: nextTradeId++,
      at: listing.at,
      exchange: exchangeCodeOf(listing.security.exchangeMic),
    };
    for (const listener of [...listeners]) {
      try {
        listener(tick);
      } catch (err) {
        log.error({ err, symbol: tick.symbol }, 'price-book tick listener threw');
      }
    }
  }

  function listingOf(symbol: string): Listing {
    const listing = listings.get(symbol);
    if (!listing) throw new RangeError(`unknown symbol ${symbol}`);
    return listing;
  }

  function addSecurity(input: PriceBookSecurityInput): SandboxSecurity {
    const symbol = input.symbol.trim();
    if (!symbol) throw new RangeError('symbol must not be empty');
    if (listings.has(symbol)) throw new RangeError(`symbol ${symbol} is already listed`);
    assertPrice(symbol, input.price);
    const exchangeMic = input.exchangeMic ?? (symbol.endsWith('.TO') ? 'XTSE' : 'XNAS');
    const security: SandboxSecurity = {
      symbol,
      snaptradeId: input.snaptradeId ?? seededUuid(seed, 'snaptrade', symbol, exchangeMic),
      alpacaAssetId: input.alpacaAssetId ?? seededUuid(seed, 'alpaca', symbol, exchangeMic),
      figi: input.figi ?? seededFigi(seed, symbol, exchangeMic),
      exchangeMic,
      currency: input.currency ?? (exchangeMic === 'XTSE' ? 'CAD' : 'USD'),
      description: input.description ?? symbol,
      typeCode: input.typeCode ?? 'cs',
      cashEquivalent: input.cashEquivalent ?? false,
    };
    const volatility = input.volatility ?? (security.cashEquivalent ? 0 : stepVolatility);
    const closeRandom = createRandom(seed, 'previous-close', symbol);
    const previousClose =
      input.previousClose ?? (volatility === 0 ? input.price : roundPrice(input.price * Math.exp(0.01 * normal(closeRandom))));
    assertPrice(symbol, previousClose);
    const listing: Listing = {
      security,
      price: input.price,
      previousClose,
      volatility,
      random: createRandom(seed, 'walk', symbol),
      at: now(),
    };
    listings.set(symbol, listing);
    bySnaptradeId.set(security.snaptradeId, listing);
    ordered = [...ordered, security];
    return security;
  }

  function step(symbols?: readonly string[]): void {
    const targets = symbols ? symbols.map(listingOf) : [...listings.values()];
    const at = now();
    for (const listing of targets) {
      if (listing.volatility > 0) {
        // Geometric random walk, drift-free in expectation: E[exp(sigma z - sigma^2/2)] = 1.
        const sigma = listing.volatility;
        listing.price *= Math.exp(sigma * normal(listing.random) - (sigma * sigma) / 2);
      }
      listing.at = at;
      emit(listing);
    }
  }

  function setTickRate(ticksPerSecond: number): void {
    if (!Number.isFinite(ticksPerSecond) || ticksPerSecond < 0) {
      throw new RangeError(`tick rate must be a non-negative number, got ${ticksPerSecond}`);
    }
    if (timer) clearInterval(timer);
    timer = undefined;
    if (ticksPerSecond === 0 || closed) return;
    const intervalMs = Math.max(1000 / ticksPerSecond, MIN_TIMER_INTERVAL_MS);
    let owed = 0;
    let last = performance.now();
    timer = setInterval(() => {
      const current = performance.now();
      owed += ((current - last) * ticksPerSecond) / 1000;
      last = current;
      // After an event-loop stall, catch up at most one second of steps.
      const due = Math.min(Math.floor(owed), Math.ceil(ticksPerSecond));
      owed = Math.min(owed - Math.floor(owed), 1);
      for (let i = 0; i < due; i++) step();
    }, intervalMs);
    timer.unref();
  }

  const initial = [...(options.universe ?? DEFAULT_UNIVERSE), ...syntheticEntries(seed, options.syntheticCount ?? 0)];
  for (const entry of initial) addSecurity(entry);
  if (options.tickRateHz) setTickRate(options.tickRateHz);

  return {
    securities: () => ordered,
    security: (symbol) => listings.get(symbol)?.security,
    securityById: (snaptradeId) => bySnaptradeId.get(snaptradeId)?.security,
    quote(symbol): SandboxQuote | undefined {
      const listing = listings.get(symbol);
      if (!listing) return undefined;
      return { price: roundPrice(listing.price), previousClose: listing.previousClose, at: listing.at };
    },
    setPrice(symbol, price) {
      const listing = listingOf(symbol);
      assertPrice(symbol, price);
      listing.price = price;
      listing.at = now();
      emit(listing);
    },
    step,
    setTickRate,
    onTick(listener) {
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    },
    addSecurity,
    close() {
      closed = true;
      if (timer) clearInterval(timer);
      timer = undefined;
      listeners.clear();
    },
  };
}
