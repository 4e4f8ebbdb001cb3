// @vitest-environment happy-dom
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createHoldingsTable } from '../../../src/realtime/dashboard/browser/holdings-table.ts';
import type { HoldingView } from '../../../src/realtime/events.ts';
import { holdingOf } from './portfolio-fixtures.ts';

/**
 * holdings-table.ts: rows from a snapshot, ordered by value; a delta redraws only the rows it
 * names (the others are not touched at all); a header click sorts, the search box filters and says
 * how many it keeps.
 */

// The table re-reads every row's freshness on an interval: faked, so nothing outlives the test.
beforeEach(() => vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] }));
afterEach(() => {
  vi.useRealTimers();
  document.body.replaceChildren();
});

const AAPL = holdingOf('AAPL', { description: 'Apple Inc.', marketValueBase: '300.00' });
const MSFT = holdingOf('MSFT', { description: 'Microsoft', marketValueBase: '500.00' });
const SHOP = holdingOf('SHOP', { description: 'Shopify', marketValueBase: '100.00' });

function mount() {
  const table = createHoldingsTable({ accountName: () => 'TFSA' });
  document.body.append(table.element);
  const tbody = table.element.querySelector('tbody')!;
  const symbols = () => Array.from(tbody.querySelectorAll<HTMLElement>('tr.holding')).filter((r) => !r.hidden).map((r) => r.dataset.symbol);
  const row = (symbol: string) => tbody.querySelector<HTMLElement>(`tr.holding[data-symbol="${symbol}"]`)!;
  const cell = (symbol: string, field: string) => row(symbol).querySelector<HTMLElement>(`td[data-field="${field}"]`)!;
  return { table, tbody, symbols, row, cell, element: table.element };
}

/** The holding rows a change of the DOM under `tbody` touched, while `act` ran. */
function rowsTouchedBy(tbody: HTMLElement, act: () => void): string[] {
  const observer = new MutationObserver(() => {});
  observer.observe(tbody, { subtree: true, childList: true, attributes: true, characterData: true });
  act();
  const touched = new Set<string>();
  for (const record of observer.takeRecords()) {
    const target = record.target instanceof Element ? record.target : record.target.parentElement;
    const symbol = target?.closest<HTMLElement>('tr.holding')?.dataset.symbol;
    if (symbol) touched.add(symbol);
  }
  observer.disconnect();
  return [...touched].sort();
}

describe('the holdings table', () => {
  it('draws a row for each holding of a snapshot, largest value first, in the base currency', () => {
    const { table, symbols, cell } = mount();
    table.render([AAPL, MSFT, SHOP], 'USD', true);
    expect(symbols()).toEqual(['MSFT', 'AAPL', 'SHOP']);
    expect(cell('MSFT', 'value').textContent).toMatch(/500\.00/);
    expect(cell('AAPL', 'symbol').textContent).toContain('Apple Inc.');
    expect(cell('AAPL', 'accounts').textContent).toBe('1 account');
  });

  it('a delta redraws only the row it names; the others are not touched and the order stays', () => {
    const { table, tbody, symbols, cell } = mount();
    table.render([AAPL, MSFT, SHOP], 'USD', true);
    // AAPL's price moves past MSFT's value: a price-only delta keeps the rows where they are.
    const moved: HoldingView = { ...AAPL, price: '600.00', marketValue: '600.00', marketValueBase: '600.00' };
    const touched = rowsTouchedBy(tbody, () => table.render([moved, MSFT, SHOP], 'USD', false, new Set([AAPL.id])));
    expect(touched).toEqual(['AAPL']);
    expect(cell('AAPL', 'value').textContent).toMatch(/600\.00/);
    expect(cell('AAPL', 'value').classList.contains('flash-up')).toBe(true);
    expect(cell('MSFT', 'value').classList.contains('flash-up')).toBe(false);
    expect(symbols()).toEqual(['MSFT', 'AAPL', 'SHOP']);
  });

  it('a holding that comes or goes redoes the order', () => {
    const { table, symbols } = mount();
    table.render([AAPL, MSFT], 'USD', true);
    table.render([AAPL, SHOP], 'USD', true, new Set([SHOP.id]));
    expect(symbols()).toEqual(['AAPL', 'SHOP']);
  });

  it('a click on a column header sorts by it, and a second click turns the order around', () => {
    const { table, element, symbols } = mount();
    table.render([AAPL, MSFT, SHOP], 'USD', true);
    const bySymbol = element.querySelector<HTMLButtonElement>('button[data-sort="symbol"]')!;
    bySymbol.click();
    expect(symbols()).toEqual(['AAPL', 'MSFT', 'SHOP']);
    expect(bySymbol.closest('th')!.getAttribute('aria-sort')).toBe('ascending');
    bySymbol.click();
    expect(symbols()).toEqual(['SHOP', 'MSFT', 'AAPL']);
    expect(bySymbol.closest('th')!.getAttribute('aria-sort')).toBe('descending');
    expect(element.querySelector('th[data-field="value"]')!.getAttribute('aria-sort')).toBe('none');
  });

  it('the search keeps holdings whose symbol or name has every word, says how many, and says when none match', () => {
    const { table, element, symbols } = mount();
    table.render([AAPL, MSFT, SHOP], 'USD', true);
    const search = element.querySelector<HTMLInputElement>('[data-testid="holdings-search"]')!;
    const count = element.querySelector('[data-testid="holdings-count"]')!;
    search.value = 'micro';
    search.dispatchEvent(new Event('input'));
    expect(symbols()).toEqual(['MSFT']);
    expect(count.textContent).toBe('1 of 3');
    search.value = 'zzz';
    search.dispatchEvent(new Event('input'));
    expect(symbols()).toEqual([]);
    expect(element.querySelector('tr.empty-row')!.textContent).toBe('No holdings match “zzz”');
    search.value = '';
    search.dispatchEvent(new Event('input'));
    expect(symbols()).toEqual(['MSFT', 'AAPL', 'SHOP']);
    expect(count.textContent).toBe('');
  });
});
