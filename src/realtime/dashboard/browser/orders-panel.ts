import type { OrderUpdate } from '../../events.ts';
import { el } from './dom.ts';
import { shortWhen } from './format.ts';
import { PROVIDER_NAMES, STATUS_WORDS, cancellable, fillLine, orderPhrase, orderTerms } from './orders-model.ts';

/**
 * The orders panel: the latest orders, newest first, each as what it is ("Buy 2 MSFT", "Limit
 * $90.00 · good till canceled"), its status in a word with what filled, when it was placed and
 * where it went. Only an order that can still be canceled has a Cancel button; a cancel the
 * brokerage refuses is said in words above the list, naming the order. Four columns that wrap,
 * so the panel fits a 360 px phone without scrolling sideways. Until the list has loaded it says
 * so; without orders it says what will appear.
 */

export interface OrdersPanel {
  element: HTMLElement;
  /** Shows an order (new, or a new state of one shown). */
  upsert(order: OrderUpdate): void;
  /** The first listing came (`orders`) or failed (`error`). */
  loaded(result: { orders: readonly OrderUpdate[] } | { error: string }): void;
}

export interface OrdersPanelDeps {
  /** `POST /api/orders/:id/cancel`: the order after the cancel, or the API's error in words. */
  cancel(orderId: string): Promise<{ ok: true; order: OrderUpdate } | { ok: false; message: string }>;
  /** The currency of an account (from `GET /api/accounts`), null while unknown. */
  currencyOf(accountId: string): string | null;
}

export function createOrdersPanel(deps: OrdersPanelDeps): OrdersPanel {
  const status = el('p', { class: 'orders-status muted', 'data-testid': 'orders-status', role: 'status' }, 'Loading orders…');
  const problem = el('p', { class: 'error', 'data-testid': 'orders-problem', role: 'alert' });
  const body = el('tbody');
  const table = el(
    'table',
    { 'data-testid': 'orders', class: 'orders', hidden: '' },
    el(
      'thead',
      {},
      el('tr', {}, el('th', { scope: 'col' }, 'Order'), el('th', { scope: 'col' }, 'Status'), el('th', { scope: 'col' }, 'Placed'), el('th', { scope: 'col' }, el('span', { class: 'visually-hidden' }, 'Actions'))),
    ),
    body,
  );
  const element = el('section', { 'data-testid': 'orders-panel', 'aria-labelledby': 'orders-title' }, el('h2', { id: 'orders-title' }, 'Orders'), status, problem, table);
  const rows = new Map<string, HTMLTableRowElement>();
  let ready = false;

  const currencyOf = (order: OrderUpdate) => deps.currencyOf(order.accountId) ?? (typeof order.impact?.currency === 'string' ? order.impact.currency : null);

  function showCount(): void {
    if (!ready) return;
    table.hidden = rows.size === 0;
    status.textContent =
      rows.size === 0 ? 'No orders yet. Orders you place with the ticket above appear here, and their status follows the brokerage live.' : '';
    status.hidden = rows.size > 0;
  }

  function upsert(order: OrderUpdate): void {
    let row = rows.get(order.id);
    if (!row) {
      row = el('tr', { 'data-order-id': order.id, 'data-placed': order.submittedAt ?? order.updatedAt });
      rows.set(order.id, row);
      body.prepend(row);
    }
    const currency = currencyOf(order);
    const phrase = orderPhrase(order, currency);
    const words = STATUS_WORDS[order.status] ?? { word: order.status, meaning: '' };
    const filled = fillLine(order, currency);
    const placedAt = order.submittedAt ?? order.updatedAt;
    const provider = PROVIDER_NAMES[order.provider] ?? order.provider;
    const action = el('td', { class: 'order-action' });
    if (cancellable(order)) {
      const cancel = el('button', { type: 'button', class: 'link', 'data-testid': 'cancel-order', 'aria-label': `Cancel order: ${phrase}` }, 'Cancel');
      cancel.addEventListener('click', () => {
        cancel.disabled = true;
        cancel.textContent = 'Canceling…';
        problem.textContent = '';
        void deps.cancel(order.id).then((answer) => {
          if (answer.ok) return upsert(answer.order);
          problem.textContent = `${phrase} was not canceled: ${answer.message}`;
          cancel.disabled = false;
          cancel.textContent = 'Cancel';
        });
      });
      action.append(cancel);
    }
    row.replaceChildren(
      el('td', { class: 'order-what', 'data-field': 'order' }, el('span', { class: 'main' }, phrase), el('span', { class: 'sub' }, orderTerms(order, currency))),
      el(
        'td',
        { 'data-status': order.status, class: `order-status ${order.status}`, title: words.meaning, 'data-field': 'status' },
        el('span', { class: 'main' }, words.word),
        ...(filled ? [el('span', { class: 'sub' }, filled)] : []),
      ),
      el(
        'td',
        { 'data-field': 'placed', title: order.routing ? `${provider}: ${order.routing.reason}` : `Placed at ${provider}` },
        el('time', { class: 'main', datetime: placedAt }, shortWhen(placedAt)),
        el('span', { class: 'sub' }, `at ${provider}`),
      ),
      action,
    );
    showCount();
  }

  function loaded(result: { orders: readonly OrderUpdate[] } | { error: string }): void {
    ready = true;
    if ('error' in result) {
      status.textContent = `The orders could not be loaded: ${result.error}`;
      status.classList.add('error');
      return;
    }
    // An update that came while loading is newer than the listing: keep it. Then newest on top.
    for (const order of result.orders) if (!rows.has(order.id)) upsert(order);
    body.append(...[...rows.values()].sort((a, b) => (a.dataset.placed! < b.dataset.placed! ? 1 : a.dataset.placed! > b.dataset.placed! ? -1 : 0)));
    element.dataset.ready = '1';
    showCount();
  }

  return { element, upsert, loaded };
}
