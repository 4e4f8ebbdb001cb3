import { aggregateHoldings } from '../../src/portfolio/aggregate-holdings.ts';
import { createFxTable, type FxTable } from '../../src/portfolio/currency.ts';
import { createDatedFx, datedFxTables, type DatedFxRateInput } from '../../src/portfolio/dated-fx.ts';
import type { Holding } from '../../src/portfolio/holding.ts';
import { normalizeSnapTradeAccount } from '../../src/portfolio/normalize-snaptrade.ts';
import { purchaseDateCost, type PurchaseDateCost, type TradeActivity } from '../../src/portfolio/purchase-cost.ts';
import { snapPosition, snapPositionsBody } from './provider-payloads.ts';

/** Helpers of the purchase-date cost scenarios: XIU on the TSX (CAD), in a USD portfolio. */

export const XIU = { id: '5b0d3c7e-1a2b-4c3d-8e9f-0a1b2c3d4e5f', symbol: 'XIU.TO', raw_symbol: 'XIU', currency: 'CAD', exchange: 'XTSE', figi: 'BBG00MMY7GT8' };

/** A position of `units` at `price` with the brokerage's average cost `averageCost` (CAD). */
export interface HeldXiu {
  accountId: string;
  units: string;
  price: string;
  averageCost: string;
}

/** The XIU holding across the given accounts, valued in USD with today's `fx`. */
export function xiuHolding(held: readonly HeldXiu[], fx: FxTable): Holding {
  const accounts = new Map(
    held.map((h) => [
      h.accountId,
      {
        institution: 'Questrade',
        currency: 'CAD',
        ...normalizeSnapTradeAccount({
          positions: snapPositionsBody('2026-06-02T15:00:00Z', [snapPosition(XIU, { units: h.units, price: h.price, cost_basis: h.averageCost })]),
          balances: [],
        }),
      },
    ]),
  );
  return [...aggregateHoldings(accounts, { baseCurrency: 'USD', fx }).holdings.values()][0]!;
}

let ids = 0;
export function trade(type: string, tradeDate: string, units: string, price: string | null = null): TradeActivity {
  return { type, units, price, currency: 'CAD', tradeDate, id: `a${String(++ids).padStart(4, '0')}` };
}

/** Today's rate CAD -> USD. */
export const todayCadUsd = (rate: string): FxTable => createFxTable([{ from: 'CAD', to: 'USD', rate }]);

/** The purchase-date cost of `holding` with each account's trades and the stored daily rates. */
export function costOf(holding: Holding, trades: Record<string, TradeActivity[]>, fx: FxTable, daily: DatedFxRateInput[]): PurchaseDateCost {
  return purchaseDateCost(holding, (accountId) => trades[accountId] ?? [], fx, datedFxTables(createDatedFx(daily)));
}

/** A stored CAD -> USD rate of a day. */
export const cadUsdOn = (day: string, rate: string): DatedFxRateInput => ({ day, from: 'CAD', to: 'USD', rate });
