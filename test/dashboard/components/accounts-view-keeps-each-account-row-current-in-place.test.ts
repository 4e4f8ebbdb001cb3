// @vitest-environment happy-dom
import { afterEach, describe, expect, it } from 'vitest';
import { createPortfolioStore } from '../../../src/realtime/client/portfolio-store.ts';
import { accountViews } from '../../../src/realtime/dashboard/browser/accounts-model.ts';
import { createAccountsView } from '../../../src/realtime/dashboard/browser/accounts-view.ts';
import { fakeSocket } from './fake-socket.ts';
import { ACCOUNT_ID, CONNECTION_ID, accountOf, holdingOf, snapshotOf, totalsFor } from './portfolio-fixtures.ts';

/**
 * accounts-view.ts over the real store and model (as view.ts wires them): each account's value,
 * cash, connection state and last sync in words, its holdings largest first; a tick, a failed
 * sync or a broken connection moves the same row, never a new one.
 */

afterEach(() => document.body.replaceChildren());

function mount() {
  const server = fakeSocket();
  const store = createPortfolioStore(server.socket);
  const view = createAccountsView();
  document.body.append(view.element);
  const draw = () => view.render(accountViews(store.brokerages().connections, store.holdings()), store.state?.baseCurrency ?? 'USD');
  store.subscribe(draw);
  const row = () => view.element.querySelector<HTMLElement>(`tr.account[data-account-id="${ACCOUNT_ID}"]`)!;
  const cell = (field: string) => row().querySelector<HTMLElement>(`td[data-field="${field}"]`)!.textContent;
  const chips = () => Array.from(view.element.querySelectorAll<HTMLElement>(`tr[data-holdings-of="${ACCOUNT_ID}"] li b`)).map((b) => b.textContent);
  return { server, store, view, draw, row, cell, chips };
}

const AAPL = holdingOf('AAPL', { marketValueBase: '300.00' });
const MSFT = holdingOf('MSFT', { marketValueBase: '500.00' });

describe('the accounts view', () => {
  it('says "No accounts yet" before any account is listed', () => {
    const { draw, view } = mount();
    draw();
    expect(view.element.querySelector('td.empty')?.textContent).toBe('No accounts yet');
  });

  it('shows each account with its value, cash, connection and holdings, largest first', () => {
    const { server, cell, chips, store } = mount();
    server.serverSends('portfolio:snapshot', snapshotOf([AAPL, MSFT], { accounts: [accountOf({ cashBase: '25.50' })] }));
    expect(cell('institution')).toBe('Questrade');
    expect(cell('name')).toBe('TFSAQuestrade');
    expect(cell('value')).toMatch(/825\.50/);
    expect(cell('cash')).toMatch(/25\.50/);
    expect(cell('connection')).toBe('active');
    expect(chips()).toEqual(['MSFT', 'AAPL']);
    store.dispose();
  });

  it('a tick, a failed sync and a broken connection move the same row, in words', () => {
    const { server, row, cell, chips, store } = mount();
    server.serverSends('portfolio:snapshot', snapshotOf([AAPL, MSFT]));
    const first = row();
    const tickedAapl = holdingOf('AAPL', { marketValueBase: '900.00' });
    server.serverSends('portfolio:delta', { seq: 1, asOf: new Date().toISOString(), totals: totalsFor([tickedAapl, MSFT]), upserted: [tickedAapl], repriced: [], removed: [] });
    expect(cell('value')).toMatch(/1,400\.00/);
    expect(row().querySelector('td[data-field="value"]')!.classList.contains('flash-up')).toBe(true);
    expect(chips()).toEqual(['AAPL', 'MSFT']);
    server.serverSends('sync:status', { state: 'failed', accountId: ACCOUNT_ID, message: 'the brokerage timed out', at: new Date().toISOString() });
    expect(cell('synced')).toBe('failed: the brokerage timed out');
    server.serverSends('connection:status', { connectionId: CONNECTION_ID, brokerage: 'Questrade', status: 'broken', message: 'log in again', at: new Date().toISOString() });
    expect(cell('connection')).toBe('needs reconnecting');
    expect(row()).toBe(first);
    store.dispose();
  });

  it('marks a value that leaves something out as a lower bound', () => {
    const { server, cell, row, store } = mount();
    server.serverSends('portfolio:snapshot', snapshotOf([AAPL, holdingOf('XIU', { marketValueBase: null, price: null })]));
    expect(cell('value')).toMatch(/^≥ .*300\.00/);
    expect(row().querySelector<HTMLElement>('td[data-field="value"]')!.title).toMatch(/at least this/);
    store.dispose();
  });
});
