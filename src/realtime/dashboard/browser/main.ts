import { io } from 'socket.io-client';
import { createPortfolioStore, type PortfolioSocket } from '../../client/portfolio-store.ts';
import { renderDashboard, renderLogin } from './view.ts';
import { renderTrading } from './trade-ticket.ts';
import { renderHistoryChart } from './history-chart.ts';
import { renderActivitiesPanel } from './activities-panel.ts';
import { forgetToken, saveToken, takeToken } from './token.ts';
import { startAdmin } from './admin/admin.ts';

/** The dashboard's entry point (bundled by esbuild, runs in the browser). */
function start(): void {
  const root = document.getElementById('app');
  if (!root) return;
  // The admin page (`/admin`) is in the same bundle.
  if (/\/admin\/?$/.test(location.pathname)) {
    startAdmin(root);
    return;
  }
  const token = takeToken();
  if (!token) {
    renderLogin(root, (entered) => {
      saveToken(entered);
      location.reload();
    });
    return;
  }
  // WebSocket only: with several web nodes behind a load balancer, long-polling would need
  // sticky sessions.
  const socket: PortfolioSocket = io({ auth: { token }, transports: ['websocket'] });
  const store = createPortfolioStore(socket);
  renderDashboard(root, store, {
    onTokenRefused: () => {
      forgetToken();
      socket.disconnect();
    },
  });
  // The value-history chart, where the server mounts the user API (the web role: the flag the
  // trading panel goes by).
  if (root.dataset.trading === '1') renderHistoryChart(root.querySelector('main') ?? root, socket, token);
  // The latest activities (the user API, like the chart), updated live.
  if (root.dataset.trading === '1') (root.querySelector('main') ?? root).append(renderActivitiesPanel(socket, token));
  // The trade ticket and the orders panel, where the server mounts the trading API (the web role);
  // a click on a holding opens the ticket on it.
  if (root.dataset.trading === '1') {
    const trading = renderTrading(root.querySelector('main') ?? root, socket, token);
    root.addEventListener('click', (event) => {
      const row = (event.target as HTMLElement | null)?.closest<HTMLElement>('tr.holding');
      if (row?.dataset.symbol) trading.prefill(row.dataset.symbol);
    });
  }
}

start();
