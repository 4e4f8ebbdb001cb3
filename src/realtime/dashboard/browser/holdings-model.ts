import type { HoldingView } from '../../events.ts';

/**
 * The holdings table's pure part: how fresh a price is, what a column sorts by, and what the search
 * box keeps. No DOM here (tested as plain functions).
 */

/** How long a market price counts as live; older market prices are delayed (the feed went quiet, the market closed). */
export const LIVE_WITHIN_MS = 2 * 60_000;

/**
 * `live`: a market-feed price from the last `LIVE_WITHIN_MS`; `delayed`: a market-feed price older
 * than that, or the brokerage's price of a security the feed covers but has not ticked yet;
 * `stale`: the brokerage's last report of a security without a live feed (`priceStale`);
 * `none`: no price at all.
 */
export type FreshnessKind = 'live' | 'delayed' | 'stale' | 'none';

export interface Freshness {
  kind: FreshnessKind;
  /** When the price was traded or reported (`priceAsOf`). */
  at: string | null;
}

export function priceFreshness(h: Pick<HoldingView, 'price' | 'priceAsOf' | 'priceSource' | 'priceStale'>, nowMs: number): Freshness {
  if (h.price === null) return { kind: 'none', at: null };
  if (h.priceStale) return { kind: 'stale', at: h.priceAsOf };
  const at = h.priceAsOf ? Date.parse(h.priceAsOf) : NaN;
  const live = h.priceSource === 'market' && Number.isFinite(at) && nowMs - at <= LIVE_WITHIN_MS;
  return { kind: live ? 'live' : 'delayed', at: h.priceAsOf };
}

/**
 * The price in the base currency, for display and sorting only: market value in the base currency
 * / quantity (the server sends the exact value; the price it implies is rounded when shown).
 */
export function basePrice(h: Pick<HoldingView, 'marketValueBase' | 'quantity'>): number | null {
  if (h.marketValueBase === null) return null;
  const quantity = Number(h.quantity);
  return quantity === 0 ? null : Number(h.marketValueBase) / quantity;
}

export const SORT_KEYS = ['symbol', 'quantity', 'price', 'value', 'day', 'pl'] as const;
export type HoldingSortKey = (typeof SORT_KEYS)[number];
export type SortDirection = 'ascending' | 'descending';
export interface HoldingSort {
  key: HoldingSortKey;
  direction: SortDirection;
}

/** What a column sorts by: every amount in the base currency, so a CAD and a USD holding compare. */
function sortValue(h: HoldingView, key: HoldingSortKey): string | number | null {
  switch (key) {
    case 'symbol':
      return h.symbol;
    case 'quantity':
      return Number(h.quantity);
    case 'price':
      return basePrice(h);
    case 'value':
      return h.marketValueBase === null ? null : Number(h.marketValueBase);
    case 'day':
      return h.dayChangeBase === null ? null : Number(h.dayChangeBase);
    case 'pl': {
      // What the row shows: against the purchase-date cost when known.
      const pl = h.purchaseFx?.plBase ?? h.unrealizedPlBase;
      return pl === null ? null : Number(pl);
    }
  }
}

/** A first click on a text column sorts A to Z; on an amount, largest first (as a person looks for them). */
export function firstDirection(key: HoldingSortKey): SortDirection {
  return key === 'symbol' ? 'ascending' : 'descending';
}

/** The sort a click on `key`'s header makes from `current`: the same column flips, another starts at its first direction. */
export function nextSort(current: HoldingSort, key: HoldingSortKey): HoldingSort {
  if (current.key === key) return { key, direction: current.direction === 'ascending' ? 'descending' : 'ascending' };
  return { key, direction: firstDirection(key) };
}

/** Sorted copy: unknown values (no price, no FX rate) last in either direction; ties by symbol, then id. */
export function sortHoldings(holdings: readonly HoldingView[], sort: HoldingSort): HoldingView[] {
  const sign = sort.direction === 'ascending' ? 1 : -1;
  const tie = (a: HoldingView, b: HoldingView) => a.symbol.localeCompare(b.symbol) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
  return holdings
    .map((h) => ({ h, v: sortValue(h, sort.key) }))
    .sort((a, b) => {
      if (a.v === null || b.v === null) return a.v === b.v ? tie(a.h, b.h) : a.v === null ? 1 : -1;
      const order = typeof a.v === 'string' ? a.v.localeCompare(b.v as string) : a.v - (b.v as number);
      return order !== 0 ? sign * order : tie(a.h, b.h);
    })
    .map(({ h }) => h);
}

/** Whether the search box keeps `h`: every word of the query in its symbol or name, ignoring case and accents. */
export function matchesSearch(h: Pick<HoldingView, 'symbol' | 'description'>, query: string): boolean {
  const words = fold(query).split(/\s+/).filter(Boolean);
  if (words.length === 0) return true;
  const text = fold(`${h.symbol} ${h.description ?? ''}`);
  return words.every((w) => text.includes(w));
}

function fold(text: string): string {
  return text.normalize('NFD').replace(/[\u0300-\u036f]/g, '').toLowerCase();
}
