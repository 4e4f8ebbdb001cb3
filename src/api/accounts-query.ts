import type { Knex } from '../db/knex.ts';
import type { AccountView } from './schemas.ts';

/** An account as `GET /api/accounts` lists it (`accountView` in `schemas.ts`). */
export type { AccountView };

const iso = (value: Date | null | undefined) => (value ? value.toISOString() : null);

/** The user's accounts with their connection's status and cash; removed accounts are left out. */
export async function listAccounts(db: Knex, userId: string): Promise<AccountView[]> {
  const rows = await db('accounts as a')
    .join('brokerage_connections as c', 'c.id', 'a.connection_id')
    .where('a.user_id', userId)
    .whereNot('a.status', 'removed')
    .orderBy(['a.institution_name', 'a.name', 'a.id'])
    .select(
      'a.*',
      'c.brokerage_name as connection_brokerage',
      'c.status as connection_status',
      'c.status_reason as connection_status_reason',
    );
  const cash = await db('cash_balances').where({ user_id: userId }).orderBy(['account_id', 'currency']);
  return rows.map((row) => ({
    id: row.id,
    provider: row.provider,
    externalId: row.external_id,
    name: row.name,
    numberMasked: row.number_masked,
    institutionName: row.institution_name,
    currency: row.currency,
    tradingAllowed: row.trading_allowed,
    status: row.status,
    positionsAsOf: iso(row.positions_as_of),
    lastSyncedAt: iso(row.last_synced_at),
    connection: {
      id: row.connection_id,
      brokerage: row.connection_brokerage,
      status: row.connection_status,
      statusReason: row.connection_status_reason,
    },
    cash: cash
      .filter((c) => c.account_id === row.id)
      .map((c) => ({ currency: c.currency, amount: c.amount, buyingPower: c.buying_power, asOf: c.as_of.toISOString() })),
  }));
}
