import { exchangeCodeOf, roundPrice } from '../market/price-book.ts';
import type { PriceBook, SandboxTick } from '../market/price-book.types.ts';
import { addDays, marketDate, marketMidnight, sessionOf } from './market-calendar.ts';
import type { LatestTrade } from './wire-format.ts';

/**
 * Turns the price book's ticks into what Alpaca's market data is made of: trades (the ticks
 * themselves), NBBO-style quotes around each trade, and bars aggregated over a fixed interval.
 * The REST latest-trade endpoints and the market-data stream both read from here.
 *
 * For the REST latest-bar and snapshot endpoints it also keeps, per symbol, the one-minute bar
 * and the daily bar (New York day, see `market-calendar.ts`) of the latest trade, aggregated
 * from the ticks themselves: wall-clock minutes of the tick times, whatever the stream's bar
 * interval is.
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

/** A bar over one fixed period (a minute, a New York day), from the ticks seen in it. */
interface PeriodBar {
  start: number;
  open: number;
  high: number;
  low: number;
  close: number;
  volume: number;
  tradeCount: number;
  notional: number;
}

const MINUTE_MS = 60_000;

function vwapOf(notional: number, volume: number, fallback: number): number {
  return volume > 0 ? Math.round((notional / volume) * 10_000) / 10_000 : fallback;
}

/** The minute bar and the daily bar of a symbol's latest tick. */
interface SymbolPeriods {
  minute: PeriodBar;
  day: PeriodBar;
}

function openPeriod(tick: SandboxTick, start: number): PeriodBar {
  const { price, size } = tick;
  return { start, open: price, high: price, low: price, close: price, volume: size, tradeCount: 1, notional: price * size };
}

/** Add a tick to the bar of its period, starting the bar over (in place) when a new period begins. */
function addToPeriod(bar: PeriodBar, tick: SandboxTick, start: number): void {
  const { price, size } = tick;
  if (bar.start === start) {
    if (price > bar.high) bar.high = price;
    if (price < bar.low) bar.low = price;
    bar.close = price;
    bar.volume += size;
    bar.tradeCount += 1;
    bar.notional += price * size;
  } else if (bar.start < start) {
    // (A tick stamped before the period already kept, a clock set back, does not reopen it.)
    bar.start = start;
    bar.open = bar.high = bar.low = bar.close = price;
    bar.volume = size;
    bar.tradeCount = 1;
    bar.notional = price * size;
  }
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
  /** The minute bar and the daily bar of each symbol's latest tick. */
  private readonly periods = new Map<string, SymbolPeriods>();
  /** The New York day of the latest tick, cached so a tick costs no date arithmetic. */
  private day = { start: 0, end: 0 };
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

  /**
   * The one-minute bar of the latest trade (Alpaca's `/bars/latest`): the ticks of that
   * wall-clock minute. Before the first tick, a bar of the one trade `latestTrade` reports.
   */
  latestMinuteBar(symbol: string): FeedBar | undefined {
    const seen = this.periods.get(symbol);
    if (seen) return this.toFeedBar(symbol, seen.minute);
    const trade = this.latestTrade(symbol);
    if (!trade) return undefined;
    return this.singleTradeBar(symbol, trade, Math.floor(trade.at.getTime() / MINUTE_MS) * MINUTE_MS);
  }

  /** The bar of the New York day of the latest trade, from the ticks of that day. */
  dailyBar(symbol: string): FeedBar | undefined {
    const seen = this.periods.get(symbol);
    if (seen) return this.toFeedBar(symbol, seen.day);
    const trade = this.latestTrade(symbol);
    if (!trade) return undefined;
    return this.singleTradeBar(symbol, trade, marketMidnight(marketDate(trade.at)).getTime());
  }

  /**
   * The day before `dailyBar`'s: the sandbox knows only that day's close (the price book's
   * previous close), so open, high, low, close and vwap are all that price, with no volume.
   */
  previousDailyBar(symbol: string): FeedBar | undefined {
    const quote = this.book.quote(symbol);
    const today = this.dailyBar(symbol);
    if (!quote || !today) return undefined;
    const close = quote.previousClose;
    return {
      symbol,
      open: close,
      high: close,
      low: close,
      close,
      volume: 0,
      tradeCount: 0,
      vwap: close,
      at: marketMidnight(addDays(marketDate(today.at), -1)),
    };
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
    const at = tick.at.getTime();
    if (at < this.day.start || at >= this.day.end) {
      const session = sessionOf(marketDate(tick.at));
      this.day = { start: session.start.getTime(), end: session.end.getTime() };
    }
    const minuteStart = at - (at % MINUTE_MS);
    const periods = this.periods.get(tick.symbol);
    if (periods) {
      addToPeriod(periods.minute, tick, minuteStart);
      addToPeriod(periods.day, tick, this.day.start);
    } else {
      this.periods.set(tick.symbol, { minute: openPeriod(tick, minuteStart), day: openPeriod(tick, this.day.start) });
    }
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

  private toFeedBar(symbol: string, bar: PeriodBar): FeedBar {
    return {
      symbol,
      open: bar.open,
      high: bar.high,
      low: bar.low,
      close: bar.close,
      volume: bar.volume,
      tradeCount: bar.tradeCount,
      vwap: vwapOf(bar.notional, bar.volume, bar.close),
      at: new Date(bar.start),
    };
  }

  private singleTradeBar(symbol: string, trade: LatestTrade, start: number): FeedBar {
    const p = trade.price;
    return { symbol, open: p, high: p, low: p, close: p, volume: trade.size, tradeCount: 1, vwap: p, at: new Date(start) };
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
