import type { AccountModel, PortfolioStore, StoreEvent } from '../../client/portfolio-store.ts';
import type { HoldingView, PortfolioTotals } from '../../events.ts';
import { money, price, quantity, sign, time } from './format.ts';

/** Plain-DOM rendering of the dashboard: keyed rows updated in place, changed cells flashed. */

export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string> = {},
  ...children: (Node | string)[]
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
  node.append(...children);
  return node;
}

const FLASHES = ['flash-up', 'flash-down', 'flash'];

/** A holding's day change when it has none: the reason (the totals leave it out). */
const DAY_CHANGE_MISSING: Record<NonNullable<HoldingView['dayChangeMissing']>, string> = {
  'no-price': 'no price',
  'no-previous-close': 'no prev. close',
  'no-fx-rate': 'no FX rate',
};

/** Sets a cell's text; when it changed (not on first fill), flashes it up, down or neutral. */
function setCell(cell: HTMLElement, text: string, numeric: string | null, extraClass = ''): void {
  const previous = cell.dataset.value;
  const changed = cell.textContent !== text && cell.dataset.filled === '1';
  const flashing = FLASHES.find((f) => cell.classList.contains(f));
  cell.textContent = text;
  cell.dataset.filled = '1';
  cell.dataset.value = numeric ?? '';
  if (!changed) {
    cell.className = flashing ? `${extraClass} ${flashing}` : extraClass;
    return;
  }
  const before = previous ? Number(previous) : NaN;
  const after = numeric !== null ? Number(numeric) : NaN;
  const direction = after > before ? 'flash-up' : after < before ? 'flash-down' : 'flash';
  cell.className = extraClass;
  void cell.offsetWidth; // restart the animation when the cell changes again while flashing
  cell.classList.add(direction);
  cell.dataset.changes = String(Number(cell.dataset.changes ?? '0') + 1);
}

/** Why the page cannot show the portfolio: the token was refused (`expired`, `invalid`). */
export function renderSessionProblem(root: HTMLElement, problem: 'expired' | 'invalid'): void {
  const title = problem === 'expired' ? 'Your sign-in has expired' : 'This sign-in is not valid';
  const text =
    problem === 'expired'
      ? 'For your safety, sign-ins last a limited time. Sign in again to see your portfolio.'
      : 'The server did not accept the sign-in this page had (it may be from another server, or damaged). Sign in again to see your portfolio.';
  root.replaceChildren(
    el(
      'main',
      { class: 'login', 'data-testid': 'session-problem', 'data-problem': problem },
      el('h1', {}, title),
      el('p', {}, text),
      el('p', {}, el('a', { class: 'button primary', href: `/signin?reason=${problem}`, 'data-testid': 'sign-in-again' }, 'Sign in again')),
    ),
  );
}

const TOTALS: { key: Exclude<keyof PortfolioTotals, 'holdingsCount' | 'dayChangeHoldings'>; label: string; signed?: boolean }[] = [
  { key: 'totalValue', label: 'Total value' },
  { key: 'cash', label: 'Cash' },
  { key: 'invested', label: 'Invested' },
  { key: 'costBasis', label: 'Cost basis' },
  { key: 'unrealizedPl', label: 'Unrealized P/L', signed: true },
  { key: 'dayChange', label: 'Day change', signed: true },
];

/** A connection state in words. */
const CONNECTION_LABELS: Record<string, string> = {
  active: 'active',
  broken: 'needs reconnecting',
  disabled: 'disabled',
  removed: 'removed',
  needs_relink: 'needs re-link',
};

function connectionLabel(status: string): string {
  return CONNECTION_LABELS[status] ?? status;
}

function accountSync(account: AccountModel): string {
  if (account.sync?.state === 'syncing') return 'syncing…';
  if (account.sync?.state === 'failed') return `failed: ${account.sync.message ?? 'no reason given'}`;
  return account.syncedAt ? time(account.syncedAt) : 'not yet';
}

const COLUMNS = ['Symbol', 'Quantity', 'Price', 'Value', 'Unrealized P/L', 'Day change', 'Accounts'];

interface HoldingRow {
  row: HTMLTableRowElement;
  cells: Record<'symbol' | 'quantity' | 'price' | 'value' | 'pl' | 'day' | 'accounts', HTMLTableCellElement>;
  detail: HTMLTableRowElement;
  expanded: boolean;
}

export function renderDashboard(
  root: HTMLElement,
  store: PortfolioStore,
  hooks: {
    /** The socket's token was refused: the page shows why (`renderSessionProblem`). */
    onTokenRefused: (problem: 'expired' | 'invalid') => void;
    /** The signed-in user (shown with Sign out). */
    userId?: string | null;
    onSignOut?: () => void;
  },
): void {
  const connection = el('span', { class: 'pill', 'data-testid': 'connection' }, 'connecting…');
  const meta = el('span', { class: 'meta', 'data-testid': 'meta' }, '');
  const signOut = el('button', { type: 'button', class: 'link', 'data-testid': 'sign-out' }, 'Sign out');
  signOut.addEventListener('click', () => hooks.onSignOut?.());
  const who = el('span', { class: 'who' }, ...(hooks.userId ? [el('span', { class: 'muted', 'data-testid': 'user-id' }, hooks.userId)] : []), signOut);
  const totalCells = new Map<keyof PortfolioTotals, HTMLElement>();
  const totals = el('div', { class: 'totals' });
  for (const { key, label } of TOTALS) {
    const value = el('div', { class: 'value', 'data-total': key }, '—');
    totalCells.set(key, value);
    totals.append(el('div', { class: 'card' }, el('div', { class: 'label' }, label), value));
  }
  const tbody = el('tbody');
  const holdingsTable = el(
    'table',
    { 'data-testid': 'holdings' },
    el('thead', {}, el('tr', {}, ...COLUMNS.map((c) => el('th', {}, c)))),
    tbody,
  );
  const accountsBody = el('tbody');
  const accountsTable = el(
    'table',
    { 'data-testid': 'accounts' },
    el('thead', {}, el('tr', {}, ...['Institution', 'Account', 'Status', 'Connection', 'Last synced'].map((c) => el('th', {}, c)))),
    accountsBody,
  );

  root.replaceChildren(
    el('header', {}, el('h1', {}, 'foliostream'), connection, meta, who),
    el(
      'main',
      {},
      totals,
      el('section', {}, el('h2', {}, 'Holdings'), holdingsTable),
      el('section', {}, el('h2', {}, 'Accounts'), accountsTable),
    ),
  );

  const rows = new Map<string, HoldingRow>();

  function holdingRow(holding: HoldingView): HoldingRow {
    let entry = rows.get(holding.id);
    if (entry) return entry;
    const cell = () => el('td');
    const cells = {
      symbol: cell(),
      quantity: cell(),
      price: cell(),
      value: cell(),
      pl: cell(),
      day: cell(),
      accounts: cell(),
    };
    const row = el('tr', { class: 'holding', 'data-holding-id': holding.id, 'data-symbol': holding.symbol });
    for (const [field, td] of Object.entries(cells)) {
      td.dataset.field = field;
      row.append(td);
    }
    const detail = el('tr', { class: 'detail', hidden: '' });
    const created: HoldingRow = { row, cells, detail, expanded: false };
    row.addEventListener('click', () => {
      created.expanded = !created.expanded;
      detail.hidden = !created.expanded;
      const current = store.state?.holdings.get(holding.id);
      if (current) fillHolding(created, current);
    });
    rows.set(holding.id, created);
    entry = created;
    return entry;
  }

  function fillHolding(entry: HoldingRow, h: HoldingView): void {
    const base = store.state?.baseCurrency ?? 'USD';
    const { cells } = entry;
    cells.symbol.className = 'symbol';
    cells.symbol.replaceChildren(
      el('span', { class: 'caret' }, entry.expanded ? '▾' : '▸'),
      el('b', {}, h.symbol),
      ...(h.description ? [el('span', { class: 'desc' }, h.description)] : []),
    );
    setCell(cells.quantity, quantity(h.quantity), h.quantity);
    setCell(cells.price, price(h.price, h.currency), h.price);
    setCell(cells.value, money(h.marketValueBase, base), h.marketValueBase);
    setCell(cells.pl, money(h.unrealizedPl, h.currency), h.unrealizedPl, sign(h.unrealizedPl));
    setCell(cells.day, h.dayChangeMissing ? DAY_CHANGE_MISSING[h.dayChangeMissing] : money(h.dayChange, h.currency), h.dayChange, h.dayChangeMissing ? 'muted' : sign(h.dayChange));
    // No live feed: the brokerage's price, with its time.
    if (h.priceStale) cells.price.title = `brokerage price as of ${time(h.priceAsOf)}`;
    setCell(cells.accounts, `${h.accounts.length} ${h.accounts.length === 1 ? 'account' : 'accounts'}`, null, 'muted');
    if (entry.expanded) {
      entry.detail.replaceChildren(
        el(
          'td',
          { colspan: String(COLUMNS.length) },
          el(
            'table',
            {},
            el('thead', {}, el('tr', {}, ...['Institution', 'Account', 'Quantity', `Value (${h.currency})`].map((c) => el('th', {}, c)))),
            el(
              'tbody',
              {},
              ...h.accounts.map((a) =>
                el(
                  'tr',
                  {},
                  el('td', {}, a.institution),
                  el('td', { class: 'muted' }, accountName(a.accountId)),
                  el('td', {}, quantity(a.quantity)),
                  el('td', {}, money(a.marketValue, h.currency)),
                ),
              ),
            ),
          ),
        ),
      );
    }
  }

  function accountName(accountId: string): string {
    return store.state?.accounts.find((a) => a.id === accountId)?.name ?? accountId;
  }

  function renderHoldings(): void {
    const holdings = store.holdings();
    const seen = new Set<string>();
    for (const holding of holdings) {
      seen.add(holding.id);
      const entry = holdingRow(holding);
      fillHolding(entry, holding);
      tbody.append(entry.row, entry.detail); // appends in order; existing rows move
    }
    for (const [id, entry] of rows) {
      if (seen.has(id)) continue;
      entry.row.remove();
      entry.detail.remove();
      rows.delete(id);
    }
    if (holdings.length === 0) {
      tbody.replaceChildren(el('tr', {}, el('td', { colspan: String(COLUMNS.length), class: 'empty' }, 'No holdings yet')));
    } else {
      for (const child of Array.from(tbody.children)) if (!child.matches('tr.holding, tr.detail')) child.remove();
    }
  }

  function renderTotals(): void {
    const state = store.state;
    if (!state) return;
    for (const { key, signed } of TOTALS) {
      const value = state.totals[key];
      const cell = totalCells.get(key);
      if (cell) setCell(cell, money(value, state.baseCurrency), value, `value ${signed ? sign(value) : ''}`);
    }
    const covered = state.totals.dayChangeHoldings < state.totals.holdingsCount ? ` · day change covers ${state.totals.dayChangeHoldings} of ${state.totals.holdingsCount} holdings` : '';
    meta.textContent = `${state.baseCurrency} · as of ${time(state.asOf)}${covered}`;
  }

  /** The accounts table, from the store's model: redrawn whenever a connection, sync or snapshot moves it. */
  function renderAccounts(): void {
    const connections = store.brokerages().connections;
    const accounts = connections.flatMap((c) => c.accounts.map((a) => ({ a, c })));
    if (accounts.length === 0) {
      accountsBody.replaceChildren(el('tr', {}, el('td', { colspan: '5', class: 'empty' }, 'No accounts yet')));
      return;
    }
    accountsBody.replaceChildren(
      ...accounts.map(({ a, c }) =>
        el(
          'tr',
          { 'data-account-id': a.id },
          el('td', {}, c.brokerage ?? a.institution),
          el('td', {}, a.name),
          el('td', {}, a.status),
          el('td', { class: c.status === 'active' ? 'pos' : 'neg' }, connectionLabel(c.status)),
          el('td', { class: a.sync?.state === 'failed' ? 'neg' : 'muted', 'data-field': 'synced' }, accountSync(a)),
        ),
      ),
    );
  }

  let ended = false;
  function onEvent(event: StoreEvent): void {
    // After the session ended (account deleted) the page stays as it says; the socket's close follows.
    if (ended) return;
    switch (event.type) {
      case 'snapshot':
        renderTotals();
        renderHoldings();
        renderAccounts();
        break;
      case 'delta':
        renderTotals();
        renderHoldings();
        break;
      case 'sync':
      case 'connection':
        renderAccounts();
        break;
      case 'gap':
        connection.textContent = 'resyncing…';
        break;
      case 'ended':
        ended = true;
        connection.textContent = 'signed out';
        connection.className = 'pill bad';
        meta.textContent = '';
        root.querySelector('main')?.replaceChildren(
          el('section', { 'data-testid': 'session-ended' }, el('h2', {}, event.ended.message), el('p', {}, 'Nothing of it is kept here. Close this page.')),
        );
        return;
      case 'socket':
        if (event.connected) {
          connection.textContent = 'live';
          connection.className = 'pill ok';
        } else if (event.error?.code?.startsWith('FS_RT_TOKEN')) {
          connection.textContent = event.error.code === 'FS_RT_TOKEN_EXPIRED' ? 'token expired' : 'token refused';
          connection.className = 'pill bad';
          ended = true;
          hooks.onTokenRefused(event.error.code === 'FS_RT_TOKEN_EXPIRED' ? 'expired' : 'invalid');
        } else {
          connection.textContent = 'reconnecting…';
          connection.className = 'pill bad';
        }
        break;
    }
    if (event.type === 'snapshot' || event.type === 'delta') {
      connection.textContent = 'live';
      connection.className = 'pill ok';
    }
  }

  store.subscribe(onEvent);
  if (store.state) onEvent({ type: 'snapshot', seq: store.state.seq });
}
