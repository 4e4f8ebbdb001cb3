import type { ConnectionState } from '../../src/realtime/events.ts';
import type { Knex } from '../../src/db/knex.ts';
import {
  aggregateHoldings,
  canonical,
  createFxTable,
  type AccountPositions,
  type FxTable,
  type Holding,
  type NormalizedBalance,
  type NormalizedPosition,
  type PortfolioState,
  type SecurityRef,
} from '../../src/portfolio/index.ts';
import { internSecurityRef, internString } from '../../src/portfolio/intern.ts';

/**
 * Postgres side of the user portfolio projection: what the actor loads on activation and the
 * writes it makes inside the runtime's commit transaction. Every function takes the
 * transaction (or the pool, for reads), never opens its own.
 */
export type Provider = 'snaptrade' | 'alpaca';

export interface ConnectionRow {
  id: string;
  provider: Provider;
  externalId: string;
  brokerageName: string | null;
  status: ConnectionState;
}

export interface AccountRow {
  id: string;
  connectionId: string;
  provider: Provider;
  externalId: string;
  institution: string;
  name: string | null;
  currency: string;
  status: 'open' | 'closed' | 'removed';
  positionsAsOf: string | null;
}

export interface LoadedPortfolio {
  baseCurrency: string;
  userExists: boolean;
  connections: ConnectionRow[];
  accounts: AccountRow[];
  portfolio: PortfolioState;
}

export const providerKey = (provider: string, externalId: string) => `${provider}:${externalId}`;

/** The FX table from stored rates (refreshed from SnapTrade's rates by the sync). */
export async function loadFxTable(db: Knex): Promise<FxTable> {
  const rows = await db('fx_rates').select('base', 'quote', 'rate');
  return createFxTable(rows.map((r) => ({ from: r.base, to: r.quote, rate: r.rate })));
}

function securityFromRow(row: Record<string, unknown>): SecurityRef {
  const ref: SecurityRef = {
    identityKey: row.identity_key as string,
    ticker: row.ticker as string,
    currency: (row.security_currency as string).trim(),
    cashEquivalent: row.is_cash_equivalent as boolean,
  };
  if (row.figi) ref.figi = row.figi as string;
  if (row.snaptrade_symbol_id) ref.snaptradeSymbolId = row.snaptrade_symbol_id as string;
  if (row.exchange_mic) ref.exchangeMic = row.exchange_mic as string;
  if (row.description) ref.description = row.description as string;
  if (row.security_type) ref.type = row.security_type as string;
  return internSecurityRef(ref);
}

/** Everything the actor needs, rebuilt from the tables (no live prices: those arrive as ticks). */
export async function loadPortfolio(db: Knex, userId: string, fx?: FxTable): Promise<LoadedPortfolio> {
  const user = await db('users').where({ id: userId }).first('base_currency');
  const baseCurrency = (user?.base_currency as string | undefined)?.trim() ?? 'USD';
  const connections = (
    await db('brokerage_connections').where({ user_id: userId }).select('id', 'provider', 'external_id', 'brokerage_name', 'status')
  ).map((r) => ({ id: r.id, provider: r.provider, externalId: r.external_id, brokerageName: r.brokerage_name, status: r.status }));
  const accounts: AccountRow[] = (
    await db('accounts').where({ user_id: userId }).whereNot({ status: 'removed' })
  ).map((r) => ({
    id: r.id,
    connectionId: r.connection_id,
    provider: r.provider,
    externalId: r.external_id,
    institution: internString(r.institution_name),
    name: r.name,
    currency: internString(r.currency.trim()),
    status: r.status,
    positionsAsOf: r.positions_as_of ? internString(r.positions_as_of.toISOString()) : null,
  }));
  const positions = await db('account_positions as p')
    .join('securities as s', 's.id', 'p.security_id')
    .where('p.user_id', userId)
    .select('p.*', 's.identity_key', 's.figi', 's.snaptrade_symbol_id', 's.ticker', 's.exchange_mic', 's.description',
      's.security_type', 's.is_cash_equivalent', 's.currency as security_currency');
  const cash = await db('cash_balances').where({ user_id: userId });

  const byAccount = new Map<string, AccountPositions>();
  for (const account of accounts) {
    const accountPositions: NormalizedPosition[] = positions
      .filter((p) => p.account_id === account.id)
      .map((p) => {
        // Canonical decimals, as a sync normalizes them (Postgres pads them to the column's scale):
        // shorter, and the holding built from one position then shares its strings.
        const position: NormalizedPosition = {
          security: securityFromRow(p),
          quantity: canonical(p.quantity),
          currency: internString(p.currency.trim()),
          cashEquivalent: p.is_cash_equivalent,
        };
        if (p.average_cost !== null) position.averageCost = canonical(p.average_cost);
        if (p.price !== null) position.price = canonical(p.price);
        if (p.previous_close !== null) position.previousClose = canonical(p.previous_close);
        return position;
      });
    const balances: NormalizedBalance[] = cash
      .filter((c) => c.account_id === account.id)
      .map((c) => {
        const balance: NormalizedBalance = { currency: c.currency.trim(), cash: c.amount };
        if (c.buying_power !== null) balance.buyingPower = c.buying_power;
        return balance;
      });
    if (account.positionsAsOf === null && accountPositions.length === 0 && balances.length === 0) continue;
    byAccount.set(account.id, {
      institution: account.institution,
      currency: account.currency,
      asOf: account.positionsAsOf ?? new Date(0).toISOString(),
      positions: accountPositions,
      balances,
    });
  }
  const portfolio = aggregateHoldings(byAccount, { baseCurrency, fx: fx ?? (await loadFxTable(db)) });
  return { baseCurrency, userExists: Boolean(user), connections, accounts, portfolio };
}

/** One row per identity key, in key order (so concurrent inserts take their locks in one order). */
function securityRows(refs: Iterable<SecurityRef>) {
  const unique = new Map<string, SecurityRef>();
  for (const ref of refs) unique.set(ref.identityKey, ref);
  // A FIGI or SnapTrade id already stored under another identity key (a listing first seen
  // without them) is not repeated: the unique constraints keep one row per identifier.
  return [...unique.values()].sort((a, b) => (a.identityKey < b.identityKey ? -1 : 1)).map((ref) => ({
    identity_key: ref.identityKey,
    figi: ref.identityKey.startsWith('figi:') ? (ref.figi ?? null) : null,
    snaptrade_symbol_id: ref.identityKey.startsWith('snaptrade:') ? (ref.snaptradeSymbolId ?? null) : null,
    ticker: ref.ticker,
    exchange_mic: ref.exchangeMic && /^[A-Z0-9]{4}$/.test(ref.exchangeMic) ? ref.exchangeMic : null,
    currency: ref.currency,
    description: ref.description ?? null,
    security_type: ref.type ?? null,
    is_cash_equivalent: ref.cashEquivalent,
  }));
}

/**
 * Inserts the securities not stored yet, each in a short transaction of its own (autocommit),
 * outside any actor's commit. A security inserted inside a commit stays uncommitted until that
 * commit ends, and every other commit inserting it meanwhile waits for it (the unique index's
 * check on an in-progress insert): users who first hold a security at the same time (a listing
 * many sync at once) would queue behind one another. Registered first, the commits only find it.
 * Returns how many rows were new.
 */
export async function registerSecurities(db: Knex, refs: Iterable<SecurityRef>): Promise<number> {
  const rows = securityRows(refs);
  if (rows.length === 0) return 0;
  // Any unique index, not only the identity key's: two registrations of one listing racing each
  // other can meet on its FIGI or symbol id index first, which a targeted ON CONFLICT would raise.
  const inserted = await db('securities').insert(rows).onConflict().ignore().returning('id');
  return inserted.length;
}

/** Upserts securities by identity key; returns identity key -> row id. */
export async function upsertSecurities(tx: Knex.Transaction, refs: Iterable<SecurityRef>): Promise<Map<string, string>> {
  const rows = securityRows(refs);
  const ids = new Map<string, string>();
  if (rows.length === 0) return ids;
  // Securities are shared by every user. ON CONFLICT DO UPDATE would lock an existing row until
  // the actor's commit (even when its WHERE skips the update), so users holding the same
  // securities would wait on, and deadlock with, each other. Insert what is new without touching
  // what exists, then update only rows whose descriptive fields really changed (rare).
  const inserted: { id: string; identity_key: string }[] = await tx('securities')
    .insert(rows)
    .onConflict('identity_key')
    .ignore()
    .returning(['id', 'identity_key']);
  const fresh = new Set(inserted.map((row) => row.identity_key));
  const existing = rows.filter((r) => !fresh.has(r.identity_key));
  if (existing.length) {
    const stored = await tx('securities')
      .whereIn('identity_key', existing.map((r) => r.identity_key))
      .select('id', 'identity_key', 'ticker', 'description', 'security_type', 'is_cash_equivalent');
    const wanted = new Map(existing.map((r) => [r.identity_key, r]));
    for (const row of stored) {
      inserted.push({ id: row.id, identity_key: row.identity_key });
      const want = wanted.get(row.identity_key)!;
      if (
        row.ticker !== want.ticker ||
        (row.description ?? null) !== want.description ||
        (row.security_type ?? null) !== want.security_type ||
        row.is_cash_equivalent !== want.is_cash_equivalent
      ) {
        await tx('securities').where({ id: row.id }).update({
          ticker: want.ticker,
          description: want.description,
          security_type: want.security_type,
          is_cash_equivalent: want.is_cash_equivalent,
          updated_at: tx.fn.now(),
        });
      }
    }
  }
  for (const row of inserted) ids.set(row.identity_key, row.id);
  return ids;
}

/** Replaces one account's positions and cash with a sync's result. */
export async function replaceAccountHoldings(
  tx: Knex.Transaction,
  userId: string,
  accountId: string,
  data: { asOf: string; positions: readonly NormalizedPosition[]; balances: readonly NormalizedBalance[] },
  securityIds: ReadonlyMap<string, string>,
): Promise<void> {
  await tx('account_positions').where({ account_id: accountId }).delete();
  await tx('cash_balances').where({ account_id: accountId }).delete();
  // Two lots of one security in an account (rare: some brokerages split them) become one row.
  const merged = new Map<string, NormalizedPosition[]>();
  for (const position of data.positions) {
    if (Number(position.quantity) === 0) continue;
    const list = merged.get(position.security.identityKey) ?? [];
    list.push(position);
    merged.set(position.security.identityKey, list);
  }
  const positionRows = [...merged.entries()].map(([key, lots]) => {
    const first = lots[0]!;
    const quantity = lots.reduce((sum, p) => sum + Number(p.quantity), 0);
    return {
      account_id: accountId,
      user_id: userId,
      security_id: securityIds.get(key)!,
      quantity: lots.length === 1 ? first.quantity : String(quantity),
      average_cost: first.averageCost !== undefined && Number(first.averageCost) >= 0 ? first.averageCost : null,
      price: first.price !== undefined && Number(first.price) >= 0 ? first.price : null,
      price_as_of: first.price !== undefined ? data.asOf : null,
      previous_close: first.previousClose !== undefined && Number(first.previousClose) >= 0 ? first.previousClose : null,
      currency: first.currency,
      as_of: data.asOf,
    };
  });
  if (positionRows.length) await tx('account_positions').insert(positionRows);
  const cashRows = data.balances.map((b) => ({
    account_id: accountId,
    user_id: userId,
    currency: b.currency,
    amount: b.cash,
    buying_power: b.buyingPower ?? null,
    as_of: data.asOf,
  }));
  if (cashRows.length) await tx('cash_balances').insert(cashRows).onConflict(['account_id', 'currency']).merge();
}

/** Writes the holdings that changed and deletes the removed ones. */
export async function writeHoldings(
  tx: Knex.Transaction,
  userId: string,
  baseCurrency: string,
  upserted: readonly Holding[],
  removed: readonly string[],
): Promise<void> {
  if (removed.length) {
    const ids = await tx('securities').whereIn('identity_key', removed).pluck('id');
    if (ids.length) await tx('holdings').where({ user_id: userId }).whereIn('security_id', ids).delete();
  }
  if (!upserted.length) return;
  const securityIds = await upsertSecurities(tx, upserted.map((h) => h.security));
  const rows = upserted.map((h) => ({
    user_id: userId,
    security_id: securityIds.get(h.identityKey)!,
    quantity: h.quantity,
    currency: h.currency,
    average_cost: h.averageCost,
    cost_basis: h.costBasis,
    price: h.price,
    price_as_of: h.priceAsOf,
    market_value: h.marketValue,
    unrealized_pl: h.unrealizedPnl,
    base_currency: baseCurrency,
    market_value_base: h.base.marketValue,
    account_count: h.accountCount,
    accounts: JSON.stringify(
      h.accounts.map((a) => ({
        accountId: a.accountId,
        institution: a.institution,
        quantity: a.quantity,
        averageCost: a.averageCost,
        marketValue: a.marketValue,
      })),
    ),
    updated_at: tx.fn.now(),
  }));
  await tx('holdings').insert(rows).onConflict(['user_id', 'security_id']).merge();
}
