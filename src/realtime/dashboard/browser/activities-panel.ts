import type { ActivitiesUpdate, ActivityView } from '../../../activities/activity.ts';
import type { ActivityListResponse } from '../../../api/schemas.ts';
import type { PortfolioSocket } from '../../client/portfolio-store.ts';
import { money, quantity, sign } from './format.ts';
import { el } from './view.ts';

/**
 * The activities panel: the newest `SHOWN` activities of every account (`GET /api/activities`),
 * each with its date, type, symbol, units and amount in its own currency, and the brokerage's
 * description on hover. New or changed ones arrive live (`activities:update`) and take their
 * place by date. Without any, it says so in words, and what will appear.
 */

const SHOWN = 20;

const TYPE_NAMES: Readonly<Record<ActivityView['type'], string>> = {
  buy: 'Buy',
  sell: 'Sell',
  dividend: 'Dividend',
  interest: 'Interest',
  fee: 'Fee',
  deposit: 'Deposit',
  withdrawal: 'Withdrawal',
  transfer: 'Transfer',
  split: 'Split',
  other: 'Other',
};

const keyOf = (a: ActivityView) => `${a.accountId}:${a.providerActivityId}`;

function amountText(a: ActivityView): string {
  if (a.amount === null) return '—';
  return a.currency ? money(a.amount, a.currency) : `${a.amount} ${a.amountSymbol ?? ''}`.trim();
}

/** `token`: the user's bearer token for `GET /api/activities`. */
export function renderActivitiesPanel(socket: PortfolioSocket, token: string): HTMLElement {
  const status = el('p', { class: 'meta', 'data-testid': 'activities-status' }, 'Loading activities…');
  const body = el('tbody');
  const table = el(
    'table',
    { 'data-testid': 'activities', class: 'activities', hidden: '' },
    el('thead', {}, el('tr', {}, ...['Date', 'Type', 'Symbol', 'Units', 'Amount'].map((c) => el('th', {}, c)))),
    body,
  );
  const known = new Map<string, ActivityView>();

  const draw = () => {
    const shown = [...known.values()]
      .sort((a, b) => (a.tradeDate < b.tradeDate ? 1 : a.tradeDate > b.tradeDate ? -1 : keyOf(a) < keyOf(b) ? 1 : -1))
      .slice(0, SHOWN);
    body.replaceChildren(
      ...shown.map((a) =>
        el(
          'tr',
          { class: 'activity', 'data-type': a.type, title: `${a.description ?? a.providerType} (${a.providerType})` },
          el('td', {}, new Date(a.tradeDate).toLocaleDateString()),
          el('td', {}, TYPE_NAMES[a.type] ?? a.type),
          el('td', {}, a.symbol ?? '—'),
          el('td', {}, a.units === null ? '—' : quantity(a.units)),
          el('td', { class: `num ${sign(a.amount)}`.trim(), 'data-testid': 'activity-amount' }, amountText(a)),
        ),
      ),
    );
    table.hidden = shown.length === 0;
    scroll.hidden = table.hidden;
    status.textContent = shown.length
      ? `The ${shown.length === 1 ? 'latest activity' : `${shown.length} latest activities`} across your accounts, as your brokerages report them.`
      : 'No activities yet. Trades, dividends, interest, deposits, withdrawals and fees appear here once a brokerage reports them (after a connection syncs its transactions, and every night).';
  };

  void (async () => {
    const response = await fetch(`/api/activities?limit=${SHOWN}`, { headers: { authorization: `Bearer ${token}` } });
    const answer = (await response.json().catch(() => ({}))) as Partial<ActivityListResponse> & { error?: { message: string } };
    if (!response.ok || !answer.activities) {
      status.textContent = `Activities are unavailable: ${answer.error?.message ?? `the server answered ${response.status}`}.`;
      return;
    }
    // An update that arrived while this was loading is newer: keep it.
    for (const a of answer.activities) if (!known.has(keyOf(a))) known.set(keyOf(a), a);
    draw();
  })();

  socket.on('activities:update', (update: ActivitiesUpdate) => {
    for (const a of update.activities) known.set(keyOf(a), a);
    draw();
  });

  // On a phone the table may be wider than the screen: it scrolls in a box of its own, which a
  // keyboard can focus (and so scroll).
  const scroll = el('div', { class: 'table-scroll', tabindex: '0', role: 'region', 'aria-label': 'Activities table' }, table);
  return el('section', { 'data-testid': 'activities-panel' }, el('h2', {}, 'Activities'), status, scroll);
}
