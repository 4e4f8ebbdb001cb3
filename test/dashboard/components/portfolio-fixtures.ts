import type { AccountSummary, ConnectionSummary, HoldingView, PortfolioSnapshot, PortfolioTotals } from '../../../src/realtime/events.ts';

/**
 * Portfolios as the gateway sends them (`portfolio:snapshot`, `portfolio:delta`), small and
 * written out, for the component tests. Amounts are decimal strings, as on the wire.
 */

export const ACCOUNT_ID = '6f1c1f3e-0000-4000-8000-000000000001';
export const CONNECTION_ID = 'conn-questrade';

/** One security in one account, priced live; `fields` override any part. */
export function holdingOf(symbol: string, fields: Partial<HoldingView> = {}): HoldingView {
  const value = 'marketValueBase' in fields ? (fields.marketValueBase ?? null) : '100.00';
  return {
    id: `listing:${symbol}`,
    symbol,
    description: `${symbol} Corp`,
    currency: 'USD',
    assetClass: 'equity',
    quantity: '1',
    price: value,
    priceAsOf: new Date().toISOString(),
    priceSource: 'market',
    priceStale: false,
    marketValue: value,
    marketValueBase: value,
    costBasis: null,
    unrealizedPl: null,
    dayChange: '0',
    unrealizedPlBase: null,
    dayChangeBase: '0',
    dayChangeMissing: null,
    positionsAsOf: null,
    accounts: [{ accountId: ACCOUNT_ID, institution: 'Questrade', quantity: fields.quantity ?? '1', marketValue: value, marketValueBase: value }],
    ...fields,
  };
}

export function totalsFor(holdings: readonly HoldingView[], cash: string | null = '0.00'): PortfolioTotals {
  const invested = holdings.reduce((sum, h) => sum + Number(h.marketValueBase ?? 0), 0);
  return {
    totalValue: (invested + Number(cash ?? 0)).toFixed(2),
    cash,
    invested: invested.toFixed(2),
    costBasis: null,
    unrealizedPl: null,
    dayChange: '0.00',
    holdingsCount: holdings.length,
    dayChangeHoldings: holdings.length,
  };
}

export function accountOf(fields: Partial<AccountSummary> = {}): AccountSummary {
  return {
    id: ACCOUNT_ID,
    institution: 'Questrade',
    name: 'TFSA',
    provider: 'snaptrade',
    status: 'open',
    connectionId: CONNECTION_ID,
    connectionStatus: 'active',
    cashBase: '0.00',
    ...fields,
  };
}

export function connectionOf(fields: Partial<ConnectionSummary> = {}): ConnectionSummary {
  return {
    id: CONNECTION_ID,
    provider: 'snaptrade',
    externalId: 'auth-questrade',
    brokerage: 'Questrade',
    status: 'active',
    statusReason: null,
    lastSyncedAt: '2026-06-02T14:00:00.000Z',
    ...fields,
  };
}

/** A snapshot of `holdings` in one account of one connection (`fields` override any part). */
export function snapshotOf(holdings: HoldingView[], fields: Partial<PortfolioSnapshot> = {}): PortfolioSnapshot {
  return {
    seq: 0,
    asOf: new Date().toISOString(),
    baseCurrency: 'USD',
    totals: totalsFor(holdings),
    holdings,
    accounts: [accountOf()],
    connections: [connectionOf()],
    ...fields,
  };
}
