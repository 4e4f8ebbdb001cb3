import type { HoldingView } from '../../events.ts';
import { el, setCell } from './dom.ts';
import { listingPrice, money, percentOf, quantity, shortWhen, sign } from './format.ts';
import { plShown } from './pl-split.ts';
import {
  basePrice,
  matchesSearch,
  nextSort,
  priceFreshness,
  sortHoldings,
  type Freshness,
  type HoldingSort,
  type HoldingSortKey,
} from './holdings-model.ts';

/**
 * The holdings table: one row per security, every amount in the base currency (the listing price
 * beside it when it is another), the price's freshness, sorting by a click (or Enter) on a column
 * header, a search box over symbols and names, and each holding's accounts under it on a click.
 * The P/L is against the cost at the purchase days' rates where the purchases are known; its
 * tooltip and the detail row say in words how much of it the price made and how much the
 * exchange rate (`pl-split.ts`).
 *
 * Rows are keyed and updated in place; a changed cell flashes. On a price tick rows keep their
 * places (nothing jumps under the pointer); the order is redone when holdings come or go, or on
 * a click on a header.
 */

type Field = 'symbol' | 'quantity' | 'price' | 'value' | 'day' | 'pl' | 'fresh' | 'accounts';

const COLUMNS: { field: Field; label: string; sort: HoldingSortKey | null }[] = [
  { field: 'symbol', label: 'Holding', sort: 'symbol' },
  { field: 'quantity', label: 'Quantity', sort: 'quantity' },
  { field: 'price', label: 'Price', sort: 'price' },
  { field: 'value', label: 'Value', sort: 'value' },
  { field: 'day', label: 'Day change', sort: 'day' },
  { field: 'pl', label: 'Unrealized P/L', sort: 'pl' },
  { field: 'fresh', label: 'Price as of', sort: null },
  { field: 'accounts', label: 'Accounts', sort: null },
];

/** A holding's day change when it has none: the reason (the totals leave it out). */
const DAY_CHANGE_MISSING: Record<NonNullable<HoldingView['dayChangeMissing']>, string> = {
  'no-price': 'no price',
  'no-previous-close': 'no prev. close',
  'no-fx-rate': 'no FX rate',
};

const FRESHNESS_TITLES: Record<Freshness['kind'], string> = {
  live: 'Live market price',
  delayed: 'Market price, not updated in the last 2 minutes (the market may be closed)',
  stale: "No live feed for this listing: the brokerage's last reported price",
  none: 'No price yet',
};

interface Row {
  row: HTMLTableRowElement;
  cells: Record<Field, HTMLTableCellElement>;
  toggle: HTMLButtonElement;
  detail: HTMLTableRowElement;
  expanded: boolean;
  holding: HoldingView;
}

export interface HoldingsTable {
  element: HTMLElement;
  /**
   * Shows `holdings` in `baseCurrency`. `reorder`: the set of holdings may have changed (a snapshot,
   * an upsert, a removal), so the order is redone; a price-only change leaves rows in place.
   * `changed`: the ids a delta moved (only their rows are filled again); all rows when absent.
   */
  render(holdings: readonly HoldingView[], baseCurrency: string, reorder: boolean, changed?: ReadonlySet<string>): void;
}

export function createHoldingsTable(options: { accountName: (accountId: string) => string; now?: () => number }): HoldingsTable {
  const now = options.now ?? Date.now;
  let sort: HoldingSort = { key: 'value', direction: 'descending' };
  let query = '';
  let base = 'USD';
  let current: readonly HoldingView[] = [];
  const rows = new Map<string, Row>();

  const headers = new Map<HoldingSortKey, HTMLTableCellElement>();
  const headRow = el('tr');
  for (const column of COLUMNS) {
    const th = el('th', { scope: 'col', 'data-field': column.field });
    if (column.sort) {
      const key = column.sort;
      const button = el('button', { type: 'button', class: 'sort', 'data-sort': key }, column.label, el('span', { class: 'arrow', 'aria-hidden': 'true' }));
      button.addEventListener('click', () => {
        sort = nextSort(sort, key);
        showSort();
        redraw(true);
      });
      th.append(button);
      headers.set(key, th);
    } else {
      th.textContent = column.label;
    }
    headRow.append(th);
  }
  const tbody = el('tbody');
  const table = el('table', { 'data-testid': 'holdings', class: 'holdings' }, el('thead', {}, headRow), tbody);
  const search = el('input', {
    type: 'search',
    placeholder: 'Search symbol or name',
    'aria-label': 'Search holdings by symbol or name',
    'data-testid': 'holdings-search',
    autocomplete: 'off',
  });
  const count = el('span', { class: 'muted count', 'data-testid': 'holdings-count', 'aria-live': 'polite' });
  search.addEventListener('input', () => {
    query = search.value;
    redraw(false);
  });
  const element = el(
    'div',
    { class: 'holdings-view' },
    el('div', { class: 'section-head' }, el('div', { class: 'search' }, search, count)),
    // A box that scrolls sideways on a phone: focusable (and named) so a keyboard can scroll it.
    el('div', { class: 'table-scroll', tabindex: '0', role: 'region', 'aria-label': 'Holdings table' }, table),
  );
  showSort();

  function showSort(): void {
    for (const [key, th] of headers) {
      const active = key === sort.key;
      th.setAttribute('aria-sort', active ? sort.direction : 'none');
      th.querySelector('.arrow')!.textContent = active ? (sort.direction === 'ascending' ? '▲' : '▼') : '';
    }
  }

  function rowFor(holding: HoldingView): Row {
    const known = rows.get(holding.id);
    if (known) return known;
    const cells = Object.fromEntries(COLUMNS.map((c) => [c.field, el('td', { 'data-field': c.field })])) as Record<Field, HTMLTableCellElement>;
    const toggle = el('button', { type: 'button', class: 'caret', 'aria-expanded': 'false', 'aria-label': `Accounts holding ${holding.symbol}` }, '▸');
    const row = el('tr', { class: 'holding', 'data-holding-id': holding.id, 'data-symbol': holding.symbol }, ...Object.values(cells));
    const detail = el('tr', { class: 'detail', hidden: '' });
    const created: Row = { row, cells, toggle, detail, expanded: false, holding };
    // A click anywhere on the row (the caret button included, by keyboard too) opens its accounts.
    row.addEventListener('click', () => {
      created.expanded = !created.expanded;
      detail.hidden = !created.expanded;
      toggle.setAttribute('aria-expanded', String(created.expanded));
      toggle.textContent = created.expanded ? '▾' : '▸';
      fill(created, created.holding);
    });
    rows.set(holding.id, created);
    return created;
  }

  function fill(entry: Row, h: HoldingView): void {
    entry.holding = h;
    const { cells } = entry;
    if (cells.symbol.dataset.text !== `${h.symbol}|${h.description ?? ''}`) {
      cells.symbol.dataset.text = `${h.symbol}|${h.description ?? ''}`;
      cells.symbol.className = 'symbol';
      cells.symbol.replaceChildren(entry.toggle, el('b', {}, h.symbol), ...(h.description ? [el('span', { class: 'desc', title: h.description }, h.description)] : []));
    }
    setCell(cells.quantity, quantity(h.quantity), h.quantity);

    const priceBase = basePrice(h);
    const foreign = h.currency !== base;
    const priceMain = foreign ? (priceBase === null ? '—' : money(String(priceBase), base)) : money(h.price, base);
    const listing = foreign ? listingPrice(h.price, h.currency) : '';
    setCell(cells.price, `${priceMain}${listing ? ` ${listing}` : ''}`, h.price, '', () => [
      el('span', { class: 'main' }, priceMain),
      ...(listing ? [el('span', { class: 'listing', title: `Listed in ${h.currency}` }, listing)] : []),
    ]);

    setCell(cells.value, money(h.marketValueBase, base), h.marketValueBase, h.marketValueBase === null ? 'muted' : '');
    cells.value.title = h.marketValueBase === null && h.price !== null ? `No ${h.currency} → ${base} rate` : '';

    if (h.dayChangeMissing) {
      setCell(cells.day, DAY_CHANGE_MISSING[h.dayChangeMissing], null, 'muted');
    } else {
      const previousValue = h.marketValueBase === null || h.dayChangeBase === null ? null : String(Number(h.marketValueBase) - Number(h.dayChangeBase));
      twoLine(cells.day, money(h.dayChangeBase, base), percentOf(h.dayChangeBase, previousValue), h.dayChangeBase);
    }
    const shown = plShown(h, base);
    if (shown.pl === null) {
      setCell(cells.pl, h.costBasis === null ? 'no cost' : '—', null, 'muted');
      cells.pl.title = h.costBasis === null ? 'The brokerage reported no cost for this holding' : `No ${h.currency} → ${base} rate`;
    } else {
      // The tooltip splits the P/L into price and currency gain, in words (also in the detail row).
      cells.pl.title = shown.words;
      const percent = shown.costBase === null ? percentOf(h.unrealizedPl, h.costBasis) : percentOf(shown.pl, shown.costBase);
      twoLine(cells.pl, money(shown.pl, base), percent, shown.pl);
    }
    fillFreshness(cells.fresh, h);
    setCell(cells.accounts, `${h.accounts.length} ${h.accounts.length === 1 ? 'account' : 'accounts'}`, null, 'muted');
    if (entry.expanded) fillDetail(entry, h);
  }

  /** A signed amount with its percentage under it. */
  function twoLine(cell: HTMLTableCellElement, amount: string, percent: string, numeric: string | null): void {
    setCell(cell, `${amount} ${percent}`, numeric, sign(numeric), () => [el('span', { class: 'main' }, amount), el('span', { class: 'sub' }, percent)]);
  }

  function fillFreshness(cell: HTMLTableCellElement, h: HoldingView): void {
    const fresh = priceFreshness(h, now());
    const label = fresh.kind === 'live' ? 'live' : fresh.kind === 'none' ? 'no price' : `${fresh.kind} · ${shortWhen(fresh.at)}`;
    if (cell.dataset.text === label) return;
    cell.dataset.text = label;
    cell.dataset.freshness = fresh.kind;
    cell.title = fresh.at ? `${FRESHNESS_TITLES[fresh.kind]}: ${new Date(fresh.at).toLocaleString()}` : FRESHNESS_TITLES[fresh.kind];
    cell.replaceChildren(el('span', { class: `fresh ${fresh.kind}` }, label));
  }

  function fillDetail(entry: Row, h: HoldingView): void {
    const foreign = h.currency !== base;
    const split = plShown(h, base).words;
    entry.detail.replaceChildren(
      el(
        'td',
        { colspan: String(COLUMNS.length) },
        ...(split ? [el('p', { class: 'pl-split' }, split)] : []),
        el(
          'table',
          {},
          el('thead', {}, el('tr', {}, ...['Institution', 'Account', 'Quantity', 'Value'].map((c) => el('th', { scope: 'col' }, c)))),
          el(
            'tbody',
            {},
            ...h.accounts.map((a) =>
              el(
                'tr',
                { 'data-account-id': a.accountId },
                el('td', {}, a.institution),
                el('td', { class: 'muted' }, options.accountName(a.accountId)),
                el('td', {}, quantity(a.quantity)),
                el(
                  'td',
                  {},
                  el('span', { class: 'main' }, money(a.marketValueBase, base)),
                  ...(foreign ? [el('span', { class: 'listing' }, listingPrice(a.marketValue, h.currency))] : []),
                ),
              ),
            ),
          ),
        ),
      ),
    );
  }

  function redraw(reorder: boolean): void {
    const visible = new Set<string>();
    for (const h of current) if (matchesSearch(h, query)) visible.add(h.id);
    if (reorder) {
      for (const h of sortHoldings(current, sort)) {
        const entry = rowFor(h);
        tbody.append(entry.row, entry.detail); // appends in order; existing rows move
      }
    }
    for (const [id, entry] of rows) {
      const shown = visible.has(id);
      entry.row.hidden = !shown;
      entry.detail.hidden = !shown || !entry.expanded;
    }
    for (const child of Array.from(tbody.children)) if (!child.matches('tr.holding, tr.detail')) child.remove();
    if (visible.size === 0) {
      const text = current.length === 0 ? 'No holdings yet' : `No holdings match “${query.trim()}”`;
      tbody.append(el('tr', { class: 'empty-row' }, el('td', { colspan: String(COLUMNS.length), class: 'empty' }, text)));
    }
    count.textContent = query.trim() && current.length > 0 ? `${visible.size} of ${current.length}` : '';
  }

  function render(holdings: readonly HoldingView[], baseCurrency: string, reorder: boolean, changed?: ReadonlySet<string>): void {
    const baseChanged = baseCurrency !== base;
    base = baseCurrency;
    current = holdings;
    const seen = new Set<string>();
    for (const h of holdings) {
      seen.add(h.id);
      const known = rows.get(h.id);
      if (!known) reorder = true;
      if (!known || !changed || changed.has(h.id) || baseChanged) fill(rowFor(h), h);
    }
    for (const [id, entry] of rows) {
      if (seen.has(id)) continue;
      entry.row.remove();
      entry.detail.remove();
      rows.delete(id);
    }
    redraw(reorder || baseChanged);
  }

  // A live price turns delayed when no tick came for a while: re-read the freshness of every row.
  setInterval(() => {
    for (const entry of rows.values()) fillFreshness(entry.cells.fresh, entry.holding);
  }, 15_000);

  return { element, render };
}
