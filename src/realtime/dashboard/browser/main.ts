import { io } from 'socket.io-client';
import { createPortfolioStore, type PortfolioSocket } from '../../client/portfolio-store.ts';
import { el, renderDashboard, renderSessionProblem } from './view.ts';
import { renderTrading } from './trade-ticket.ts';
import { renderAllocationPanel } from './allocation-panel.ts';
import { renderActivitiesPanel } from './activities-panel.ts';
import { forgetToken, takeToken, tokenClaims, tokenFromFragment } from './token.ts';
import { startAdmin } from './admin/admin.ts';
import { completeCallback, renderSignIn } from './sign-in.ts';
import { createApiClient } from './api-client.ts';
import { renderBrokeragesPanel } from './brokerages-panel.ts';
import { renderConnected } from './connected.ts';
import { renderSettingsMenu } from './settings-menu.ts';

/**
 * The entry point of every page the bundle fills in (bundled by esbuild, runs in the browser), by
 * path: `/admin`, `/signin`, `/auth/callback` (an identity provider's `#token=`), `/connected` (the
 * brokerage portal's way back), and the dashboard at `/`.
 */
function start(): void {
  const root = document.getElementById('app');
  if (!root) return;
  const path = location.pathname.replace(/\/+$/, '') || '/';
  if (path === '/admin') {
    startAdmin(root);
    return;
  }
  if (path === '/signin') {
    renderSignIn(root, { dev: root.dataset.devSignIn === '1', providerUrl: root.dataset.signInUrl ?? null });
    return;
  }
  if (path === '/auth/callback') {
    completeCallback(tokenFromFragment());
    return;
  }
  if (path === '/connected') {
    renderConnected(root);
    return;
  }
  const token = takeToken();
  if (!token) {
    location.replace('/signin');
    return;
  }
  // A signed-in URL (`/#token=...`) opened in this tab later: take the new token and start over.
  window.addEventListener('hashchange', () => {
    if (tokenFromFragment()) location.reload();
  });
  // The server decides whether the token is good (the socket's handshake, every API call); the
  // subject is read here for display only.
  const claims = tokenClaims(token);
  // WebSocket only: with several web nodes behind a load balancer, long-polling would need
  // sticky sessions.
  const socket: PortfolioSocket = io({ auth: { token }, transports: ['websocket'] });
  const store = createPortfolioStore(socket);
  let refused = false;
  const refuse = (problem: 'expired' | 'invalid') => {
    if (refused) return;
    refused = true;
    forgetToken();
    socket.disconnect();
    renderSessionProblem(root, problem);
  };
  const api = createApiClient(token, (message) => refuse(/expired/i.test(message) ? 'expired' : 'invalid'));
  renderDashboard(root, store, {
    onTokenRefused: refuse,
    userId: claims.sub,
    onSignOut: () => {
      forgetToken();
      socket.disconnect();
      location.replace('/signin?reason=signed-out');
    },
  });
  // The base-currency select, in the header before the signed-in user, where the server mounts the
  // user API (the web role).
  if (root.dataset.trading === '1') root.querySelector('header')?.insertBefore(renderSettingsMenu(store, api), root.querySelector('header .who'));
  const main = root.querySelector('main') ?? root;
  // The brokerages (connect, reconnect, disconnect, refresh, syncs) come right after the totals.
  main.insertBefore(renderBrokeragesPanel(store, api), main.querySelector('.totals')?.nextSibling ?? null);
  // The value-history chart, where the server mounts the user API (the web role: the flag the
  // trading panel goes by).
  // Its chunk (the chart library: most of the code) is fetched once the rest of the page is built
  // and drawn into its place, so the totals and holdings do not wait for it.
  if (root.dataset.trading === '1') {
    const slot = main.appendChild(el('div', { class: 'history-slot' }));
    import('./history-chart.ts')
      .then(({ renderHistoryChart }) => renderHistoryChart(slot, socket, token))
      .catch(() => slot.replaceChildren(el('p', { class: 'error', role: 'alert' }, 'The value chart could not be loaded (the server may have been updated): reload the page.')));
  }
  // How the portfolio divides (asset class, account, currency, security), from the store, live.
  main.append(renderAllocationPanel(store));
  // The latest activities (the user API, like the chart), updated live.
  if (root.dataset.trading === '1') (root.querySelector('main') ?? root).append(renderActivitiesPanel(socket, token));
  // The trade ticket and the orders panel, where the server mounts the trading API (the web role);
  // a click on a holding opens the ticket on it.
  if (root.dataset.trading === '1') {
    const trading = renderTrading(main, socket, token);
    root.addEventListener('click', (event) => {
      const row = (event.target as HTMLElement | null)?.closest<HTMLElement>('tr.holding');
      if (row?.dataset.symbol) trading.prefill(row.dataset.symbol);
    });
  }
}

start();
