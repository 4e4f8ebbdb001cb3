import { describe, expect, it } from 'vitest';
import type { AccountModel, ConnectionModel } from '../../src/realtime/client/portfolio-store.ts';
import type { HoldingView } from '../../src/realtime/events.ts';
import { accountViews } from '../../src/realtime/dashboard/browser/accounts-model.ts';

/**
 * The Accounts view's pure part (accounts-model.ts): each account's holdings from the holdings'
 * per-account shares, its value = Σ their base-currency values + its cash, summed exactly.
 *
 * Questrade TFSA (CAD): SHOP 100 of 160 (8,800.10 USD), cash 800.20 USD -> 9,600.30 USD
 * Questrade Margin (USD): SHOP 60 of 160 (5,280.06 USD), MSFT 3 (1,350.005 USD), cash 0.1 -> 6,630.165 USD
 *   (0.1 + 0.2 style sums that floating point gets wrong: 8800.1 + 800.2 = 9600.300000000001)
 * Alpaca (USD): TD with no CAD -> USD rate, and no cash reported -> at least 0, marked incomplete.
 */
function account(id: string, name: string, connectionId: string, cashBase: string | null): AccountModel {
  return { id, institution: 'Questrade', name, provider: 'snaptrade', status: 'open', connectionId, connectionStatus: 'active', cashBase, sync: null, syncedAt: null };
}

function connection(id: string, brokerage: string, accounts: AccountModel[]): ConnectionModel {
  return { id, provider: 'snaptrade', externalId: id, brokerage, status: 'active', reason: null, lastSyncedAt: null, accounts };
}

function holding(symbol: string, currency: string, shares: { accountId: string; quantity: string; marketValue: string | null; marketValueBase: string | null }[]): HoldingView {
  return { id: `listing:${symbol}`, symbol, description: `${symbol} Inc.`, currency, accounts: shares.map((s) => ({ institution: 'Questrade', ...s })) } as unknown as HoldingView;
}

describe('the accounts view', () => {
  const connections = [
    connection('c1', 'Questrade', [account('tfsa', 'TFSA', 'c1', '800.2'), account('margin', 'Margin', 'c1', '0.1')]),
    connection('c2', 'Alpaca', [account('alpaca', 'Paper', 'c2', null)]),
  ];
  const holdings = [
    holding('MSFT', 'USD', [{ accountId: 'margin', quantity: '3', marketValue: '1350.005', marketValueBase: '1350.005' }]),
    holding('SHOP', 'CAD', [
      { accountId: 'margin', quantity: '60', marketValue: '6600.075', marketValueBase: '5280.06' },
      { accountId: 'tfsa', quantity: '100', marketValue: '11000.125', marketValueBase: '8800.1' },
    ]),
    holding('TD', 'CAD', [{ accountId: 'alpaca', quantity: '2', marketValue: '160', marketValueBase: null }]),
  ];
  const views = accountViews(connections, holdings);
  const byId = Object.fromEntries(views.map((v) => [v.account.id, v]));

  it('lists every account of every connection, in the model order, with its holdings largest first', () => {
    expect(views.map((v) => v.account.id)).toEqual(['tfsa', 'margin', 'alpaca']);
    expect(byId.margin!.holdings.map((l) => [l.symbol, l.quantity, l.currency, l.marketValue, l.marketValueBase])).toEqual([
      ['SHOP', '60', 'CAD', '6600.075', '5280.06'],
      ['MSFT', '3', 'USD', '1350.005', '1350.005'],
    ]);
  });

  it('sums value = holdings in the base currency + cash, exactly', () => {
    expect(byId.tfsa).toMatchObject({ holdingsValue: '8800.1', cash: '800.2', value: '9600.3', incomplete: false });
    expect(byId.margin).toMatchObject({ holdingsValue: '6630.065', cash: '0.1', value: '6630.165', incomplete: false });
  });

  it('marks an account whose value misses something (a holding without an FX rate, no cash reported) as incomplete', () => {
    expect(byId.alpaca).toMatchObject({ holdingsValue: '0', cash: null, value: '0', incomplete: true });
    expect(byId.alpaca!.holdings.map((l) => l.symbol)).toEqual(['TD']);
  });
});
