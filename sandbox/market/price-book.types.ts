/**
 * The sandbox's market: a universe of securities and their current prices, shared by the
 * SnapTrade-compatible server (position prices), the Alpaca-compatible server (REST latest
 * trades, market-data stream) and the control API (move prices). Implemented in price-book.ts.
 */
export interface SandboxSecurity {
  /** Ticker, e.g. "AAPL" or "SHOP.TO". */
  symbol: string;
  /** SnapTrade universal symbol id (UUID), stable for the seed. */
  snaptradeId: string;
  /** Alpaca asset id (UUID), stable for the seed. */
  alpacaAssetId: string;
  /** 12-character FIGI-like identifier, unique per listing. */
  figi: string;
  /** Exchange MIC, e.g. XNAS, XNYS, XTSE. */
  exchangeMic: string;
  /** ISO currency code of the listing. */
  currency: string;
  description: string;
  /** SnapTrade security type code: cs (common stock), et (ETF), ... */
  typeCode: string;
  /** True for cash-equivalent holdings (money market funds). */
  cashEquivalent: boolean;
}

export interface SandboxTick {
  symbol: string;
  price: number;
  size: number;
  /** Monotonic trade id per book. */
  id: number;
  at: Date;
  /** Exchange code, as Alpaca's trade `x`. */
  exchange: string;
}

export interface SandboxQuote {
  price: number;
  /** Previous close, for day change. */
  previousClose: number;
  at: Date;
}

export interface PriceBook {
  securities(): readonly SandboxSecurity[];
  security(symbol: string): SandboxSecurity | undefined;
  securityById(snaptradeId: string): SandboxSecurity | undefined;
  quote(symbol: string): SandboxQuote | undefined;
  /** Control API: set a price now; emits a tick. */
  setPrice(symbol: string, price: number): void;
  /** Advance every (or the given) security one seeded random-walk step; emits ticks. */
  step(symbols?: readonly string[]): void;
  /** Start/stop the automatic walk at `ticksPerSecond` (0 stops it). */
  setTickRate(ticksPerSecond: number): void;
  onTick(listener: (tick: SandboxTick) => void): () => void;
  /** Register a new security (control API); returns it. */
  addSecurity(input: Partial<SandboxSecurity> & { symbol: string; price: number }): SandboxSecurity;
  close(): void;
}
