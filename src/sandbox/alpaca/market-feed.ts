import { exchangeCodeOf, roundPrice } from '../market/price-book.ts';
import type { PriceBook, SandboxTick } from '../market/price-book.types.ts';
import type { LatestTrade } from './wire-format.ts';

/**
 * Turns the price book's ticks into what Alpaca's market data is made of: trades (the ticks
 * themselves), NBBO-style quotes around each trade, and bars aggregated over a fixed interval.
 * The REST latest-trade endpoints and the market-data stream both read from here.
 */

export interface FeedQuote {
  bidPrice: number;
  bidSize: number;
  bidExchange: string;
  askPrice: number;
  askSize: number;
  askExchange: string;
  at: Date;
}

export interface FeedBar {
  symbol: string;
  open: number;
  high: number;
  low: number;
  close: number;
  volume: number;
  tradeCount: number;
  vwap: number;
  /** Start of the bar's interval. */
  at: Date;
}

export interface MarketFeedOptions {
  /**
   * Length of one bar. Alpaca's minute bars are 60000; tests shorten it.
   * @default 60000
   */
  barIntervalMs?: number;
}

interface BarBuilder {
  open: number;
  high: number;
  low: number;
  close: number;
  volume: number;
  tradeCount: number;
  notional: number;
}

/** A quote around a trade price: a spread of about 4 bp (at least one increment). */
export function quoteAround(tick: SandboxTick): FeedQuote {
  const increment = tick.price >= 1 ? 0.01 : 0.0001;
  const spread = Math.max(increment, roundPrice(tick.price * 0.0004));
  const bid = Math.max(increment, roundPrice(tick.price - spread / 2));
  return {
    bidPrice: bid,
    askPrice: roundPrice(bid + spread),
    bidSize: 100 * ((tick.id % 5) + 1),
    askSize: 100 * (((tick.id * 7) % 5) + 1),
    bidExchange: tick.exchange,
    askExchange: tick.exchange,
    at: tick.at,
  };
}

export class MarketFeed {
  private readonly book: PriceBook;
  private readonly lastTrades = new Map<string, LatestTrade>();
  private readonly lastQuotes = new Map<string, FeedQuote>();
  private readonly building = new Map<string, BarBuilder>();
  private readonly tickListeners = new Set<(tick: SandboxTick, quote: FeedQuote) => void>();
  private readonly barListeners = new Set<(bars: FeedBar[]) => void>();
  private readonly unsubscribe: () => void;
  private readonly barTimer: NodeJS.Timeout;
  private readonly barIntervalMs: number;
  private barStart: number;

  constructor(book: PriceBook, options: MarketFeedOptions = {}) {
    this.book = book;
    this.barIntervalMs = options.barIntervalMs ?? 60_000;
    this.barStart = Math.floor(Date.now() / this.barIntervalMs) * this.barIntervalMs;
    this.unsubscribe = book.onTick((tick) => this.handleTick(tick));
    this.barTimer = setInterval(() => this.closeBars(), this.barIntervalMs);
    this.barTimer.unref();
  }

  onTick(listener: (tick: SandboxTick, quote: FeedQuote) => void): () => void {
    this.tickListeners.add(listener);
    return () => {
      this.tickListeners.delete(listener);
    };
  }

  onBars(listener: (bars: FeedBar[]) => void): () => void {
    this.barListeners.add(listener);
    return () => {
      this.barListeners.delete(listener);
    };
  }

  /** The latest trade; before the first tick, a trade at the book's current price. */
  latestTrade(symbol: string): LatestTrade | undefined {
    const seen = this.lastTrades.get(symbol);
    if (seen) return seen;
    const quote = this.book.quote(symbol);
    const security = this.book.security(symbol);
    if (!quote || !security) return undefined;
    return { id: 0, price: quote.price, size: 100, exchange: exchangeCodeOf(security.exchangeMic), at: quote.at };
  }

  latestQuote(symbol: string): FeedQuote | undefined {
    const seen = this.lastQuotes.get(symbol);
    if (seen) return seen;
    const trade = this.latestTrade(symbol);
    if (!trade) return undefined;
    return quoteAround({ symbol, ...trade });
  }

  close(): void {
    this.unsubscribe();
    clearInterval(this.barTimer);
    this.tickListeners.clear();
    this.barListeners.clear();
  }

  private handleTick(tick: SandboxTick): void {
    const quote = quoteAround(tick);
    this.lastTrades.set(tick.symbol, { id: tick.id, price: tick.price, size: tick.size, exchange: tick.exchange, at: tick.at });
    this.lastQuotes.set(tick.symbol, quote);
    const bar = this.building.get(tick.symbol);
    if (bar) {
      bar.high = Math.max(bar.high, tick.price);
      bar.low = Math.min(bar.low, tick.price);
      bar.close = tick.price;
      bar.volume += tick.size;
      bar.tradeCount += 1;
      bar.notional += tick.price * tick.size;
    } else {
      this.building.set(tick.symbol, {
        open: tick.price,
        high: tick.price,
        low: tick.price,
        close: tick.price,
        volume: tick.size,
        tradeCount: 1,
        notional: tick.price * tick.size,
      });
    }
    for (const listener of this.tickListeners) listener(tick, quote);
  }

  private closeBars(): void {
    const at = new Date(this.barStart);
    this.barStart += this.barIntervalMs;
    if (this.building.size === 0) return;
    const bars: FeedBar[] = [];
    for (const [symbol, b] of this.building) {
      bars.push({
        symbol,
        open: b.open,
        high: b.high,
        low: b.low,
        close: b.close,
        volume: b.volume,
        tradeCount: b.tradeCount,
        vwap: Math.round((b.notional / b.volume) * 10_000) / 10_000,
        at,
      });
    }
    this.building.clear();
    for (const listener of this.barListeners) listener(bars);
  }
}
