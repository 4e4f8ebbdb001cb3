import type { Knex } from '../db/knex.ts';
import { aggregateHoldings, type AccountPositions } from '../portfolio/index.ts';
import { replaceAccountHoldings, upsertSecurities, writeHoldings } from '../../actors/portfolio/portfolio-repository.ts';
import { providerKey, settle, type PortfolioProjection } from '../../actors/portfolio/portfolio-projection.ts';
import type { LiveState } from './live-state.ts';
import { orderToRow } from '../trading/order-queries.ts';

/**
 * Makes the user's rows in Postgres equal the rebuilt projection, inside the caller's
 * transaction (the actor's fenced commit, with its checkpoint). The user's base currency is the
 * fold's (the last `settings.changed`). Connections and accounts are
 * upserted by provider key, accounts the fold does not know are marked removed, every account's
 * positions and cash are rewritten from the fold, and the holdings are re-aggregated from them
 * and written whole (rows the fold does not hold are deleted). Alpaca links are left alone when
 * the fold does not know them: their keys come from the link API, not from the stream.
 */
export async function repairUser(tx: Knex.Transaction, rebuilt: PortfolioProjection, live: LiveState): Promise<void> {
  settle(rebuilt);
  const userId = rebuilt.userId;
  if (rebuilt.deleted) {
    await tx('users').where({ id: userId }).delete();
    return;
  }
  await tx('users').insert({ id: userId, base_currency: rebuilt.baseCurrency }).onConflict('id').merge(['base_currency']);
  const connectionIds = new Map<string, string>();
  for (const [key, c] of rebuilt.connections) {
    const changes = { status: c.status, brokerage_name: c.brokerageName, updated_at: tx.fn.now() };
    const [row] =
      c.provider === 'alpaca'
        ? await tx('brokerage_connections').where({ provider: c.provider, external_id: c.externalId, user_id: userId }).update(changes).returning(['id', 'user_id'])
        : await tx('brokerage_connections')
            .insert({ user_id: userId, provider: c.provider, external_id: c.externalId, status: c.status, brokerage_name: c.brokerageName })
            .onConflict(['provider', 'external_id'])
            .merge(changes)
            .returning(['id', 'user_id']);
    if (!row) continue;
    if (row.user_id !== userId) throw new Error(`connection ${c.externalId} belongs to another user`);
    connectionIds.set(key, row.id);
  }
  // SnapTrade connections the fold does not have were deleted with SnapTrade's user: their
  // accounts go first (foreign key), then the rows.
  const stale = await tx('brokerage_connections').where({ user_id: userId, provider: 'snaptrade' }).select('id', 'external_id');
  const goneConnections = stale.filter((c) => !rebuilt.connections.has(providerKey('snaptrade', c.external_id))).map((c) => c.id as string);

  const accountIds = new Map<string, string>();
  for (const [key, a] of rebuilt.accounts) {
    const connectionId = connectionIds.get(a.connection);
    if (!connectionId) continue;
    const fields = {
      connection_id: connectionId,
      name: a.name,
      institution_name: a.institution,
      currency: a.currency,
      status: 'open',
      positions_as_of: a.positionsAsOf,
      updated_at: tx.fn.now(),
    };
    const [row] = await tx('accounts')
      .insert({ user_id: userId, provider: a.provider, external_id: a.externalId, ...fields })
      .onConflict(['provider', 'external_id'])
      .merge(fields)
      .returning(['id', 'user_id']);
    if (row.user_id !== userId) throw new Error(`account ${a.externalId} belongs to another user`);
    accountIds.set(key, row.id);
  }
  const removed = [...live.accountKeys.entries()].filter(([, key]) => !rebuilt.accounts.has(key)).map(([id]) => id);
  if (removed.length) {
    await tx('account_positions').whereIn('account_id', removed).delete();
    await tx('cash_balances').whereIn('account_id', removed).delete();
    await tx('accounts').whereIn('id', removed).update({ status: 'removed', updated_at: tx.fn.now() });
  }
  if (goneConnections.length) {
    await tx('accounts').whereIn('connection_id', goneConnections).delete();
    await tx('brokerage_connections').whereIn('id', goneConnections).delete();
  }

  const byAccount = new Map<string, AccountPositions>();
  for (const [key, accountId] of accountIds) {
    const account = rebuilt.accounts.get(key)!;
    const synced = rebuilt.positions.get(key);
    const data = synced ?? { asOf: account.positionsAsOf ?? new Date(0).toISOString(), positions: [], balances: [] };
    const securityIds = await upsertSecurities(tx, data.positions.map((p) => p.security));
    await replaceAccountHoldings(tx, userId, accountId, data, securityIds);
    if (synced) byAccount.set(accountId, { institution: account.institution, currency: account.currency, ...synced });
  }
  const portfolio = aggregateHoldings(byAccount, { baseCurrency: rebuilt.baseCurrency, fx: live.fx });
  const held = new Set(portfolio.holdings.keys());
  const removedHoldings = [...live.comparable.holdings.keys()].filter((key) => !held.has(key));
  await writeHoldings(tx, userId, rebuilt.baseCurrency, [...portfolio.holdings.values()], removedHoldings);

  // Orders the fold has are written as it has them (an order names its account by row id, or by
  // provider key, mapped here). Orders only the live rows have are left: they are reported.
  const rowIdOf = new Map<string, string>([...live.accountKeys].map(([id, key]) => [key, id]));
  for (const [key, id] of accountIds) rowIdOf.set(key, id);
  for (const order of rebuilt.orders.values()) {
    const accountId = live.accountKeys.has(order.accountId) ? order.accountId : rowIdOf.get(order.accountId);
    if (!accountId) continue;
    const row = orderToRow(userId, { ...order, accountId });
    const { id: _id, user_id: _user, client_order_id: _client, ...changes } = row;
    await tx('orders').insert(row).onConflict('id').merge(changes);
  }
}
