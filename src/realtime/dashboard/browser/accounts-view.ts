import type { AccountModel } from '../../client/portfolio-store.ts';
import type { AccountView } from './accounts-model.ts';
import { el, setCell } from './dom.ts';
import { listingPrice, money, quantity, time } from './format.ts';

/**
 * The Accounts view: each account with its institution, name, value and cash in the base currency,
 * its connection's state, its last sync, and the holdings it holds (largest first). Rows are keyed
 * by account and updated in place from the store (a tick moves the values, a sync the cash, a
 * connection event the state), so it never needs a reload.
 */

/** A connection state in words. */
const CONNECTION_LABELS: Record<string, string> = {
  active: 'active',
  broken: 'needs reconnecting',
  disabled: 'disabled',
  removed: 'removed',
  needs_relink: 'needs re-link',
};

function accountSync(account: AccountModel): string {
  if (account.sync?.state === 'syncing') return 'syncing…';
  if (account.sync?.state === 'failed') return `failed: ${account.sync.message ?? 'no reason given'}`;
  return account.syncedAt ? time(account.syncedAt) : 'not yet';
}

const COLUMNS = ['Institution', 'Account', 'Value', 'Cash', 'Connection', 'Last synced'];

interface Row {
  row: HTMLTableRowElement;
  cells: Record<'institution' | 'name' | 'value' | 'cash' | 'connection' | 'synced', HTMLTableCellElement>;
  holdings: HTMLTableRowElement;
}

export interface AccountsView {
  element: HTMLElement;
  render(accounts: readonly AccountView[], baseCurrency: string): void;
}

export function createAccountsView(): AccountsView {
  const tbody = el('tbody');
  const table = el(
    'table',
    { 'data-testid': 'accounts', class: 'accounts' },
    el('thead', {}, el('tr', {}, ...COLUMNS.map((c) => el('th', { scope: 'col' }, c)))),
    tbody,
  );
  const rows = new Map<string, Row>();

  function rowFor(id: string): Row {
    const known = rows.get(id);
    if (known) return known;
    const cell = (field: string) => el('td', { 'data-field': field });
    const cells = {
      institution: cell('institution'),
      name: cell('name'),
      value: cell('value'),
      cash: cell('cash'),
      connection: cell('connection'),
      synced: cell('synced'),
    };
    const created: Row = {
      row: el('tr', { class: 'account', 'data-account-id': id }, ...Object.values(cells)),
      cells,
      holdings: el('tr', { class: 'account-holdings', 'data-holdings-of': id }),
    };
    rows.set(id, created);
    return created;
  }

  function render(accounts: readonly AccountView[], base: string): void {
    const seen = new Set<string>();
    for (const view of accounts) {
      const { account, connection } = view;
      seen.add(account.id);
      const { row, cells, holdings } = rowFor(account.id);
      const institution = connection.brokerage ?? account.institution;
      setCell(cells.institution, institution, null);
      // The institution under the name too, for narrow screens where its column is hidden.
      setCell(cells.name, `${account.name} ${institution}`, null, '', () => [
        el('span', { class: 'main' }, account.name),
        el('span', { class: 'institution-line' }, institution),
      ]);
      setCell(cells.value, `${view.incomplete ? '≥ ' : ''}${money(view.value, base)}`, view.value);
      cells.value.title = view.incomplete ? 'Something in this account has no price, no FX rate or no cash balance yet: the value is at least this' : '';
      setCell(cells.cash, money(view.cash, base), view.cash, view.cash === null ? 'muted' : '');
      setCell(cells.connection, CONNECTION_LABELS[connection.status] ?? connection.status, null, connection.status === 'active' ? 'pos' : 'neg');
      setCell(cells.synced, accountSync(account), null, account.sync?.state === 'failed' ? 'neg' : 'muted');
      // Redrawn only when something in it changed (a tick moves one chip's value, most move none).
      const key = `${base}|${view.holdings.map((l) => `${l.holdingId}:${l.quantity}:${l.marketValueBase}:${l.marketValue}`).join('|')}`;
      if (holdings.dataset.key !== key) {
        holdings.dataset.key = key;
        fillHoldings(holdings, view, base);
      }
      tbody.append(row, holdings); // in the model's order; existing rows move
    }
    for (const [id, entry] of rows) {
      if (seen.has(id)) continue;
      entry.row.remove();
      entry.holdings.remove();
      rows.delete(id);
    }
    for (const child of Array.from(tbody.children)) if (!child.matches('tr.account, tr.account-holdings')) child.remove();
    if (accounts.length === 0) tbody.replaceChildren(el('tr', {}, el('td', { colspan: String(COLUMNS.length), class: 'empty' }, 'No accounts yet')));
  }

  /** An account's holdings, largest first, as chips (symbol, quantity, value; the listing-currency value beside a foreign one). */
  function fillHoldings(holdings: HTMLTableRowElement, view: AccountView, base: string): void {
    const list =
      view.holdings.length === 0
        ? [el('li', { class: 'muted' }, 'No holdings')]
        : view.holdings.map((line) =>
            el(
              'li',
              { 'data-holding-id': line.holdingId, title: line.description ?? line.symbol },
              el('b', {}, line.symbol),
              el('span', { class: 'muted' }, quantity(line.quantity)),
              el('span', { 'data-field': 'holding-value' }, money(line.marketValueBase, base)),
              ...(line.currency !== base ? [el('span', { class: 'listing' }, listingPrice(line.marketValue, line.currency))] : []),
            ),
          );
    holdings.replaceChildren(el('td', { colspan: String(COLUMNS.length) }, el('ul', { class: 'account-holdings', 'aria-label': `Holdings of ${view.account.name}` }, ...list)));
  }

  // A box that scrolls sideways on a phone: focusable (and named) so a keyboard can scroll it.
  return { element: el('div', { class: 'table-scroll', tabindex: '0', role: 'region', 'aria-label': 'Accounts table' }, table), render };
}
