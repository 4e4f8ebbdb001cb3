import { io as connectClient, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClientToServerEvents, HoldingView, PortfolioDelta, ServerToClientEvents } from '../../src/realtime/events.ts';
import { eventually, startTestEngine, type TestEngine } from '../support/engine.ts';
import { userSettled, webhookType } from '../support/user-stream.ts';

/**
 * SnapTrade's ACCOUNT_REMOVED, applied by the user's actor: the account is marked removed, its
 * positions and cash are deleted, the securities it held are re-aggregated from the accounts
 * left, and the open browser gets the change as one delta.
 */
const USER = 'e2e-account-removed-user';
let engine: TestEngine;

beforeAll(async () => {
  engine = await startTestEngine();
});
afterAll(async () => {
  await engine?.stop();
});

interface PortfolioBody {
  holdings: HoldingView[];
}

async function holdings(): Promise<HoldingView[]> {
  return (await engine.api<PortfolioBody>(USER, 'GET', '/api/portfolio')).body.holdings;
}

describe('ACCOUNT_REMOVED', () => {
  it('removes the account and its positions, re-aggregates what it held, and pushes the change', async () => {
    const control = engine.sandbox.control;
    expect((await engine.api(USER, 'POST', '/api/snaptrade/connection-url', {})).status).toBe(200);
    const auth = await control.connect(USER, {
      brokerage: 'QUESTRADE',
      accounts: [
        { name: 'Margin', currency: 'USD', cash: { USD: 100 }, positions: [{ symbol: 'AAPL', units: 10 }, { symbol: 'MSFT', units: 4 }] },
        { name: 'TFSA', currency: 'USD', positions: [{ symbol: 'AAPL', units: 5 }] },
      ],
    });
    const [removed, kept] = auth.accounts as [(typeof auth.accounts)[0], (typeof auth.accounts)[0]];
    await control.waitForWebhooks((d) => d.filter((x) => x.state === 'delivered').length >= 4, { userId: USER });
    await userSettled(engine, USER);
    const before = await holdings();
    expect(Object.fromEntries(before.map((h) => [h.symbol, h.quantity]))).toEqual({ AAPL: '15', MSFT: '4' });
    const rows = await engine.db.knex('accounts').where({ user_id: USER }).select('id', 'external_id');
    const idOf = new Map(rows.map((r) => [r.external_id as string, r.id as string]));
    const removedId = idOf.get(removed.id)!;
    const keptId = idOf.get(kept.id)!;
    expect(await engine.db.knex('account_positions').where({ account_id: removedId }).count({ n: '*' }).first()).toEqual({ n: 2 });
    expect(await engine.db.knex('cash_balances').where({ account_id: removedId }).count({ n: '*' }).first()).toEqual({ n: 1 });

    // An open browser, with its snapshot.
    const socket: Socket<ServerToClientEvents, ClientToServerEvents> = connectClient(engine.url, {
      auth: { token: await engine.token(USER) },
      transports: ['websocket'],
      reconnection: false,
    });
    const deltas: PortfolioDelta[] = [];
    socket.on('portfolio:delta', (d) => deltas.push(d));
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once('portfolio:snapshot', () => resolve());
        socket.once('connect_error', reject);
      });

      await control.fireWebhook({ eventType: 'ACCOUNT_REMOVED', userId: USER, accountId: removed.id, authorizationId: auth.id });
      await engine.applied(USER, (e) => webhookType(e) === 'ACCOUNT_REMOVED', 10_000);

      // The projection, as committed with the checkpoint.
      expect(await engine.db.knex('accounts').where({ id: removedId }).first('status')).toEqual({ status: 'removed' });
      expect(await engine.db.knex('accounts').where({ id: keptId }).first('status')).toEqual({ status: 'open' });
      expect(await engine.db.knex('account_positions').where({ account_id: removedId }).count({ n: '*' }).first()).toEqual({ n: 0 });
      expect(await engine.db.knex('cash_balances').where({ account_id: removedId }).count({ n: '*' }).first()).toEqual({ n: 0 });
      const after = await holdings();
      expect(after.map((h) => ({ symbol: h.symbol, quantity: h.quantity, accounts: h.accounts.map((a) => [a.accountId, a.quantity]) }))).toEqual([
        { symbol: 'AAPL', quantity: '5', accounts: [[keptId, '5']] },
      ]);
      const accounts = (await engine.api<{ accounts: { id: string }[] }>(USER, 'GET', '/api/accounts')).body.accounts;
      expect(accounts.map((a) => a.id)).toEqual([keptId]);

      // Pushed: AAPL re-aggregated to the kept account, MSFT gone.
      const msft = before.find((h) => h.symbol === 'MSFT')!;
      const aapl = before.find((h) => h.symbol === 'AAPL')!;
      const pushed = await eventually(
        async () => {
          const removedIds = deltas.flatMap((d) => d.removed);
          const upserted = deltas.flatMap((d) => d.upserted).filter((h) => h.id === aapl.id);
          return removedIds.includes(msft.id) && upserted.at(-1)?.quantity === '5' ? { removedIds, upserted } : undefined;
        },
        10_000,
        'the delta of the removal',
      );
      expect(pushed.removedIds).toEqual([msft.id]);
      expect(pushed.upserted.at(-1)!.accounts.map((a) => [a.accountId, a.quantity])).toEqual([[keptId, '5']]);
    } finally {
      socket.disconnect();
    }
  });
});
