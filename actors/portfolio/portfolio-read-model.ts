import type { RedisClient as Redis } from '../../src/runtime/redis-client.ts';
import type { Knex } from '../../src/db/knex.ts';
import { readLastPrices } from '../../src/market/price-reader.ts';
import { applyQuote, quoteAt, type PortfolioTotals } from '../../src/portfolio/index.ts';
import { accountCashBase } from '../../src/portfolio/portfolio-totals.ts';
import type { PortfolioSnapshotBody } from '../../src/realtime/events.ts';
import type { StreamKeys } from '../../streams/keys.ts';
import { loadPortfolio } from './portfolio-repository.ts';
import { holdingView, totalsView } from './portfolio-views.ts';
import { readPurchaseDateCosts } from './purchase-fx-read.ts';
import { alpacaTicker } from './us-listings.ts';

export interface PortfolioReadout {
  snapshot: PortfolioSnapshotBody;
  totals: PortfolioTotals;
}

/**
 * The user's portfolio as the actor would hold it: the committed projection from Postgres,
 * valued with the latest market prices. Serves `GET /api/portfolio` and the socket.io snapshot;
 * uses the same pure functions as the actor, so the two agree. Each holding also gets its cost at
 * the rates of its purchase days (`purchaseFx`, from the stored activities), which the actor does
 * not keep.
 */
export async function readPortfolio(db: Knex, redis: Redis, keys: StreamKeys, userId: string): Promise<PortfolioReadout> {
  const loaded = await loadPortfolio(db, userId);
  const state = loaded.portfolio;
  const tickers = new Map<string, string>();
  for (const h of state.holdings.values()) {
    const ticker = alpacaTicker(h);
    if (ticker) tickers.set(ticker, h.identityKey);
  }
  const prices = await readLastPrices(redis, keys, [...tickers.keys()]);
  for (const [ticker, price] of prices) {
    applyQuote(state, tickers.get(ticker)!, quoteAt(price.price, price.at, price.previousClose));
  }
  const connections = await db('brokerage_connections')
    .where({ user_id: userId })
    .orderBy(['brokerage_name', 'created_at', 'id'])
    .select('id', 'provider', 'external_id', 'brokerage_name', 'status', 'status_reason', 'last_synced_at');
  const connectionStatus = new Map(connections.map((c) => [c.id as string, c.status as string]));
  const sorted = [...state.holdings.values()].sort((a, b) => (a.security.ticker < b.security.ticker ? -1 : a.security.ticker > b.security.ticker ? 1 : 0));
  const purchase = await readPurchaseDateCosts(db, userId, sorted, state.baseCurrency, state.fx);
  const holdings = sorted.map((h) => holdingView(h, purchase.get(h.identityKey)));
  return {
    totals: state.totals,
    snapshot: {
      asOf: new Date().toISOString(),
      baseCurrency: state.baseCurrency,
      totals: totalsView(state.totals),
      holdings,
      accounts: loaded.accounts.map((a) => ({
        id: a.id,
        institution: a.institution,
        name: a.name ?? a.institution,
        provider: a.provider,
        status: a.status,
        connectionId: a.connectionId,
        connectionStatus: connectionStatus.get(a.connectionId) ?? 'active',
        cashBase: accountCashBase(state.cash.get(a.id)),
      })),
      connections: connections
        .filter((c) => c.status !== 'removed')
        .map((c) => ({
          id: c.id,
          provider: c.provider,
          externalId: c.external_id,
          brokerage: c.brokerage_name,
          status: c.status,
          statusReason: c.status_reason,
          lastSyncedAt: c.last_synced_at ? (c.last_synced_at as Date).toISOString() : null,
        })),
    },
  };
}
