import type { Knex } from '../../src/db/knex.ts';
import { loadDatedFx } from '../../src/market/fx-rate-store.ts';
import type { FxTable } from '../../src/portfolio/currency.ts';
import { createDatedFx, datedFxTables } from '../../src/portfolio/dated-fx.ts';
import type { Holding } from '../../src/portfolio/holding.ts';
import { isTradeOf, purchaseDateCost, type PurchaseDateCost, type TradeActivity } from '../../src/portfolio/purchase-cost.ts';

/** Activity types that move a security's units (a buy or sell is a lot; the others leave a position unexplained). */
const UNIT_TYPES = ['buy', 'sell', 'split', 'transfer', 'other'];

interface TradeRow extends TradeActivity {
  accountId: string;
  symbol: string | null;
  universalSymbolId: string | null;
}


/**
 * Each holding's cost at the rates of its purchase days (I/O around the pure `purchaseDateCost`):
 * the user's stored activities that move units, and the stored daily rates among the currencies
 * involved (none read when every one is the base). `fx` is the table the holdings were valued with.
 */
export async function readPurchaseDateCosts(
  db: Knex,
  userId: string,
  holdings: readonly Holding[],
  baseCurrency: string,
  fx: FxTable,
): Promise<Map<string, PurchaseDateCost>> {
  const out = new Map<string, PurchaseDateCost>();
  if (holdings.every((h) => h.accounts.every((a) => a.costBasis === null))) return out;
  const rows = (await db('activities')
    .where({ user_id: userId })
    .whereIn('type', UNIT_TYPES)
    .where((q) => q.whereNotNull('symbol').orWhereNotNull('universal_symbol_id'))
    .select(
      'account_id',
      'provider_activity_id',
      'type',
      db.raw('units::text AS units'),
      db.raw('price::text AS price'),
      'currency',
      'trade_date',
      'symbol',
      'universal_symbol_id',
    )) as Array<Record<string, unknown>>;
  const trades: TradeRow[] = rows.map((r) => ({
    accountId: r.account_id as string,
    id: r.provider_activity_id as string,
    type: r.type as string,
    units: r.units as string | null,
    price: r.price as string | null,
    currency: r.currency === null ? null : (r.currency as string).trim(),
    tradeDate: (r.trade_date as Date).toISOString(),
    symbol: r.symbol as string | null,
    universalSymbolId: r.universal_symbol_id as string | null,
  }));
  const currencies = new Set<string>([baseCurrency]);
  for (const h of holdings) currencies.add(h.currency);
  for (const t of trades) if (t.currency !== null) currencies.add(t.currency);
  const dated = currencies.size > 1 ? await loadDatedFx(db, currencies) : createDatedFx([]);
  const ratesOn = datedFxTables(dated);
  for (const holding of holdings) {
    const mine = trades.filter((t) => isTradeOf(t, holding));
    out.set(
      holding.identityKey,
      purchaseDateCost(holding, (accountId) => mine.filter((t) => t.accountId === accountId), fx, ratesOn),
    );
  }
  return out;
}
