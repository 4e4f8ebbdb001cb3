import type { ConnectionUrlResponse, DisconnectResponse, RefreshResponse } from '../../../api/schemas.ts';
import type { AccountModel, ConnectionModel, PortfolioStore, StoreEvent } from '../../client/portfolio-store.ts';
import type { ConnectionAttempt } from '../../events.ts';
import type { ApiClient } from './api-client.ts';
import { time } from './format.ts';
import { el } from './view.ts';

/**
 * The brokerages panel: the user's connections, their accounts and syncs from the store's model,
 * in words. A new user sees an empty state with "Connect a brokerage": it asks
 * `POST /api/snaptrade/connection-url` for the portal, opens it in a window of its own, and follows
 * the connection as it lands (the attempt's outcome, the connection, the account listing, each
 * account's sync). A broken connection has Reconnect (`reconnect`), one SnapTrade no longer knows
 * has Connect again; Disconnect asks first. Refresh calls `POST /api/snaptrade/refresh` and says
 * what it did.
 */

/** SnapTrade's connection-attempt results, in words. */
const ATTEMPT_RESULTS: Record<string, string> = {
  INVALID_CREDENTIALS: 'the brokerage refused the username or password',
  INVALID_MFA_CODE: 'the two-factor code was wrong',
  AUTH_EXPIRED: 'the login took too long',
  INVALID_AUTH_CODE: 'the brokerage did not accept the authorization code',
  AUTH_NOT_IN_PROGRESS: 'the login was no longer in progress',
  DIFFERENT_ACCOUNT: 'you signed in to a different brokerage account than the one being reconnected',
  UNCAUGHT_ERROR: 'the brokerage had a problem',
  NO_DATA: 'the brokerage returned no accounts',
};

const STATUS_WORDS: Record<string, string> = {
  active: 'Connected',
  broken: 'Needs reconnecting',
  disabled: 'Disabled',
  needs_relink: 'Connect again',
  removed: 'Removed',
};

function attemptText(attempt: ConnectionAttempt): string {
  const reason = ATTEMPT_RESULTS[attempt.result] ?? 'the brokerage gave no reason';
  return `Connecting failed: ${reason} (${attempt.result}). Try again.`;
}

function accountSyncText(account: AccountModel): { text: string; state: string } {
  if (account.sync?.state === 'syncing') return { text: 'syncing…', state: 'syncing' };
  if (account.sync?.state === 'failed') return { text: `sync failed: ${account.sync.message ?? 'no reason given'}`, state: 'failed' };
  return account.syncedAt ? { text: `synced ${time(account.syncedAt)}`, state: 'idle' } : { text: 'waiting for its first sync', state: 'syncing' };
}

/** Builds the panel (a `<section>`, for the caller to place) and keeps it current. */
export function renderBrokeragesPanel(store: PortfolioStore, api: ApiClient): HTMLElement {
  const connectButton = el('button', { type: 'button', class: 'primary', 'data-testid': 'connect' }, 'Connect a brokerage');
  const refreshButton = el('button', { type: 'button', 'data-testid': 'refresh' }, 'Refresh');
  const progress = el('p', { class: 'progress', role: 'status', 'aria-live': 'polite', 'data-testid': 'brokerage-progress' });
  const refreshResult = el('p', { class: 'progress', role: 'status', 'aria-live': 'polite', 'data-testid': 'refresh-result' });
  const syncState = el('p', { class: 'muted', 'data-testid': 'sync-state' });
  const list = el('ul', { class: 'connections', 'data-testid': 'connections' });
  const empty = el(
    'div',
    { class: 'empty-state', 'data-testid': 'empty-state', hidden: '' },
    el('h3', {}, 'No brokerage connected yet'),
    el('p', {}, 'Connect a brokerage account and your holdings appear here, priced live.'),
  );
  const section = el(
    'section',
    { 'data-testid': 'brokerages', 'aria-labelledby': 'brokerages-title' },
    el('div', { class: 'section-head' }, el('h2', { id: 'brokerages-title' }, 'Brokerages'), el('div', { class: 'actions' }, connectButton, refreshButton)),
    progress,
    refreshResult,
    empty,
    list,
    syncState,
  );

  /** The connect (or reconnect) in progress: from the click until the accounts have synced. */
  let flow: { phase: 'opening' | 'waiting' | 'syncing' | 'done' | 'failed'; since: string; what: string } | null = null;

  function say(node: HTMLElement, text: string, tone: '' | 'ok' | 'error' = ''): void {
    node.textContent = text;
    node.className = `progress ${tone}`;
  }

  async function openPortal(options: { reconnect?: string }, what: string): Promise<void> {
    // Opened in the click (a window opened after an await is blocked as a pop-up), then pointed at the portal.
    const portal = window.open('', 'foliostream-portal');
    flow = { phase: 'opening', since: new Date().toISOString(), what };
    say(progress, `Opening the brokerage portal to ${what}…`);
    const answer = await api.call<ConnectionUrlResponse>('POST', '/api/snaptrade/connection-url', {
      ...options,
      customRedirect: `${location.origin}/connected`,
    });
    if (!answer.ok) {
      portal?.close();
      flow = { ...flow, phase: 'failed' };
      say(progress, `The portal could not be opened: ${answer.body.error?.message ?? `HTTP ${answer.status}`}`, 'error');
      return;
    }
    if (portal) portal.location.href = answer.body.redirectURI;
    else location.assign(answer.body.redirectURI); // no pop-ups: go there, /connected brings the person back
    flow = { ...flow, phase: 'waiting' };
    say(progress, `Finish in the portal window (${what}). This page follows along.`);
  }

  connectButton.addEventListener('click', () => void openPortal({}, 'connect a brokerage'));

  refreshButton.addEventListener('click', () => {
    refreshButton.disabled = true;
    say(refreshResult, 'Refreshing every connection…');
    void api
      .call<RefreshResponse>('POST', '/api/snaptrade/refresh')
      .then((answer) => {
        if (!answer.ok) {
          say(refreshResult, answer.body.error?.message ?? `Refresh failed (HTTP ${answer.status}).`, 'error');
          return;
        }
        const r = answer.body;
        const stats = `${r.accounts} ${r.accounts === 1 ? 'account' : 'accounts'}, ${r.positions} ${r.positions === 1 ? 'position' : 'positions'}, ${r.symbols} ${r.symbols === 1 ? 'symbol' : 'symbols'} in ${(r.durationMs / 1000).toFixed(1)} s`;
        const failures = r.failures.map((f) => `${f.scope}: ${f.error}`).join('; ');
        say(refreshResult, `${r.message} ${stats}.${failures ? ` Failed: ${failures}` : ''}`, r.status === 'done' ? 'ok' : r.status === 'pending' ? '' : 'error');
      })
      .catch(() => say(refreshResult, 'The server did not answer the refresh.', 'error'))
      .finally(() => {
        refreshButton.disabled = false;
      });
  });

  function connectionItem(c: ConnectionModel): HTMLLIElement {
    const name = c.brokerage ?? (c.provider === 'alpaca' ? 'Alpaca' : 'Brokerage');
    const actions = el('div', { class: 'actions' });
    if (c.status === 'broken' && c.provider === 'snaptrade' && c.externalId) {
      const reconnect = el('button', { type: 'button', class: 'primary', 'data-testid': 'reconnect' }, 'Reconnect');
      reconnect.addEventListener('click', () => void openPortal({ reconnect: c.externalId! }, `reconnect ${name}`));
      actions.append(reconnect);
    }
    if (c.status === 'needs_relink') {
      const again = el('button', { type: 'button', class: 'primary', 'data-testid': 'connect-again' }, 'Connect again');
      again.addEventListener('click', () => void openPortal({}, `connect ${name} again`));
      actions.append(again);
    }
    if (c.externalId && c.provider) {
      const disconnect = el('button', { type: 'button', class: 'danger', 'data-testid': 'disconnect', 'aria-label': `Disconnect ${name}` }, 'Disconnect');
      disconnect.addEventListener('click', () => confirmDisconnect(item, c, name, disconnect));
      actions.append(disconnect);
    }
    const accounts = el(
      'ul',
      { class: 'accounts' },
      ...c.accounts.map((a) => {
        const sync = accountSyncText(a);
        return el(
          'li',
          { 'data-account-id': a.id, 'data-sync': sync.state },
          el('span', {}, a.name),
          el('span', { class: `sync ${sync.state}` }, sync.text),
        );
      }),
    );
    if (c.accounts.length === 0) accounts.append(el('li', { class: 'muted' }, c.status === 'active' ? 'Listing its accounts…' : 'No accounts'));
    const item = el(
      'li',
      { class: `connection ${c.status}`, 'data-connection-id': c.id, 'data-status': c.status },
      el(
        'div',
        { class: 'connection-head' },
        el('b', {}, name),
        el('span', { class: `badge ${c.status}`, 'data-testid': 'connection-status' }, STATUS_WORDS[c.status] ?? c.status),
        actions,
      ),
      ...(c.reason ? [el('p', { class: 'reason', 'data-testid': 'connection-reason' }, c.reason.charAt(0).toUpperCase() + c.reason.slice(1))] : []),
      accounts,
    );
    return item;
  }

  function confirmDisconnect(item: HTMLLIElement, c: ConnectionModel, name: string, opener: HTMLButtonElement): void {
    if (item.querySelector('.confirm')) return;
    const count = c.accounts.length;
    const yes = el('button', { type: 'button', class: 'danger', 'data-testid': 'confirm-disconnect' }, `Disconnect ${name}`);
    const no = el('button', { type: 'button' }, 'Cancel');
    const box = el(
      'div',
      { class: 'confirm', role: 'alertdialog', 'aria-label': `Disconnect ${name}?` },
      el('p', {}, `Disconnect ${name}? Its ${count} ${count === 1 ? 'account leaves' : 'accounts leave'} foliostream with their holdings; you can connect it again later.`),
      yes,
      no,
    );
    // Cancel, or Escape anywhere in the question, closes it and gives the focus back to Disconnect.
    const close = () => {
      box.remove();
      opener.focus();
    };
    no.addEventListener('click', close);
    box.addEventListener('keydown', (event) => {
      if (event.key !== 'Escape') return;
      event.preventDefault();
      close();
    });
    yes.addEventListener('click', () => {
      yes.disabled = true;
      const path = c.provider === 'alpaca' ? `/api/alpaca/accounts/${encodeURIComponent(c.externalId!)}` : `/api/snaptrade/connections/${encodeURIComponent(c.externalId!)}`;
      void api.call<DisconnectResponse>('DELETE', path).then((answer) => {
        if (answer.ok) {
          say(progress, `${name} is being disconnected; its holdings leave the page when the brokerage confirms.`);
        } else {
          say(progress, `${name} could not be disconnected: ${answer.body.error?.message ?? `HTTP ${answer.status}`}`, 'error');
        }
        box.remove();
      });
    });
    item.append(box);
    yes.focus();
  }

  function render(): void {
    const model = store.brokerages();
    const hasState = store.state !== null;
    empty.hidden = !hasState || model.connections.length > 0;
    refreshButton.hidden = !hasState || model.connections.length === 0;
    // Open confirmations survive a redraw only if their connection is unchanged; redraws are rare.
    const open = new Set(Array.from(list.querySelectorAll<HTMLElement>('li.connection')).filter((li) => li.querySelector('.confirm')).map((li) => li.dataset.connectionId));
    list.replaceChildren(...model.connections.map(connectionItem));
    for (const li of Array.from(list.querySelectorAll<HTMLLIElement>('li.connection'))) {
      const c = model.connections.find((m) => m.id === li.dataset.connectionId);
      const opener = li.querySelector<HTMLButtonElement>('[data-testid="disconnect"]');
      if (c && opener && open.has(c.id)) confirmDisconnect(li, c, c.brokerage ?? 'Brokerage', opener);
    }
    const user = model.userSync;
    if (user?.state === 'syncing') syncState.textContent = `Syncing your accounts (since ${time(user.at)})…`;
    else if (user?.state === 'failed') syncState.textContent = `The last sync failed at ${time(user.at)}: ${user.message ?? 'no reason given'}`;
    else if (user) syncState.textContent = `Accounts listed ${time(user.at)}.`;
    else syncState.textContent = '';
    syncState.className = user?.state === 'failed' ? 'error' : 'muted';

    if (flow?.phase === 'syncing') {
      const accounts = model.connections.flatMap((c) => c.accounts);
      const pending = accounts.filter((a) => accountSyncText(a).state !== 'idle').length;
      const listed = user?.state === 'idle' && Date.parse(user.at) >= Date.parse(flow.since);
      if (listed && accounts.length > 0 && pending === 0) {
        flow = { ...flow, phase: 'done' };
        say(progress, 'Connected. Your accounts and holdings are up to date.', 'ok');
      } else {
        say(progress, listed && accounts.length > 0 ? `Connected. Syncing holdings (${accounts.length - pending} of ${accounts.length} accounts done)…` : 'Connected. Listing your accounts…', 'ok');
      }
    }
  }

  store.subscribe((event: StoreEvent) => {
    if (event.type === 'attempt') {
      if (event.attempt.succeeded) {
        flow = { phase: 'syncing', since: event.attempt.at, what: flow?.what ?? 'connect a brokerage' };
      } else {
        flow = { phase: 'failed', since: event.attempt.at, what: flow?.what ?? 'connect a brokerage' };
        say(progress, attemptText(event.attempt), 'error');
      }
    }
    if (event.type === 'snapshot' || event.type === 'connection' || event.type === 'sync' || event.type === 'attempt' || event.type === 'delta') render();
  });
  render();
  return section;
}
