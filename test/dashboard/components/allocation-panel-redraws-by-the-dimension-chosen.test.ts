// @vitest-environment happy-dom
import { afterEach, describe, expect, it } from 'vitest';
import { createPortfolioStore } from '../../../src/realtime/client/portfolio-store.ts';
import { renderAllocationPanel } from '../../../src/realtime/dashboard/browser/allocation-panel.ts';
import { fakeSocket } from './fake-socket.ts';
import { holdingOf, snapshotOf, totalsFor } from './portfolio-fixtures.ts';

/**
 * allocation-panel.ts over the real store: the parts of the portfolio by asset class first; a
 * dimension button redraws them by that dimension (pressed state and column heading follow); a
 * delta moves the numbers; what the total leaves out is said under it.
 */

afterEach(() => document.body.replaceChildren());

const AAPL = holdingOf('AAPL', { assetClass: 'equity', marketValueBase: '600.00' });
const XIU = holdingOf('XIU', { assetClass: 'etf', currency: 'CAD', price: '41.00', marketValue: '410.00', marketValueBase: '300.00' });

function mount() {
  const server = fakeSocket();
  const store = createPortfolioStore(server.socket);
  const panel = renderAllocationPanel(store);
  document.body.append(panel);
  const parts = () =>
    Array.from(panel.querySelectorAll<HTMLElement>('tbody tr[data-part]')).map((tr) => [
      tr.querySelector('.part-label')!.textContent,
      tr.querySelector('.percent')!.textContent,
    ]);
  const choose = (dimension: string) => panel.querySelector<HTMLButtonElement>(`button[data-dimension="${dimension}"]`)!.click();
  const pressed = () => Array.from(panel.querySelectorAll<HTMLElement>('button[aria-pressed="true"]')).map((b) => b.dataset.dimension);
  return { server, store, panel, parts, choose, pressed };
}

describe('the allocation panel', () => {
  it('draws no part before the first snapshot', () => {
    const { panel, store } = mount();
    expect(panel.querySelector('tbody')!.textContent).toBe('');
    store.dispose();
  });

  it('divides by asset class, then by each dimension chosen, with the column and the pressed button following', async () => {
    const { server, store, panel, parts, choose, pressed } = mount();
    server.serverSends('portfolio:snapshot', snapshotOf([AAPL, XIU], { totals: totalsFor([AAPL, XIU], '100.00') }));
    // A snapshot is drawn on the next frame.
    await expect.poll(parts).toEqual([
      ['Stocks', '60.0%'],
      ['ETFs', '30.0%'],
      ['Cash', '10.0%'],
    ]);
    expect(pressed()).toEqual(['assetClass']);
    choose('currency');
    expect(parts()).toEqual([
      ['USD', '60.0%'],
      ['CAD', '30.0%'],
      ['Cash (all currencies)', '10.0%'],
    ]);
    expect(pressed()).toEqual(['currency']);
    expect(panel.querySelector('thead th')!.textContent).toBe('Currency');
    expect(panel.dataset.dimension).toBe('currency');
    choose('security');
    expect(parts().map(([label]) => label)).toEqual(['AAPL · AAPL Corp', 'XIU · XIU Corp', 'Cash']);
    expect(pressed()).toEqual(['security']);
    store.dispose();
  });

  it('a delta moves the shares in the dimension shown, and an unpriced holding is named under the table', async () => {
    const { server, store, panel, parts, choose } = mount();
    server.serverSends('portfolio:snapshot', snapshotOf([AAPL, XIU], { totals: totalsFor([AAPL, XIU], '100.00') }));
    await expect.poll(() => parts().length).toBe(3);
    choose('currency');
    const unpriced = holdingOf('XIU', { ...XIU, marketValueBase: null, price: '41.00' });
    server.serverSends('portfolio:delta', { seq: 1, asOf: new Date().toISOString(), totals: totalsFor([AAPL], '400.00'), upserted: [unpriced], repriced: [], removed: [] });
    await expect.poll(parts).toEqual([
      ['USD', '60.0%'],
      ['Cash (all currencies)', '40.0%'],
    ]);
    expect(panel.querySelector('[data-testid="allocation-unpriced"]')!.textContent).toBe('Not in the total, unpriced: XIU (no rate to USD).');
    store.dispose();
  });
});
