import { io as connectClient, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClientToServerEvents, HoldingView, PortfolioDelta, ServerToClientEvents } from '../../src/realtime/events.ts';
import { eventually, startTestEngine, type TestEngine } from '../support/engine.ts';
import { userSettled } from '../support/user-stream.ts';

/**
 * `DELETE /api/alpaca/accounts/:accountId` of one's own linked Alpaca account: 204; the user
 * sync it starts lists the Alpaca accounts without it, so its holdings leave the portfolio (a
 * security also held at a SnapTrade account is re-aggregated to that one), the open browser is
 * told, and the market role closes the account's trade_updates stream.
 */
const USER = 'e2e-alpaca-unlink-user';
let engine: TestEngine;

beforeAll(async () => {
  engine = await startTestEngine({ env: { ALPACA_LINK_REFRESH_MS: '200' } });
});
afterAll(async () => {
  await engine?.stop();
});

async function holdings(): Promise<HoldingView[]> {
  return (await engine.api<{ holdings: HoldingView[] }>(USER, 'GET', '/api/portfolio')).body.holdings;
}

const summary = (list: HoldingView[]) => Object.fromEntries(list.map((h) => [h.symbol, h.quantity]));

describe('unlinking an Alpaca account', () => {
  it('answers 204, removes its holdings from the portfolio (pushed), and closes its trade-update stream', async () => {
    const { sandbox } = engine;
    const alpaca = sandbox.alpaca.createAccount({ cash: 10_000 });
    sandbox.alpaca.setPositions(alpaca.keyId, [
      { symbol: 'AAPL', qty: 2, avgEntryPrice: 150 },
      { symbol: 'GOOGL', qty: 3, avgEntryPrice: 100 },
    ]);
    expect((await engine.api(USER, 'POST', '/api/snaptrade/connection-url', {})).status).toBe(200);
    const auth = await sandbox.control.connect(USER, {
      brokerage: 'QUESTRADE',
      accounts: [{ name: 'Margin', currency: 'USD', positions: [{ symbol: 'AAPL', units: 10 }] }],
    });
    const linked = await engine.api<{ accountId: string }>(USER, 'POST', '/api/alpaca/accounts', { keyId: alpaca.keyId, secretKey: alpaca.secretKey });
    expect(linked.status).toBe(201);
    const alpacaAccountId = linked.body.accountId;
    await sandbox.control.waitForWebhooks((d) => d.filter((x) => x.state === 'delivered').length >= 3, { userId: USER });
    await eventually(async () => (summary(await holdings()).GOOGL === '3' ? true : undefined), 15_000, 'the Alpaca holdings');
    await userSettled(engine, USER);
    expect(summary(await holdings())).toEqual({ AAPL: '12', GOOGL: '3' });
    // The market role listens to the linked account's trade updates.
    await eventually(async () => (sandbox.alpaca.connectionCounts().tradeUpdates === 1 ? true : undefined), 10_000, 'the trade_updates stream');

    const rows = await engine.db.knex('accounts').where({ user_id: USER }).select('id', 'provider', 'external_id');
    const alpacaRow = rows.find((r) => r.provider === 'alpaca')!;
    const snaptradeRow = rows.find((r) => r.provider === 'snaptrade' && r.external_id === auth.accounts[0]!.id)!;
    const before = await holdings();

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

      const response = await fetch(`${engine.url}/api/alpaca/accounts/${alpacaAccountId}`, {
        method: 'DELETE',
        headers: { authorization: `Bearer ${await engine.token(USER)}` },
      });
      expect(response.status).toBe(204);
      expect(await response.text()).toBe('');

      // The unlink's user sync: an Alpaca listing without the account, applied.
      await engine.applied(USER, (e) => {
        const payload = e.payload as { provider?: string; accounts?: unknown[] };
        return e.type === 'accounts.synced' && payload.provider === 'alpaca' && payload.accounts?.length === 0;
      }, 10_000);
      const after = await holdings();
      expect(after.map((h) => ({ symbol: h.symbol, quantity: h.quantity, accounts: h.accounts.map((a) => a.accountId) }))).toEqual([
        { symbol: 'AAPL', quantity: '10', accounts: [snaptradeRow.id] },
      ]);
      expect(await engine.db.knex('accounts').where({ id: alpacaRow.id }).first('status')).toEqual({ status: 'removed' });
      expect(await engine.db.knex('account_positions').where({ account_id: alpacaRow.id }).count({ n: '*' }).first()).toEqual({ n: 0 });
      expect(
        await engine.db.knex('brokerage_connections').where({ user_id: USER, provider: 'alpaca' }).first('status'),
      ).toEqual({ status: 'removed' });
      const accounts = (await engine.api<{ accounts: { id: string }[] }>(USER, 'GET', '/api/accounts')).body.accounts;
      expect(accounts.map((a) => a.id)).toEqual([snaptradeRow.id]);

      // Pushed: GOOGL removed, AAPL down to the SnapTrade account's 10.
      const googl = before.find((h) => h.symbol === 'GOOGL')!;
      const aapl = before.find((h) => h.symbol === 'AAPL')!;
      await eventually(
        async () =>
          deltas.some((d) => d.removed.includes(googl.id)) &&
          deltas.flatMap((d) => d.upserted).filter((h) => h.id === aapl.id).at(-1)?.quantity === '10'
            ? true
            : undefined,
        10_000,
        'the unlink pushed to the browser',
      );

      // The market role closes the account's trade_updates stream.
      await eventually(async () => (sandbox.alpaca.connectionCounts().tradeUpdates === 0 ? true : undefined), 10_000, 'the stream to close');
    } finally {
      socket.disconnect();
    }
  });
});
