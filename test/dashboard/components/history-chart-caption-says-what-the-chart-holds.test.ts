// @vitest-environment happy-dom
import { afterEach, describe, expect, it, vi } from 'vitest';
import { historyResponse, returnsResponse, type HistoryResponse } from '../../../src/api/schemas.ts';
import { renderHistoryChart } from '../../../src/realtime/dashboard/browser/history-chart.ts';
import { answer, installFakeApi, refusal, type Answer } from './fake-api.ts';
import { fakeSocket } from './fake-socket.ts';

/**
 * history-chart.ts around its chart: the range buttons, `GET /api/portfolio/history?range=`
 * (answers parsed by historyResponse), the box's `data-points` and the caption in words (enough
 * history, too little, left out for another base currency, a refusal), and the 1D line moved by
 * `portfolio:history`.
 *
 * lightweight-charts cannot draw in happy-dom (it parses its colours through a canvas 2D context,
 * which happy-dom does not have: `createChart` throws "Failed to parse color"), so here the
 * library is replaced by a stand-in that keeps the series' data; the drawing itself, and
 * `data-points` read back from the real library, are the Chromium test's
 * (test/realtime/value-history-chart-and-day-change-markers.browser.test.ts and
 * value-chart-has-the-api-points-and-allocation-follows-a-price-change.browser.test.ts).
 */

vi.mock('lightweight-charts', () => ({
  AreaSeries: {},
  createChart: () => {
    let data: unknown[] = [];
    const series = { setData: (points: unknown[]) => (data = points), data: () => data };
    return { addSeries: () => series, timeScale: () => ({ fitContent: () => {} }) };
  },
}));

afterEach(() => {
  vi.unstubAllGlobals();
  document.body.replaceChildren();
});

const point = (at: string, totalValue: string) => ({ at, totalValue, invested: totalValue, cash: '0.00', costBasis: null, unrealizedPl: null, dayChange: null });

function historyOf(range: HistoryResponse['range'], fields: Partial<HistoryResponse> = {}): Answer {
  return answer(historyResponse, {
    range,
    baseCurrency: 'USD',
    interval: 'day',
    points: [point('2026-05-28T20:00:00.000Z', '1000.00'), point('2026-05-29T20:00:00.000Z', '1010.00'), point('2026-06-01T20:00:00.000Z', '1020.00')],
    live: point('2026-06-02T14:00:00.000Z', '1025.00'),
    otherBaseCurrencies: [],
    ...fields,
  });
}

const RETURNS = answer(returnsResponse, {
  range: '1M',
  baseCurrency: 'USD',
  accountId: null,
  start: null,
  end: { at: '2026-06-02T14:00:00.000Z', value: '1025.00' },
  simpleReturn: null,
  twr: null,
  mwr: null,
  flows: { known: true, net: '0', inflows: '0', outflows: '0', count: 0, internalTransferLegs: 0, notValued: 0 },
  income: { dividends: '0', interest: '0', total: '0' },
  realized: { pl: '0', sells: 0, notValued: 0 },
  unrealizedPl: null,
  marks: [],
});

function mount(history: (range: string) => Answer) {
  const api = installFakeApi({
    'GET /api/portfolio/history': (r) => history(new URL(r.url, 'http://page').searchParams.get('range')!),
    'GET /api/portfolio/returns': () => RETURNS,
  });
  const server = fakeSocket();
  const container = document.body.appendChild(document.createElement('div'));
  renderHistoryChart(container, server.socket, 'token-1');
  const box = container.querySelector<HTMLElement>('[data-testid="history-chart"]')!;
  const caption = () => container.querySelector('[data-testid="history-caption"]')!.textContent;
  const range = (r: string) => container.querySelector<HTMLButtonElement>(`button[data-range="${r}"]`)!;
  return { api, server, box, caption, range };
}

describe('the value chart', () => {
  it('draws the stored points and the live one of 1M, and says so under the chart', async () => {
    const { api, box, caption, range } = mount((r) => historyOf(r as HistoryResponse['range']));
    await expect.poll(caption).toMatch(/^1M · 4 points · .*1,025\.00$/);
    expect(box.dataset.points).toBe('4');
    expect(box.getAttribute('aria-label')).toMatch(/^portfolio value over 1M: 4 points, now .*1,025\.00$/);
    expect(range('1M').getAttribute('aria-pressed')).toBe('true');
    expect(api.sent('GET /api/portfolio/history').map((r) => [r.url, r.headers.get('authorization')])).toEqual([['/api/portfolio/history?range=1M', 'Bearer token-1']]);
  });

  it('says there is not enough history rather than showing an empty box', async () => {
    const { box, caption } = mount((r) => historyOf(r as HistoryResponse['range'], { points: [] }));
    await expect.poll(caption).toBe('Not enough history for 1M yet: a point is kept each minute while this page is open, and a close each trading day.');
    expect(box.dataset.points).toBe('1');
  });

  it('says which points are left out after the base currency changed', async () => {
    const { caption } = mount((r) => historyOf(r as HistoryResponse['range'], { baseCurrency: 'CAD', points: [], otherBaseCurrencies: ['USD'] }));
    await expect.poll(caption).toBe(
      'No history in CAD for 1M yet: the points kept before the base currency changed are in USD and are left out; new ones are kept in CAD from now on.',
    );
  });

  it('a range button asks for its range; on 1D a new value point is added to the line', async () => {
    const { api, server, box, caption, range } = mount((r) =>
      r === '1D' ? historyOf('1D', { interval: 'minute', points: [point('2026-06-02T13:58:00.000Z', '1020.00')], live: point('2026-06-02T13:59:30.000Z', '1021.00') }) : historyOf('1M'),
    );
    await expect.poll(caption).toMatch(/^1M · 4 points/);
    range('1D').click();
    expect(range('1D').getAttribute('aria-pressed')).toBe('true');
    expect(range('1M').getAttribute('aria-pressed')).toBe('false');
    await expect.poll(caption).toMatch(/^1D · 2 points/);
    expect(api.sent('GET /api/portfolio/history').map((r) => r.url)).toEqual(['/api/portfolio/history?range=1M', '/api/portfolio/history?range=1D']);
    // The minute's point replaces the live one before it: stored 13:58, 14:00, and no live.
    server.serverSends('portfolio:history', { ...point('2026-06-02T14:00:00.000Z', '1022.00'), baseCurrency: 'USD' });
    expect(box.dataset.points).toBe('2');
    server.serverSends('portfolio:history', { ...point('2026-06-02T14:01:00.000Z', '1023.00'), baseCurrency: 'USD' });
    expect(box.dataset.points).toBe('3');
    expect(caption()).toMatch(/^1D · 3 points · .*1,023\.00$/);
  });

  it('a value point of the minute moves only the 1D line', async () => {
    const { server, box, caption } = mount((r) => historyOf(r as HistoryResponse['range']));
    await expect.poll(caption).toMatch(/^1M · 4 points/);
    server.serverSends('portfolio:history', { ...point('2026-06-02T14:01:00.000Z', '1030.00'), baseCurrency: 'USD' });
    expect(box.dataset.points).toBe('4');
    expect(caption()).toMatch(/^1M · 4 points · .*1,025\.00$/);
  });

  it('counts what the chart holds: two values in one second are one point', async () => {
    const { box, caption } = mount(() => historyOf('1M', { points: [point('2026-06-02T13:58:00.000Z', '1020.00')], live: point('2026-06-02T13:58:00.400Z', '1021.00') }));
    await expect.poll(caption).toMatch(/^Not enough history for 1M yet/);
    expect(box.dataset.points).toBe('1');
  });

  it('a refusal is said under the chart', async () => {
    const { caption } = mount(() => refusal('FS_STORAGE_UNAVAILABLE', 'Postgres is unavailable; retry'));
    await expect.poll(caption).toBe('Postgres is unavailable; retry');
  });
});
