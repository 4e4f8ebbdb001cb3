import type { Socket } from 'socket.io-client';
import type { ClientToServerEvents, OrderUpdate, ServerToClientEvents } from '../../events.ts';
import { money } from './format.ts';
import { orderFormProblems, type OrderForm } from './order-form.ts';
import { createOrdersPanel } from './orders-panel.ts';
import { STATUS_WORDS, orderPhrase } from './orders-model.ts';

/**
 * The trade ticket and the orders panel (orders-panel.ts): choose an account (or let routing
 * choose, and see why), side, type, quantity and prices, each field with a visible label; Preview
 * (also Enter in any field: the ticket is a form) shows the impact; Place sends it with an
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
  const node = el('select', { name, id: `ticket-${name}` });
  for (const [value, label] of options) node.append(el('option', { value }, label));
  return node;
}

/** A field with its label above it (a placeholder alone disappears as one types). */
function field(label: string, control: HTMLInputElement | HTMLSelectElement, ...extra: Node[]): HTMLElement {
  return el('div', { class: 'field' }, el('label', { for: control.id }, label), control, ...extra);
}

interface ApiAnswer<T> {
  ok: boolean;
  body: T & { error?: { code: string; message: string } };
}

async function call<T>(token: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<ApiAnswer<T>> {
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
  const symbol = el('input', { name: 'symbol', id: 'ticket-symbol', placeholder: 'AAPL', autocomplete: 'off', 'aria-controls': 'symbol-suggestions' });
  const side = select('side', [['buy', 'Buy'], ['sell', 'Sell']]);
  const type = select('type', [['market', 'Market'], ['limit', 'Limit'], ['stop', 'Stop'], ['stop_limit', 'Stop limit']]);
  const qty = el('input', { name: 'quantity', id: 'ticket-quantity', inputmode: 'decimal', autocomplete: 'off' });
  const limit = el('input', { name: 'limitPrice', id: 'ticket-limitPrice', inputmode: 'decimal', autocomplete: 'off' });
  const stop = el('input', { name: 'stopPrice', id: 'ticket-stopPrice', inputmode: 'decimal', autocomplete: 'off' });
  const tif = select('timeInForce', [['day', 'Day'], ['gtc', 'Good till canceled'], ['ioc', 'Immediate or cancel'], ['fok', 'Fill or kill']]);
  const preview = el('button', { type: 'submit', 'data-testid': 'preview' }, 'Preview');
  const place = el('button', { type: 'button', class: 'primary', 'data-testid': 'place' }, 'Place order');
  const result = el('div', { class: 'ticket-result', 'data-testid': 'ticket-result', 'aria-live': 'polite' });
  const suggestions = el('ul', { class: 'suggestions', id: 'symbol-suggestions', 'data-testid': 'symbol-suggestions', 'aria-label': 'symbol suggestions' });
  const limitField = field('Limit price', limit);
  const stopField = field('Stop price', stop);
  const ticket = el(
    'form',
    { class: 'ticket', 'data-testid': 'ticket', 'aria-label': 'Trade ticket', novalidate: '' },
    field('Account', account),
    el('div', { class: 'field symbol-field' }, el('label', { for: symbol.id }, 'Symbol'), symbol, suggestions),
    field('Side', side),
    field('Order type', type),
    field('Quantity', qty),
    limitField,
    stopField,
    field('Time in force', tif),
    el('div', { class: 'field ticket-actions' }, preview, place),
  );
  const api = <T>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => call<T>(token, method, path, body, headers);
  const currencies = new Map<string, string>();
  const orders = createOrdersPanel({
    cancel: async (id) => {
      const answer = await api<OrderUpdate>('POST', `/api/orders/${encodeURIComponent(id)}/cancel`).catch(() => null);
      if (!answer) return { ok: false, message: 'the server did not answer; try again.' };
      return answer.ok ? { ok: true, order: answer.body } : { ok: false, message: answer.body.error?.message ?? 'the cancel failed.' };
    },
    currencyOf: (accountId) => currencies.get(accountId) ?? null,
  });
  container.append(el('section', { class: 'trade', 'aria-labelledby': 'trade-title' }, el('h2', { id: 'trade-title' }, 'Trade'), ticket, result), orders.element);

  // Suggestions from the chosen account's brokerage (or routing's default account) as one types;
  // Escape closes them, and a click (or Enter) on one takes it.
  let searchTimer: ReturnType<typeof setTimeout> | undefined;
  /** The text whose suggestions were closed (Escape, a pick, Preview, Place): its late answer stays closed. */
  let dismissed: string | null = null;
  const closeSuggestions = () => {
    clearTimeout(searchTimer);
    dismissed = symbol.value.trim();
    suggestions.replaceChildren();
  };
  const search = (text: string) => {
    const params = new URLSearchParams({ query: text, ...(account.value ? { accountId: account.value } : {}) });
    void api<{ securities: { symbol: string; name: string | null }[] }>('GET', `/api/securities/search?${params}`).then(({ ok, body }) => {
      if (symbol.value.trim() !== text || dismissed === text) return; // typed on since (a newer search answers), or closed
      suggestions.replaceChildren(
        ...(ok ? body.securities : []).map((s) => {
          const pick = el('button', { type: 'button', 'data-symbol': s.symbol }, s.symbol, s.name ? ` · ${s.name}` : '');
          pick.addEventListener('click', () => {
            symbol.value = s.symbol;
            closeSuggestions();
            qty.focus();
          });
          return el('li', {}, pick);
        }),
      );
    });
  };
  symbol.addEventListener('input', () => {
    clearTimeout(searchTimer);
    dismissed = null;
    const text = symbol.value.trim();
    if (!text) return suggestions.replaceChildren();
    searchTimer = setTimeout(() => search(text), 200);
  });
  symbolFieldKeys(symbol, suggestions, closeSuggestions);

  const showPrices = () => {
    limitField.hidden = !(type.value === 'limit' || type.value === 'stop_limit');
    stopField.hidden = !(type.value === 'stop' || type.value === 'stop_limit');
  };
  type.addEventListener('change', showPrices);
  showPrices();

  const form = (): OrderForm => ({
    ...(account.value ? { accountId: account.value } : {}),
    symbol: symbol.value.trim(),
    side: side.value,
    type: type.value,
    quantity: qty.value.trim(),
    ...(limitField.hidden ? {} : { limitPrice: limit.value.trim() }),
    ...(stopField.hidden ? {} : { stopPrice: stop.value.trim() }),
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

  /** The preview's amounts are in the account's currency; without one they are plain numbers. */
  const currencyOf = (impact: Record<string, string | null>) => impact.currency ?? '';

  /** Says what is wrong with the form, if anything: then nothing is sent. */
  const refused = (body: OrderForm) => {
    const problems = orderFormProblems(body);
    if (problems.length > 0) say(problems.join(' '), 'error');
    return problems.length > 0;
  };

  ticket.addEventListener('submit', (event) => {
    event.preventDefault();
    closeSuggestions();
    if (refused(form())) return;
    say('Checking with the brokerage…');
    void api<{ routing: { reason: string; provider: string }; impact: Record<string, string | null>; warnings: string[] }>('POST', '/api/orders/preview', form()).then(
      ({ ok, body }) => {
        if (!ok) return say(body.error?.message ?? 'The preview failed.', 'error');
        const i = body.impact;
        say(
          [
            `Routed to ${body.routing.provider === 'alpaca' ? 'Alpaca' : 'SnapTrade'}: ${body.routing.reason}.`,
            `Estimated cost ${money(i.estimatedCost ?? null, currencyOf(i))}, commissions ${money(i.commissions ?? null, currencyOf(i))}, fees ${money(i.fees ?? null, currencyOf(i))}; buying power after ${money(i.buyingPowerAfter ?? null, currencyOf(i))}.`,
            ...body.warnings,
          ].join(' '),
          'ok',
        );
      },
      () => say('The server did not answer; try again.', 'error'),
    );
  });

  place.addEventListener('click', () => {
    const body = form();
    closeSuggestions();
    if (refused(body)) return;
    say('Placing…');
    void api<OrderUpdate>('POST', '/api/orders', body, { 'idempotency-key': keyFor(body) }).then(
      ({ ok, body: order }) => {
        if (!ok) return say(order.error?.message ?? 'The order was not placed.', 'error');
        key = undefined;
        orders.upsert(order);
        const currency = currencies.get(order.accountId) ?? null;
        say(`Order placed: ${orderPhrase(order, currency)}. ${STATUS_WORDS[order.status]?.meaning ?? order.status}.`, 'ok');
      },
      () => say('The server did not answer: the order may or may not be placed. Place it again to be sure; it is placed once.', 'error'),
    );
  });

  socket.on('order:update', orders.upsert);
  void api<{ orders: OrderUpdate[] }>('GET', '/api/orders?limit=20').then(
    ({ ok, body }) => orders.loaded(ok ? { orders: body.orders } : { error: body.error?.message ?? 'the server refused.' }),
    () => orders.loaded({ error: 'the server did not answer. Reload the page to try again.' }),
  );
  void api<{ accounts: { id: string; institutionName: string; name: string | null; currency: string; tradingAllowed: boolean }[] }>('GET', '/api/accounts').then(({ ok, body }) => {
    if (!ok) return;
    for (const a of body.accounts) {
      currencies.set(a.id, a.currency);
      if (a.tradingAllowed) account.append(el('option', { value: a.id }, `${a.institutionName}${a.name ? ` · ${a.name}` : ''}`));
    }
    ticket.dataset.ready = '1';
  });

  return {
    prefill(value) {
      symbol.value = value;
      qty.focus();
    },
  };
}

/** Escape on the symbol field (or a suggestion) closes the suggestions; ArrowDown moves into them. */
function symbolFieldKeys(symbol: HTMLInputElement, suggestions: HTMLElement, close: () => void): void {
  symbol.parentElement!.addEventListener('keydown', (event) => {
    if (event.key === 'Escape' && suggestions.childElementCount > 0) {
      event.preventDefault();
      close();
      symbol.focus();
    } else if (event.key === 'ArrowDown' && event.target === symbol) {
      const first = suggestions.querySelector('button');
      if (first) {
        event.preventDefault();
        first.focus();
      }
    }
  });
}
