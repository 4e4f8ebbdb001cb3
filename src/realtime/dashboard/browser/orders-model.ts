import { FINAL_STATUSES, type OrderRecord, type OrderStatus, type TimeInForce } from '../../../trading/order-types.ts';
import { money, quantity } from './format.ts';

/**
 * What the orders panel says about an order, in words a person reads without knowing the API:
 * the order as one phrase ("Buy 2 MSFT"), its terms ("Limit $90.00 · good till canceled"), its
 * status ("Open", "Partly filled") and how much of it filled at what price. Pure (no DOM), so the
 * words are tested as functions; amounts go through `format.ts` (display only, the data stays exact).
 */

/** A status as a word, and what it means for the person (the row's title). */
export const STATUS_WORDS: Readonly<Record<OrderStatus, { word: string; meaning: string }>> = {
  pending: { word: 'Sending', meaning: 'Being sent to the brokerage' },
  submitted: { word: 'Sent', meaning: 'Sent to the brokerage, which has not confirmed it yet' },
  accepted: { word: 'Open', meaning: 'Accepted by the brokerage, waiting to fill' },
  partially_filled: { word: 'Partly filled', meaning: 'Part of it filled; the rest is still open' },
  filled: { word: 'Filled', meaning: 'Filled in full' },
  canceled: { word: 'Canceled', meaning: 'Canceled before it filled in full' },
  rejected: { word: 'Rejected', meaning: 'The brokerage refused it' },
  expired: { word: 'Expired', meaning: 'Its time in force ran out before it filled' },
  failed: { word: 'Failed', meaning: 'It could not be sent to the brokerage' },
};

const TYPE_WORDS: Readonly<Record<OrderRecord['type'], string>> = { market: 'Market', limit: 'Limit', stop: 'Stop', stop_limit: 'Stop limit' };

const TIME_IN_FORCE_WORDS: Readonly<Record<TimeInForce, string>> = {
  day: 'day',
  gtc: 'good till canceled',
  ioc: 'immediate or cancel',
  fok: 'fill or kill',
  opg: 'at the open',
  cls: 'at the close',
};

export const PROVIDER_NAMES: Readonly<Record<OrderRecord['provider'], string>> = { alpaca: 'Alpaca', snaptrade: 'SnapTrade' };

/** An amount in `currency`, or as a plain number when the order's currency is not known. */
function amount(value: string, currency: string | null): string {
  return currency ? money(value, currency) : quantity(value);
}

/** "Buy 2 MSFT", or by value "Buy $500.00 of MSFT". */
export function orderPhrase(order: Pick<OrderRecord, 'side' | 'symbol' | 'quantity' | 'notional'>, currency: string | null): string {
  const side = order.side === 'buy' ? 'Buy' : 'Sell';
  if (order.quantity !== null) return `${side} ${quantity(order.quantity)} ${order.symbol}`;
  return `${side} ${order.notional === null ? '' : `${amount(order.notional, currency)} of `}${order.symbol}`.replace(/ {2}/, ' ');
}

/** "Market · day", "Limit $90.00 · good till canceled", "Stop limit $95.00 / $94.50 · day" (stop, then limit). */
export function orderTerms(order: Pick<OrderRecord, 'type' | 'limitPrice' | 'stopPrice' | 'timeInForce'>, currency: string | null): string {
  const prices = [order.stopPrice, order.limitPrice].filter((p): p is string => p !== null).map((p) => amount(p, currency));
  return `${TYPE_WORDS[order.type]}${prices.length ? ` ${prices.join(' / ')}` : ''} · ${TIME_IN_FORCE_WORDS[order.timeInForce] ?? order.timeInForce}`;
}

/** "2 of 2 filled at $85.00", "1 of 5 filled at $99.10", "None filled" (a quantity order), or "" when nothing is to say. */
export function fillLine(order: Pick<OrderRecord, 'quantity' | 'filledQuantity' | 'averageFillPrice'>, currency: string | null): string {
  const filled = Number(order.filledQuantity);
  const at = order.averageFillPrice !== null ? ` at ${amount(order.averageFillPrice, currency)}` : '';
  if (filled > 0) return `${quantity(order.filledQuantity)}${order.quantity !== null ? ` of ${quantity(order.quantity)}` : ''} filled${at}`;
  return order.quantity !== null ? 'None filled' : '';
}

/** An order the brokerage may still cancel: one that is not final. */
export function cancellable(order: Pick<OrderRecord, 'status'>): boolean {
  return !FINAL_STATUSES.has(order.status);
}
