import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAlpacaClient } from '../../src/providers/alpaca/client.ts';
import type { HoldingView } from '../../src/realtime/events.ts';
import { eventually, startTestEngine, type TestEngine } from '../support/engine.ts';

/**
 * An internal Alpaca account: an order filled at Alpaca (not through foliostream) reaches the
 * user's holdings through the account's trade_updates stream, with no webhook and no polling.
 * Alpaca does not replay trade updates, so a fill announced while the stream was down is caught
 * up by the sync the engine runs each time the stream opens again.
 */
const USER = 'alpaca-fill-user';
const DOWN_USER = 'alpaca-fill-while-down-user';
let engine: TestEngine;

beforeAll(async () => {
  engine = await startTestEngine({ env: { ALPACA_LINK_REFRESH_MS: '300', SYNC_DEBOUNCE_MS: '100' } });
});
afterAll(async () => {
  await engine?.stop();
});

describe('Alpaca fills', () => {
  it('a fill on a linked Alpaca account syncs that account', async () => {
    const { sandbox } = engine;
    const account = sandbox.alpaca.createAccount({ cash: 50_000 });
    sandbox.alpaca.setPositions(account.keyId, [{ symbol: 'AAPL', qty: 2, avgEntryPrice: 150 }]);
    const linked = await engine.api(USER, 'POST', '/api/alpaca/accounts', { keyId: account.keyId, secretKey: account.secretKey });
    expect(linked.status).toBe(201);

    const quantityOf = async (symbol: string) => {
      const { body } = await engine.api<{ holdings: HoldingView[] }>(USER, 'GET', '/api/portfolio');
      return body.holdings?.find((h) => h.symbol === symbol)?.quantity;
    };
    await eventually(async () => ((await quantityOf('AAPL')) === '2' ? true : undefined), 20_000, 'the linked account synced');
    // The market role opened the account's trade_updates stream.
    await eventually(async () => (sandbox.alpaca.connectionCounts().tradeUpdates > 0 ? true : undefined), 10_000, 'trade updates stream open');

    // The user trades at Alpaca directly.
    const client = createAlpacaClient({ keyId: account.keyId, secretKey: account.secretKey, tradingUrl: sandbox.alpacaUrl, dataUrl: sandbox.alpacaUrl });
    await client.sdk.trading.orders.market({ symbol: 'AAPL', qty: 3, side: 'buy' });
    await client.sdk.trading.orders.market({ symbol: 'MSFT', qty: 1, side: 'buy' });

    await eventually(
      async () => ((await quantityOf('AAPL')) === '5' && (await quantityOf('MSFT')) === '1' ? true : undefined),
      20_000,
      'the fills in the holdings',
    );
  });

  it('a fill announced while the trade updates stream was down reaches the holdings once it reopens', async () => {
    const { sandbox } = engine;
    const account = sandbox.alpaca.createAccount({ cash: 50_000 });
    sandbox.alpaca.setPositions(account.keyId, [{ symbol: 'AAPL', qty: 1, avgEntryPrice: 150 }]);
    const linked = await engine.api(DOWN_USER, 'POST', '/api/alpaca/accounts', { keyId: account.keyId, secretKey: account.secretKey });
    expect(linked.status).toBe(201);
    const quantityOf = async (symbol: string) => {
      const { body } = await engine.api<{ holdings: HoldingView[] }>(DOWN_USER, 'GET', '/api/portfolio');
      return body.holdings?.find((h) => h.symbol === symbol)?.quantity;
    };
    await eventually(async () => ((await quantityOf('AAPL')) === '1' ? true : undefined), 20_000, 'the linked account synced');
    const streams = () => sandbox.alpaca.connectionCounts().tradeUpdates;
    await eventually(async () => (streams() >= 2 ? true : undefined), 10_000, "both accounts' trade updates streams open");

    // The streams drop; the order fills before they reconnect (a second at the least), so its
    // fill is announced to no one.
    sandbox.alpaca.killTradeUpdateConnections();
    const client = createAlpacaClient({ keyId: account.keyId, secretKey: account.secretKey, tradingUrl: sandbox.alpacaUrl, dataUrl: sandbox.alpacaUrl });
    await client.sdk.trading.orders.market({ symbol: 'NVDA', qty: 4, side: 'buy' });
    expect(streams()).toBe(0);

    await eventually(async () => ((await quantityOf('NVDA')) === '4' ? true : undefined), 20_000, 'the missed fill in the holdings');
  });
});
