import pino from 'pino';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startFoliostream } from '../../src/app/foliostream.ts';
import { loadConfig } from '../../src/config/config.ts';
import { createDatabase } from '../../src/db/knex.ts';
import { migrateLatest, migrateRollback } from '../../src/db/migration-source.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';

const TABLES = [
  'users',
  'snaptrade_users',
  'brokerage_connections',
  'accounts',
  'securities',
  'account_positions',
  'holdings',
  'cash_balances',
  'actor_checkpoints',
  'partition_fences',
  'webhook_inbox',
  'orders',
  'portfolio_snapshots',
  'fx_rates',
  'sync_runs',
  'deleted_users',
  'replay_reports',
  'order_requests',
  'portfolio_daily_closes',
  'activities',
  'fx_rates_daily',
  'account_daily_closes',
];

async function tables(db: TestDatabase): Promise<string[]> {
  const rows = await db.knex('pg_tables').where({ schemaname: 'public' }).select('tablename');
  return rows.map((r: { tablename: string }) => r.tablename).filter((t) => !t.startsWith('knex_'));
}

describe('migrations', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase({ migrate: false });
  });
  afterAll(async () => {
    await db.drop();
  });

  it('go up, down and up again on a clean database', async () => {
    const all = await migrateLatest(db.knex);
    expect(all[0]).toBe('20261126000000_initial_schema.ts');
    expect(all).toContain('20261126040000_position_previous_close.ts');
    expect(all).toContain('20261130000000_snaptrade_registration_state.ts');
    expect((await tables(db)).sort()).toEqual([...TABLES].sort());
    await migrateRollback(db.knex, true);
    expect(await tables(db)).toEqual([]);
    expect(await migrateLatest(db.knex)).toEqual(all);
    expect((await tables(db)).sort()).toEqual([...TABLES].sort());
    expect(await migrateLatest(db.knex)).toEqual([]);
  });
});

describe('processes that start at once on a fresh database', () => {
  it('migrate it once between them, and none of them fails', async () => {
    const db = await createTestDatabase({ migrate: false });
    // Three pools, as three processes would have (web, worker, market starting together).
    const pools = [0, 1, 2].map(() => createDatabase({ url: db.url, poolMax: 2 }));
    try {
      const results = await Promise.allSettled(pools.map((knex) => migrateLatest(knex)));
      expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled']);
      const applied = results.map((r) => (r as PromiseFulfilledResult<string[]>).value.length);
      expect(applied.filter((n) => n > 0)).toHaveLength(1);
      expect((await tables(db)).sort()).toEqual([...TABLES].sort());
    } finally {
      await Promise.all(pools.map((knex) => knex.destroy()));
      await db.drop();
    }
  });
});

describe('with MIGRATE_ON_START=false (a release step migrates)', () => {
  it('a process refuses to start while migrations are pending, naming them, and changes nothing', async () => {
    const db = await createTestDatabase({ migrate: false });
    try {
      const config = loadConfig({ NODE_ENV: 'test', MIGRATE_ON_START: 'false', DATABASE_URL: db.url, REDIS_URL: inject('redisUrl'), ROLES: 'worker' });
      await expect(startFoliostream(config, pino({ level: 'silent' }), { namespace: `migrate-refused-${Date.now()}` })).rejects.toThrow(
        /^MIGRATE_ON_START is false and the database has \d+ pending migration\(s\) \(20261126000000_initial_schema\.ts, .*run the release step \(npm run migrate:latest\) first$/,
      );
      expect(await tables(db)).toEqual([]);
    } finally {
      await db.drop();
    }
  });
});

describe('schema constraints make bad states impossible', () => {
  let db: TestDatabase;
  let connectionA: string;
  let accountA: string;
  let security: string;
  beforeAll(async () => {
    db = await createTestDatabase();
    const k = db.knex;
    await k('users').insert([{ id: 'alice' }, { id: 'bob' }]);
    [{ id: connectionA }] = await k('brokerage_connections')
      .insert({ user_id: 'alice', provider: 'snaptrade', external_id: 'auth-1' })
      .returning('id');
    [{ id: accountA }] = await k('accounts')
      .insert({
        user_id: 'alice',
        connection_id: connectionA,
        provider: 'snaptrade',
        external_id: 'acc-1',
        institution_name: 'Questrade',
        currency: 'CAD',
      })
      .returning('id');
    [{ id: security }] = await k('securities')
      .insert({ identity_key: 'figi:BBG000B9XRY4', figi: 'BBG000B9XRY4', ticker: 'AAPL', exchange_mic: 'XNAS', currency: 'USD' })
      .returning('id');
  });
  afterAll(async () => {
    await db.drop();
  });

  it('refuses an account that points at another user\'s connection', async () => {
    await expect(
      db.knex('accounts').insert({
        user_id: 'bob',
        connection_id: connectionA,
        provider: 'snaptrade',
        external_id: 'acc-2',
        institution_name: 'Questrade',
        currency: 'USD',
      }),
    ).rejects.toThrow(/foreign key/);
  });

  it('refuses a position with zero quantity or under another user', async () => {
    const base = { account_id: accountA, security_id: security, currency: 'USD', as_of: new Date() };
    await expect(db.knex('account_positions').insert({ ...base, user_id: 'alice', quantity: 0 })).rejects.toThrow(
      /account_positions_nonzero/,
    );
    await expect(db.knex('account_positions').insert({ ...base, user_id: 'bob', quantity: 1 })).rejects.toThrow(
      /foreign key/,
    );
  });

  it('refuses an order with both or neither of quantity and notional, or a limit order without a price', async () => {
    const base = {
      user_id: 'alice',
      account_id: accountA,
      provider: 'snaptrade',
      symbol: 'AAPL',
      side: 'buy',
    };
    await expect(
      db.knex('orders').insert({ ...base, client_order_id: 'o1', order_type: 'market', quantity: 1, notional: 100 }),
    ).rejects.toThrow(/orders_quantity_xor_notional/);
    await expect(
      db.knex('orders').insert({ ...base, client_order_id: 'o2', order_type: 'limit', quantity: 1 }),
    ).rejects.toThrow(/orders_limit_price_iff_limit/);
    await db.knex('orders').insert({ ...base, client_order_id: 'o3', order_type: 'market', quantity: 1 });
    await expect(
      db.knex('orders').insert({ ...base, client_order_id: 'o3', order_type: 'market', quantity: 2 }),
    ).rejects.toThrow(/unique/);
  });

  it('refuses a connection secret in clear and Alpaca credentials on a SnapTrade connection', async () => {
    await expect(
      db.knex('snaptrade_users').insert({ user_id: 'bob', snaptrade_user_id: 'st-bob', user_secret_sealed: 'plain' }),
    ).rejects.toThrow(/snaptrade_users_secret_sealed/);
    await expect(
      db.knex('brokerage_connections').insert({
        user_id: 'bob',
        provider: 'snaptrade',
        external_id: 'auth-9',
        credentials_sealed: 'v1.a.b.c',
      }),
    ).rejects.toThrow(/brokerage_connections_credentials_only_for_alpaca/);
  });

  it('orders checkpoints by stream id and exposes the id as text', async () => {
    await db.knex('actor_checkpoints').insert({
      user_id: 'alice',
      partition: 3,
      last_stream_ms: 1732579200000,
      last_stream_seq: 7,
      fencing_token: 2,
    });
    const row = await db.knex('actor_checkpoints').where({ user_id: 'alice' }).first();
    expect(row.last_stream_id).toBe('1732579200000-7');
  });

  it('removes everything of a purged user', async () => {
    await db.knex('users').where({ id: 'alice' }).delete();
    for (const table of ['brokerage_connections', 'accounts', 'orders']) {
      expect(await db.knex(table).where({ user_id: 'alice' }).count('* as n').first()).toEqual({ n: 0 });
    }
  });
});
