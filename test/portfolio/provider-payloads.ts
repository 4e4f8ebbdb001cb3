/**
 * Builders for provider payloads in the providers' own wire shapes (SnapTrade
 * `AllAccountPositionsResponse` / `Balance[]` / `ExchangeRatePairs[]`, Alpaca `/v2/positions`
 * and `/v2/account`), so tests go through the real normalisers.
 */
import type { PortfolioState } from '../../src/portfolio/aggregate-holdings.ts';

export interface SnapInstrument {
  id: string;
  symbol: string;
  raw_symbol?: string;
  currency: string;
  exchange: string;
  figi?: string;
  description?: string;
  kind?: string;
}

export function snapPosition(
  instrument: SnapInstrument,
  fields: { units: string | null; price?: string | null; cost_basis?: string | null; currency?: string; cash_equivalent?: boolean },
): Record<string, unknown> {
  return {
    instrument: {
      kind: instrument.kind ?? 'stock',
      id: instrument.id,
      symbol: instrument.symbol,
      raw_symbol: instrument.raw_symbol ?? instrument.symbol,
      description: instrument.description ?? null,
      currency: instrument.currency,
      exchange: instrument.exchange,
      figi_instrument: instrument.figi ? { figi_code: instrument.figi, figi_share_class: null } : null,
    },
    units: fields.units,
    price: fields.price ?? null,
    cost_basis: fields.cost_basis ?? null,
    currency: fields.currency ?? instrument.currency,
    cash_equivalent: fields.cash_equivalent ?? false,
    tax_lots: [],
  };
}

export function snapPositionsBody(asOf: string, results: unknown[]): Record<string, unknown> {
  return { results, data_freshness: { as_of: asOf } };
}

export function snapBalance(code: string, cash: number | null, buyingPower?: number | null): Record<string, unknown> {
  return {
    currency: { id: `00000000-0000-4000-8000-0000000000${code === 'USD' ? '01' : '02'}`, code, name: code },
    cash,
    buying_power: buyingPower ?? cash,
  };
}

export function snapRate(src: string, dst: string, rate: number): Record<string, unknown> {
  return { src: { code: src, name: src }, dst: { code: dst, name: dst }, exchange_rate: rate };
}

export function alpacaPosition(fields: {
  symbol: string;
  qty: string;
  avg_entry_price: string;
  current_price: string;
  lastday_price: string;
  exchange: string;
  side?: 'long' | 'short';
}): Record<string, unknown> {
  return {
    asset_id: '904837e3-3b76-47ec-b432-046db621571b',
    symbol: fields.symbol,
    exchange: fields.exchange,
    asset_class: 'us_equity',
    asset_marginable: true,
    qty: fields.qty,
    avg_entry_price: fields.avg_entry_price,
    side: fields.side ?? 'long',
    market_value: '0',
    cost_basis: '0',
    unrealized_pl: '0',
    current_price: fields.current_price,
    lastday_price: fields.lastday_price,
    change_today: '0',
    qty_available: fields.qty,
  };
}

export function alpacaAccount(cash: string, buyingPower = cash): Record<string, unknown> {
  return { id: 'acc', status: 'ACTIVE', currency: 'USD', cash, buying_power: buyingPower, equity: cash };
}

/** Well-known instruments (ids are made up but stable). */
export const AAPL: SnapInstrument = {
  id: '1ef3a5d3-4a9b-40b2-b8d1-cc35f74d6324',
  symbol: 'AAPL',
  currency: 'USD',
  exchange: 'XNAS',
  figi: 'BBG000B9XRY4',
  description: 'Apple Inc.',
};

/** A comparable, order-independent projection of a state (Maps sorted by key). */
export function projection(state: PortfolioState): unknown {
  const sorted = <T>(map: ReadonlyMap<string, T>): Array<[string, T]> =>
    [...map.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return {
    holdings: sorted(state.holdings),
    cash: sorted(state.cash),
    totals: state.totals,
    keyByFacet: sorted(state.keyByFacet),
  };
}
