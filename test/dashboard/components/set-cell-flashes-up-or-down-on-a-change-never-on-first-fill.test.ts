// @vitest-environment happy-dom
import { describe, expect, it } from 'vitest';
import { el, setCell } from '../../../src/realtime/dashboard/browser/dom.ts';

/** dom.setCell: a cell that changed flashes up, down or neutral by its number; filling it the first time, or with the same text, does not. */

const flashes = (cell: HTMLElement) => ['flash-up', 'flash-down', 'flash'].filter((f) => cell.classList.contains(f));

describe('setCell', () => {
  it('fills a cell the first time without a flash, keeping its own class', () => {
    const cell = el('td');
    setCell(cell, '$100.00', '100', 'pos');
    expect(cell.textContent).toBe('$100.00');
    expect(flashes(cell)).toEqual([]);
    expect(cell.classList.contains('pos')).toBe(true);
    expect(cell.dataset.changes).toBeUndefined();
  });

  it('flashes up when the number rises and down when it falls, counting each change', () => {
    const cell = el('td');
    setCell(cell, '$100.00', '100');
    setCell(cell, '$101.00', '101');
    expect(cell.textContent).toBe('$101.00');
    expect(flashes(cell)).toEqual(['flash-up']);
    setCell(cell, '$99.50', '99.5');
    expect(flashes(cell)).toEqual(['flash-down']);
    expect(cell.dataset.changes).toBe('2');
  });

  it('flashes neutral when the text changes but no number says which way', () => {
    const cell = el('td');
    setCell(cell, 'no price', null);
    setCell(cell, 'no FX rate', null);
    expect(flashes(cell)).toEqual(['flash']);
  });

  it('the same text again is no change: the running flash stays, nothing is counted, the class is updated', () => {
    const cell = el('td');
    setCell(cell, '$100.00', '100');
    setCell(cell, '$101.00', '101');
    setCell(cell, '$101.00', '101', 'neg');
    expect(flashes(cell)).toEqual(['flash-up']);
    expect(cell.classList.contains('neg')).toBe(true);
    expect(cell.dataset.changes).toBe('1');
  });

  it('puts the nodes `content` builds in the cell, the text deciding what counts as a change', () => {
    const cell = el('td');
    let built = 0;
    const content = () => {
      built += 1;
      return [el('span', { class: 'main' }, '$5.00'), el('span', { class: 'sub' }, '+1.00%')];
    };
    setCell(cell, '$5.00 +1.00%', '5', '', content);
    setCell(cell, '$5.00 +1.00%', '5', '', content);
    expect(cell.querySelector('.main')?.textContent).toBe('$5.00');
    expect(built).toBe(1);
  });
});
