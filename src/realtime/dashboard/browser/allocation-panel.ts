import type { PortfolioStore, StoreEvent } from '../../client/portfolio-store.ts';
import { ALLOCATION_DIMENSIONS, computeAllocation, type Allocation, type AllocationDimension, type UnpricedHolding } from '../../client/allocation.ts';
import { money } from './format.ts';
import { el } from './view.ts';

/**
 * The allocation panel: the portfolio divided by asset class, account, currency or security (the
 * buttons), in the base currency, from the store's state (`computeAllocation`), redrawn when a
 * snapshot or delta moves it (a price tick, a sync), at most once a frame.
 *
 * Drawn as CSS bars in a table, not a pie: every part has its name, percentage and value as text
 * (screen readers and search read them; a canvas pie says nothing), thin slices stay readable
 * side by side, and it costs the bundle nothing. A stacked bar above gives the whole at a glance.
 * Rows are keyed and updated in place and keep their order until parts come or go, so a tick
 * moves numbers, not the layout.
 */

/** A dimension's button, and the heading of the table's first column. */
const DIMENSION_LABELS: Record<AllocationDimension, string> = { assetClass: 'Asset class', account: 'Account', currency: 'Currency', security: 'Security' };

/** Colours for the parts, given in the order keys are first seen, so a part keeps its colour. */
const COLORS = ['#58a6ff', '#3fb950', '#d29922', '#bc8cff', '#f778ba', '#39c5cf', '#ff9b50', '#a5d6ff', '#7ee787', '#e3b341'];

const percentFormat = new Intl.NumberFormat(undefined, { style: 'percent', minimumFractionDigits: 1, maximumFractionDigits: 1 });

/** A part's share as a percentage (`0.0798` -> `8.0%`); a dash without a total. */
export function share(fraction: string | null): string {
  return fraction === null ? '—' : percentFormat.format(Number(fraction));
}

const REASONS: Record<UnpricedHolding['reason'], string> = { 'no-price': 'no price yet', 'no-fx-rate': 'no exchange rate' };

/** What the total leaves out, in words (empty when nothing). */
export function leftOut(allocation: Allocation): string {
  const holdings = allocation.unpriced.map((h) => `${h.symbol} (${h.reason === 'no-fx-rate' ? `no rate to ${allocation.baseCurrency}` : REASONS[h.reason]})`);
  const parts = [...holdings, ...(allocation.cashUnknown ? ['cash (no balance valued yet)'] : [])];
  return parts.length === 0 ? '' : `Not in the total, unpriced: ${parts.join(', ')}.`;
}

interface PartRow {
  row: HTMLTableRowElement;
  label: HTMLElement;
  bar: HTMLElement;
  percent: HTMLElement;
  value: HTMLElement;
  color: string;
  /** The part's width in the stacked bar, in percent. */
  width: number;
}

export function renderAllocationPanel(store: PortfolioStore): HTMLElement {
  let dimension: AllocationDimension = 'assetClass';
  const colors = new Map<string, string>();
  const colorOf = (key: string) => {
    let color = colors.get(key);
    if (!color) {
      color = COLORS[colors.size % COLORS.length]!;
      colors.set(key, color);
    }
    return color;
  };
  const buttons = ALLOCATION_DIMENSIONS.map((d) => el('button', { type: 'button', 'data-dimension': d, 'aria-pressed': String(d === dimension) }, DIMENSION_LABELS[d]));
  const stack = el('div', { class: 'allocation-stack', 'aria-hidden': 'true' });
  const column = el('th', { scope: 'col' }, DIMENSION_LABELS[dimension]);
  const valueColumn = el('th', { scope: 'col' }, 'Value');
  const tbody = el('tbody');
  const table = el(
    'table',
    { class: 'allocation', 'data-testid': 'allocation-table' },
    el('thead', {}, el('tr', {}, column, el('th', { scope: 'col' }, 'Share'), valueColumn)),
    tbody,
  );
  const note = el('p', { class: 'meta', 'data-testid': 'allocation-unpriced' });
  const section = el(
    'section',
    { 'data-testid': 'allocation', class: 'allocation-panel' },
    el('div', { class: 'section-head' }, el('h2', {}, 'Allocation'), el('div', { class: 'ranges', role: 'group', 'aria-label': 'Allocation by' }, ...buttons)),
    stack,
    table,
    note,
  );
  const rows = new Map<string, PartRow>();

  const partRow = (key: string): PartRow => {
    let entry = rows.get(key);
    if (entry) return entry;
    const swatch = el('span', { class: 'swatch', style: `background:${colorOf(key)}`, 'aria-hidden': 'true' });
    const label = el('span');
    const bar = el('span', { class: 'bar-fill', style: `background:${colorOf(key)}` });
    const percent = el('span', { class: 'percent' });
    const value = el('td');
    entry = {
      row: el('tr', { 'data-part': key }, el('td', { class: 'part-label' }, swatch, label), el('td', { class: 'share' }, el('span', { class: 'bar', 'aria-hidden': 'true' }, bar), percent), value),
      label,
      bar,
      percent,
      value,
      color: colorOf(key),
      width: 0,
    };
    rows.set(key, entry);
    return entry;
  };

  const draw = () => {
    const state = store.state;
    if (!state) return;
    const allocation = computeAllocation({ baseCurrency: state.baseCurrency, holdings: state.holdings.values(), cash: state.totals.cash, accounts: state.accounts }, dimension);
    section.dataset.total = allocation.total;
    section.dataset.dimension = dimension;
    valueColumn.textContent = `Value (${allocation.baseCurrency})`;
    // The same parts as drawn: they keep their places (a tick moving two close parts past each
    // other does not swap rows under the reader); parts coming or going order them anew.
    const reorder = allocation.parts.length !== rows.size || allocation.parts.some((p) => !rows.has(p.key));
    const seen = new Set<string>();
    for (const part of allocation.parts) {
      seen.add(part.key);
      const entry = partRow(part.key);
      const width = part.fraction === null ? 0 : Math.max(0, Math.min(100, Number(part.fraction) * 100));
      entry.row.dataset.value = part.value;
      entry.label.textContent = part.label;
      entry.bar.style.width = `${width.toFixed(2)}%`;
      entry.width = width;
      entry.percent.textContent = share(part.fraction);
      entry.value.textContent = money(part.value, allocation.baseCurrency);
      if (reorder) {
        tbody.append(entry.row); // in order; rows already there move
      }
    }
    for (const [key, entry] of rows) {
      if (seen.has(key)) continue;
      entry.row.remove();
      rows.delete(key);
    }
    drawStack();
    const empty = tbody.querySelector('tr.empty');
    if (allocation.parts.length === 0 && !empty) tbody.append(el('tr', { class: 'empty' }, el('td', { colspan: '3', class: 'empty' }, 'Nothing to allocate yet: connect a brokerage and its holdings and cash show here.')));
    if (allocation.parts.length > 0) empty?.remove();
    note.textContent = leftOut(allocation);
  };

  /**
   * The stacked bar, in the rows' order, as one element's gradient: parts drawn as boxes side by
   * side would move on every tick (each one's start is the sum of those before it), which the
   * browser counts as layout shift; a gradient repaints in place.
   */
  const drawStack = () => {
    let at = 0;
    const stops: string[] = [];
    for (const row of Array.from(tbody.querySelectorAll<HTMLElement>('tr[data-part]'))) {
      const entry = rows.get(row.dataset.part!);
      if (!entry || entry.width === 0) continue;
      stops.push(`${entry.color} ${at.toFixed(2)}% ${(at + entry.width).toFixed(2)}%`);
      at += entry.width;
    }
    stack.style.background = stops.length ? `linear-gradient(to right, ${stops.join(', ')}, var(--line) ${at.toFixed(2)}%)` : '';
  };

  let frame: number | undefined;
  const schedule = () => {
    if (frame !== undefined) return;
    frame = requestAnimationFrame(() => {
      frame = undefined;
      draw();
    });
  };
  for (const button of buttons) {
    button.addEventListener('click', () => {
      dimension = button.dataset.dimension as AllocationDimension;
      for (const b of buttons) b.setAttribute('aria-pressed', String(b === button));
      column.textContent = DIMENSION_LABELS[dimension];
      for (const entry of rows.values()) {
        entry.row.remove();
      }
      rows.clear();
      draw();
    });
  }
  store.subscribe((event: StoreEvent) => {
    if (event.type === 'snapshot' || event.type === 'delta') schedule();
  });
  draw();
  return section;
}
