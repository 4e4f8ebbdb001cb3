import type { PortfolioStore, StoreEvent } from '../../client/portfolio-store.ts';
import type { PortfolioTotals } from '../../events.ts';
import { accountViews } from './accounts-model.ts';
import { createAccountsView } from './accounts-view.ts';
import { el, setCell } from './dom.ts';
import { money, sign, time } from './format.ts';
import { createHoldingsTable } from './holdings-table.ts';
import { totalsAsShown } from './pl-split.ts';
import { createTabs } from './tabs.ts';

/**
 * The dashboard's frame: the header (connection, as-of, who), the totals, and the Holdings and
 * Accounts tabs (holdings-table.ts, accounts-view.ts), all kept current from the store's events.
 */

export { el } from './dom.ts';

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
  const holdings = createHoldingsTable({
    accountName: (accountId) => store.state?.accounts.find((a) => a.id === accountId)?.name ?? accountId,
  });
  const accounts = createAccountsView();
  const tabs = createTabs('Portfolio', [
    { id: 'holdings', label: 'Holdings', panel: holdings.element },
    { id: 'accounts', label: 'Accounts', panel: accounts.element },
  ]);

  root.replaceChildren(
    el('header', {}, el('h1', {}, 'foliostream'), connection, meta, who),
    el('main', {}, totals, el('div', { class: 'portfolio-views' }, tabs.list, ...tabs.panels)),
  );

  function renderHoldings(reorder: boolean, changed?: ReadonlySet<string>): void {
    holdings.render(store.holdings(), store.state?.baseCurrency ?? 'USD', reorder, changed);
  }

  function renderTotals(): void {
    const state = store.state;
    if (!state) return;
    const shown = totalsAsShown(state.totals, store.holdings());
    for (const { key, signed } of TOTALS) {
      const value = key === 'costBasis' || key === 'unrealizedPl' ? shown[key] : state.totals[key];
      const cell = totalCells.get(key);
      if (cell) setCell(cell, money(value, state.baseCurrency), value, `value ${signed ? sign(value) : ''}`);
    }
    const plCell = totalCells.get('unrealizedPl');
    if (plCell) {
      if (shown.currencyGain === '0') plCell.removeAttribute('title');
      else plCell.title = `Includes a currency gain of ${money(shown.currencyGain, state.baseCurrency)}: costs are at the exchange rates of the purchase days where the purchases are known, as in the rows.`;
    }
    const covered = state.totals.dayChangeHoldings < state.totals.holdingsCount ? ` · day change covers ${state.totals.dayChangeHoldings} of ${state.totals.holdingsCount} holdings` : '';
    meta.textContent = `${state.baseCurrency} · as of ${time(state.asOf)}${covered}`;
  }

  /** The Accounts view, from the store's model and holdings: redrawn whenever a connection, sync, snapshot or tick moves it. */
  function renderAccounts(): void {
    accounts.render(accountViews(store.brokerages().connections, store.holdings()), store.state?.baseCurrency ?? 'USD');
  }

  let ended = false;
  function onEvent(event: StoreEvent): void {
    // After the session ended (account deleted) the page stays as it says; the socket's close follows.
    if (ended) return;
    switch (event.type) {
      case 'snapshot':
        renderTotals();
        renderHoldings(true);
        renderAccounts();
        break;
      case 'delta':
        renderTotals();
        // A price-only delta keeps the rows in place; holdings that come or go redo the order.
        renderHoldings(event.upserted.length > 0 || event.removed.length > 0, new Set([...event.upserted, ...event.repriced]));
        renderAccounts();
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
