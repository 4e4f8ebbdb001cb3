import type { Socket } from 'socket.io-client';
import type { ClientToServerEvents, OrderUpdate, ServerToClientEvents } from '../../events.ts';
import { FINAL_STATUSES } from '../../../trading/order-types.ts';
import { orderFormProblems, type OrderForm } from './order-form.ts';

/**
 * The trade ticket and the orders panel: choose an account (or let routing choose, and see why),
 * side, type, quantity and prices; Preview shows the impact; Place sends it with an
 * Idempotency-Key kept for as long as the form is unchanged (a double click, or a retry after a
 * lost answer, places once). A form the API would refuse (no symbol, no quantity, a missing price)
 * is said in words before any request (order-form.ts). Orders are listed from `GET /api/orders`
 * and move live with `order:update`. Errors are shown in words, as the API says them.
 */

type Element = HTMLElement;

function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, ...children: (Node | string)[]) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
  node.append(...children);
  return node;
}

function select(name: string, options: [string, string][]): HTMLSelectElement {
  const node = el('select', { name, 'aria-label': name });
  for (const [value, label] of options) node.append(el('option', { value }, label));
  return node;
}

interface ApiAnswer<T> {
  ok: boolean;
  body: T & { error?: { code: string; message: string } };
}

async function api<T>(token: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<ApiAnswer<T>> {
  const response = await fetch(path, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return { ok: response.ok, body: (text ? JSON.parse(text) : {}) as ApiAnswer<T>['body'] };
}

export interface TradingPanel {
  /** Opens the ticket on a security (a holding row was clicked). */
  prefill(symbol: string): void;
}

export function renderTrading(
  container: Element,
  socket: Socket<ServerToClientEvents, ClientToServerEvents>,
  token: string,
): TradingPanel {
  const account = select('account', [['', 'Let routing choose']]);
  const symbol = el('input', { name: 'symbol', placeholder: 'Symbol (AAPL)', 'aria-label': 'symbol', autocomplete: 'off' });
  const side = select('side', [['buy', 'Buy'], ['sell', 'Sell']]);
  const type = select('type', [['market', 'Market'], ['limit', 'Limit'], ['stop', 'Stop'], ['stop_limit', 'Stop limit']]);
  const qty = el('input', { name: 'quantity', placeholder: 'Quantity', 'aria-label': 'quantity', inputmode: 'decimal' });
  const limit = el('input', { name: 'limitPrice', placeholder: 'Limit price', 'aria-label': 'limit price', inputmode: 'decimal' });
  const stop = el('input', { name: 'stopPrice', placeholder: 'Stop price', 'aria-label': 'stop price', inputmode: 'decimal' });
  const tif = select('timeInForce', [['day', 'Day'], ['gtc', 'Good till canceled'], ['ioc', 'Immediate or cancel'], ['fok', 'Fill or kill']]);
  const preview = el('button', { type: 'button', 'data-testid': 'preview' }, 'Preview');
  const place = el('button', { type: 'button', 'data-testid': 'place' }, 'Place order');
  const result = el('div', { class: 'ticket-result', 'data-testid': 'ticket-result', 'aria-live': 'polite' });
  const ordersBody = el('tbody');
  const ordersTable = el(
    'table',
    { 'data-testid': 'orders' },
    el('thead', {}, el('tr', {}, ...['Symbol', 'Side', 'Type', 'Quantity', 'Filled', 'Status', 'Routed', ''].map((c) => el('th', {}, c)))),
    ordersBody,
  );
  const suggestions = el('ul', { class: 'suggestions', 'data-testid': 'symbol-suggestions', 'aria-label': 'symbol suggestions' });
  const symbolField = el('div', { class: 'symbol-field' }, symbol, suggestions);
  const ticket = el('div', { class: 'ticket', 'data-testid': 'ticket' }, account, symbolField, side, type, qty, limit, stop, tif, preview, place);
  container.append(el('section', {}, el('h2', {}, 'Trade'), ticket, result), el('section', {}, el('h2', {}, 'Orders'), ordersTable));

  // Suggestions from the chosen account's brokerage (or routing's default account) as one types.
  let searchTimer: ReturnType<typeof setTimeout> | undefined;
  const search = (text: string) => {
    const params = new URLSearchParams({ query: text, ...(account.value ? { accountId: account.value } : {}) });
    void api<{ securities: { symbol: string; name: string | null }[] }>(token, 'GET', `/api/securities/search?${params}`).then(({ ok, body }) => {
      if (symbol.value.trim() !== text) return; // typed on since: a newer search answers
      suggestions.replaceChildren(
        ...(ok ? body.securities : []).map((s) => {
          const pick = el('button', { type: 'button', 'data-symbol': s.symbol }, s.symbol, s.name ? ` · ${s.name}` : '');
          pick.addEventListener('click', () => {
            symbol.value = s.symbol;
            suggestions.replaceChildren();
            qty.focus();
          });
          return el('li', {}, pick);
        }),
      );
    });
  };
  symbol.addEventListener('input', () => {
    clearTimeout(searchTimer);
    const text = symbol.value.trim();
    if (!text) return suggestions.replaceChildren();
    searchTimer = setTimeout(() => search(text), 200);
  });

  const showPrices = () => {
    limit.hidden = !(type.value === 'limit' || type.value === 'stop_limit');
    stop.hidden = !(type.value === 'stop' || type.value === 'stop_limit');
  };
  type.addEventListener('change', showPrices);
  showPrices();

  const form = (): OrderForm => ({
    ...(account.value ? { accountId: account.value } : {}),
    symbol: symbol.value.trim(),
    side: side.value,
    type: type.value,
    quantity: qty.value.trim(),
    ...(limit.hidden ? {} : { limitPrice: limit.value.trim() }),
    ...(stop.hidden ? {} : { stopPrice: stop.value.trim() }),
    timeInForce: tif.value,
  });
  // One key per distinct form: the same form sent again (a retry) is the same order.
  let key: { form: string; value: string } | undefined;
  const keyFor = (body: unknown) => {
    const text = JSON.stringify(body);
    if (key?.form !== text) key = { form: text, value: crypto.randomUUID() };
    return key.value;
  };

  const say = (text: string, kind: 'ok' | 'error' | 'info' = 'info') => {
    result.className = `ticket-result ${kind}`;
    result.textContent = text;
  };

  /** Says what is wrong with the form, if anything: then nothing is sent. */
  const refused = (body: OrderForm) => {
    const problems = orderFormProblems(body);
    if (problems.length > 0) say(problems.join(' '), 'error');
    return problems.length > 0;
  };

  preview.addEventListener('click', () => {
    if (refused(form())) return;
    say('Checking with the brokerage…');
    void api<{ routing: { reason: string; provider: string }; impact: Record<string, string | null>; warnings: string[] }>(
      token,
      'POST',
      '/api/orders/preview',
      form(),
    ).then(({ ok, body }) => {
      if (!ok) return say(body.error?.message ?? 'The preview failed.', 'error');
      const i = body.impact;
      say(
        [
          `Routed to ${body.routing.provider === 'alpaca' ? 'Alpaca' : 'SnapTrade'}: ${body.routing.reason}.`,
          `Estimated cost ${i.estimatedCost ?? '—'} ${i.currency}, commissions ${i.commissions}, fees ${i.fees}; buying power after ${i.buyingPowerAfter ?? '—'}.`,
          ...body.warnings,
        ].join(' '),
        'ok',
      );
    });
  });

  place.addEventListener('click', () => {
    const body = form();
    if (refused(body)) return;
    say('Placing…');
    void api<OrderUpdate>(token, 'POST', '/api/orders', body, { 'idempotency-key': keyFor(body) }).then(({ ok, body: order }) => {
      if (!ok) return say(order.error?.message ?? 'The order was not placed.', 'error');
      key = undefined;
      upsert(order);
      say(`Order ${order.status}: ${order.side} ${order.quantity ?? order.notional} ${order.symbol}.`, 'ok');
    });
  });

  const rows = new Map<string, HTMLTableRowElement>();
  function upsert(order: OrderUpdate): void {
    let row = rows.get(order.id);
    if (!row) {
      row = el('tr', { 'data-order-id': order.id });
      rows.set(order.id, row);
      ordersBody.prepend(row);
    }
    const cancel = el('button', { type: 'button', class: 'link' }, 'Cancel');
    cancel.addEventListener('click', () => {
      void api<OrderUpdate>(token, 'POST', `/api/orders/${order.id}/cancel`).then(({ ok, body }) => {
        if (!ok) return say(body.error?.message ?? 'The cancel failed.', 'error');
        upsert(body);
      });
    });
    row.replaceChildren(
      el('td', {}, order.symbol),
      el('td', {}, order.side),
      el('td', {}, order.type.replace('_', ' ')),
      el('td', {}, order.quantity ?? `$${order.notional}`),
      el('td', {}, order.filledQuantity),
      el('td', { 'data-status': order.status, class: `order-status ${order.status}` }, order.status.replace('_', ' ')),
      el('td', { title: order.routing?.reason ?? 'placed at the brokerage' }, order.provider),
      el('td', {}, FINAL_STATUSES.has(order.status) ? '' : cancel),
    );
  }

  socket.on('order:update', upsert);
  void api<{ orders: OrderUpdate[] }>(token, 'GET', '/api/orders?limit=20').then(({ ok, body }) => {
    if (ok) for (const order of [...body.orders].reverse()) upsert(order);
  });
  void api<{ accounts: { id: string; institutionName: string; name: string | null; tradingAllowed: boolean }[] }>(token, 'GET', '/api/accounts').then(
    ({ ok, body }) => {
      if (!ok) return;
      for (const a of body.accounts) {
        if (a.tradingAllowed) account.append(el('option', { value: a.id }, `${a.institutionName}${a.name ? ` · ${a.name}` : ''}`));
      }
      ticket.dataset.ready = '1';
    },
  );

  return {
    prefill(value) {
      symbol.value = value;
      qty.focus();
    },
  };
}
