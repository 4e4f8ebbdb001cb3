import type { PriceBook, SandboxSecurity } from '../market/price-book.types.ts';
import { alpacaExchange, tapeOf } from './assets.ts';
import type {
  AlpacaBrokerage,
  SandboxAccount,
  SandboxActivity,
  SandboxOrder,
  SandboxPosition,
  SandboxTradeUpdate,
} from './brokerage.ts';
import { dec, decOrNull } from './decimal.ts';
import { marketDate } from './market-calendar.ts';
import type { FeedBar, FeedQuote, MarketFeed } from './market-feed.ts';

/**
 * Alpaca's JSON shapes (snake_case, decimal strings, RFC 3339 times) for the sandbox's
 * accounts, positions, orders, activities and trade updates, and the market-data shapes
 * (single-letter keys, numbers) for trades, quotes, bars and snapshots.
 */

function iso(date: Date | undefined): string | null {
  return date ? date.toISOString() : null;
}

export function orderJson(order: SandboxOrder): Record<string, unknown> {
  return {
    id: order.id,
    client_order_id: order.clientOrderId,
    created_at: iso(order.createdAt),
    updated_at: iso(order.updatedAt),
    submitted_at: iso(order.submittedAt),
    filled_at: iso(order.filledAt),
    expired_at: null,
    canceled_at: iso(order.canceledAt),
    failed_at: iso(order.failedAt),
    replaced_at: null,
    replaced_by: null,
    replaces: null,
    asset_id: order.assetId,
    symbol: order.symbol,
    asset_class: 'us_equity',
    notional: decOrNull(order.notional, 2),
    // A notional order has no quantity until it fills.
    qty: order.notional !== undefined && order.filledQty === 0 ? null : decOrNull(order.qty, 9),
    filled_qty: dec(order.filledQty, 9),
    filled_avg_price: decOrNull(order.filledAvgPrice, 6),
    order_class: '',
    order_type: order.type,
    type: order.type,
    side: order.side,
    position_intent: order.side === 'buy' ? 'buy_to_open' : 'sell_to_close',
    time_in_force: order.timeInForce,
    limit_price: decOrNull(order.limitPrice, 6),
    stop_price: decOrNull(order.stopPrice, 6),
    status: order.status,
    extended_hours: order.extendedHours,
    legs: null,
    trail_percent: null,
    trail_price: null,
    hwm: null,
    subtag: null,
    source: null,
  };
}

export function positionJson(
  position: SandboxPosition,
  security: SandboxSecurity,
  book: PriceBook,
  qtyAvailable: number,
): Record<string, unknown> {
  const quote = book.quote(security.symbol)!;
  const marketValue = position.qty * quote.price;
  const unrealized = marketValue - position.costBasis;
  const intraday = position.qty * (quote.price - quote.previousClose);
  const lastdayValue = position.qty * quote.previousClose;
  return {
    asset_id: security.alpacaAssetId,
    symbol: security.symbol,
    exchange: alpacaExchange(security) ?? '',
    asset_class: 'us_equity',
    asset_marginable: true,
    qty: dec(position.qty, 9),
    avg_entry_price: dec(position.costBasis / position.qty, 6),
    side: 'long',
    market_value: dec(marketValue, 2),
    cost_basis: dec(position.costBasis, 2),
    unrealized_pl: dec(unrealized, 2),
    unrealized_plpc: dec(position.costBasis === 0 ? 0 : unrealized / position.costBasis, 6),
    unrealized_intraday_pl: dec(intraday, 2),
    unrealized_intraday_plpc: dec(lastdayValue === 0 ? 0 : intraday / lastdayValue, 6),
    current_price: dec(quote.price, 4),
    lastday_price: dec(quote.previousClose, 4),
    change_today: dec(quote.previousClose === 0 ? 0 : quote.price / quote.previousClose - 1, 6),
    qty_available: dec(qtyAvailable, 9),
  };
}

export function accountJson(account: SandboxAccount, brokerage: AlpacaBrokerage, book: PriceBook): Record<string, unknown> {
  let longMarketValue = 0;
  let lastdayMarketValue = 0;
  for (const position of account.positions.values()) {
    const quote = book.quote(position.symbol);
    if (!quote) continue;
    longMarketValue += position.qty * quote.price;
    lastdayMarketValue += position.qty * quote.previousClose;
  }
  const equity = account.cash + longMarketValue;
  const buyingPower = brokerage.buyingPower(account);
  return {
    id: account.id,
    admin_configurations: {},
    user_configurations: null,
    account_number: account.accountNumber,
    status: 'ACTIVE',
    crypto_status: 'INACTIVE',
    options_approved_level: 0,
    options_trading_level: 0,
    currency: 'USD',
    buying_power: dec(buyingPower, 2),
    regt_buying_power: dec(buyingPower, 2),
    daytrading_buying_power: '0',
    effective_buying_power: dec(buyingPower, 2),
    non_marginable_buying_power: dec(buyingPower, 2),
    options_buying_power: dec(buyingPower, 2),
    bod_dtbp: '0',
    cash: dec(account.cash, 2),
    accrued_fees: '0',
    portfolio_value: dec(equity, 2),
    pattern_day_trader: false,
    trading_blocked: false,
    transfers_blocked: false,
    account_blocked: false,
    created_at: account.createdAt.toISOString(),
    trade_suspended_by_user: false,
    multiplier: '1',
    shorting_enabled: false,
    equity: dec(equity, 2),
    last_equity: dec(account.cash + lastdayMarketValue, 2),
    long_market_value: dec(longMarketValue, 2),
    short_market_value: '0',
    position_market_value: dec(longMarketValue, 2),
    initial_margin: dec(longMarketValue, 2),
    maintenance_margin: dec(longMarketValue * 0.3, 2),
    last_maintenance_margin: dec(lastdayMarketValue * 0.3, 2),
    sma: '0',
    daytrade_count: 0,
    balance_asof: new Date().toISOString().slice(0, 10),
    crypto_tier: 0,
    intraday_adjustments: '0',
    pending_reg_taf_fees: '0',
  };
}

/** The `data` of a `trade_updates` stream message. */
export function tradeUpdateJson(update: SandboxTradeUpdate): Record<string, unknown> {
  const data: Record<string, unknown> = {
    event: update.event,
    timestamp: update.at.toISOString(),
    order: orderJson(update.order),
  };
  if (update.reason !== undefined) data.reason = update.reason;
  if (update.executionId !== undefined) {
    data.execution_id = update.executionId;
    data.price = dec(update.price!, 6);
    data.qty = dec(update.qty!, 9);
    data.position_qty = dec(update.positionQty!, 9);
  }
  return data;
}

/** A trade as the market-data REST API shows it (`/v2/stocks/trades/latest`). */
export interface LatestTrade {
  id: number;
  price: number;
  size: number;
  exchange: string;
  at: Date;
}

export function latestTradeJson(trade: LatestTrade, security: SandboxSecurity): Record<string, unknown> {
  return {
    t: trade.at.toISOString(),
    x: trade.exchange,
    p: trade.price,
    s: trade.size,
    c: ['@'],
    i: trade.id,
    z: tapeOf(security),
  };
}

/** A quote as the market-data REST API shows it (`StockQuote`). */
export function quoteJson(quote: FeedQuote, security: SandboxSecurity): Record<string, unknown> {
  return {
    t: quote.at.toISOString(),
    bx: quote.bidExchange,
    bp: quote.bidPrice,
    bs: quote.bidSize,
    ax: quote.askExchange,
    ap: quote.askPrice,
    as: quote.askSize,
    c: ['R'],
    z: tapeOf(security),
  };
}

/** A bar as the market-data REST API shows it (`StockBar`). */
export function barJson(bar: FeedBar): Record<string, unknown> {
  return { t: bar.at.toISOString(), o: bar.open, h: bar.high, l: bar.low, c: bar.close, v: bar.volume, n: bar.tradeCount, vw: bar.vwap };
}

/**
 * A stock snapshot (`StockSnapshot`): latest trade and quote, the minute and daily bars of the
 * latest trade, and the previous day's bar, whose close is the price book's previous close.
 * Undefined when the feed has no price for the symbol.
 */
export function snapshotJson(feed: MarketFeed, security: SandboxSecurity): Record<string, unknown> | undefined {
  const symbol = security.symbol;
  const trade = feed.latestTrade(symbol);
  const quote = feed.latestQuote(symbol);
  const minuteBar = feed.latestMinuteBar(symbol);
  const dailyBar = feed.dailyBar(symbol);
  const prevDailyBar = feed.previousDailyBar(symbol);
  if (!trade || !quote || !minuteBar || !dailyBar || !prevDailyBar) return undefined;
  return {
    latestTrade: latestTradeJson(trade, security),
    latestQuote: quoteJson(quote, security),
    minuteBar: barJson(minuteBar),
    dailyBar: barJson(dailyBar),
    prevDailyBar: barJson(prevDailyBar),
  };
}

/** An account activity: a trade activity (`FILL`) or a non-trade activity (`CSD`, `CSW`). */
export function activityJson(activity: SandboxActivity): Record<string, unknown> {
  if (activity.activityType === 'FILL') {
    return {
      id: activity.id,
      activity_type: 'FILL',
      transaction_time: activity.at.toISOString(),
      type: activity.type,
      price: dec(activity.price, 6),
      qty: dec(activity.qty, 9),
      side: activity.side,
      symbol: activity.symbol,
      leaves_qty: dec(activity.leavesQty, 9),
      order_id: activity.orderId,
      cum_qty: dec(activity.cumQty, 9),
      order_status: activity.orderStatus,
    };
  }
  return {
    id: activity.id,
    activity_type: activity.activityType,
    date: marketDate(activity.at),
    created_at: activity.at.toISOString(),
    net_amount: dec(activity.netAmount, 2),
    currency: 'USD',
    status: 'executed',
  };
}
