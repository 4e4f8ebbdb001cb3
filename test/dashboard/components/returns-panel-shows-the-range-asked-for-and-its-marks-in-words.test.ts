// @vitest-environment happy-dom
import { afterEach, describe, expect, it, vi } from 'vitest';
import { returnsResponse, type ReturnsResponse } from '../../../src/api/schemas.ts';
import { renderReturnsPanel } from '../../../src/realtime/dashboard/browser/returns-panel.ts';
import { answer, installFakeApi, refusal, type Answer } from './fake-api.ts';
import { fakeSocket } from './fake-socket.ts';

/**
 * returns-panel.ts: `GET /api/portfolio/returns?range=` for the range shown (answers parsed by
 * returnsResponse), each figure in words (the realized P/L with the sells it leaves out), the
 * answer's marks as a list, an answer for a range no longer shown dropped, a refusal said in the
 * caption, and a new value point asking again.
 */

afterEach(() => {
  vi.useRealTimers();
  vi.unstubAllGlobals();
  document.body.replaceChildren();
});

function returnsOf(range: ReturnsResponse['range'], fields: Partial<ReturnsResponse> = {}): Answer {
  return answer(returnsResponse, {
    range,
    baseCurrency: 'USD',
    accountId: null,
    start: { at: '2026-05-01T20:00:00.000Z', value: '1000.00' },
    end: { at: '2026-06-01T20:00:00.000Z', value: '1100.00' },
    simpleReturn: '0.1',
    twr: '0.0512',
    mwr: { annual: '0.8', period: '0.05' },
    flows: { known: true, net: '0.00', inflows: '0.00', outflows: '0.00', count: 0, internalTransferLegs: 0, notValued: 0 },
    income: { dividends: '12.00', interest: '0.50', total: '12.50' },
    unrealizedPl: '-20.00',
    realized: { pl: '100.00', sells: 1, notValued: 0 },
    marks: [],
    ...fields,
  });
}

function mount(routeAnswer: (range: string) => Answer | Promise<Answer>) {
  const api = installFakeApi({ 'GET /api/portfolio/returns': (r) => routeAnswer(new URL(r.url, 'http://page').searchParams.get('range')!) });
  const server = fakeSocket();
  const container = document.body.appendChild(document.createElement('div'));
  const panel = renderReturnsPanel(container, server.socket, 'token-1');
  const text = (testId: string) => container.querySelector(`[data-testid="${testId}"]`)?.textContent ?? null;
  return { api, server, panel, text, container };
}

describe('the returns panel', () => {
  it('shows each figure of the range in words, and the marks the answer gives', async () => {
    const { api, panel, text, container } = mount((range) =>
      returnsOf(range as ReturnsResponse['range'], {
        flows: { known: false, net: '0', inflows: '0', outflows: '0', count: 0, internalTransferLegs: 0, notValued: 0 },
        marks: [{ code: 'flows-unknown', message: 'No activities are known: deposits and withdrawals count as gains.' }],
      }),
    );
    panel.show('1M');
    await expect.poll(() => text('returns-twr')).toBe('+5.12%');
    expect(text('returns-mwr')).toBe('+5.00% for the period (+80.00% a year)');
    expect(text('returns-simple')).toBe('+10.00%');
    expect(text('returns-flows')).toBe('unknown');
    expect(text('returns-income')).toMatch(/12\.50 \(dividends .*12\.00, interest .*0\.50\)/);
    expect(text('returns-unrealized')).toMatch(/-.*20\.00/);
    expect(container.querySelector('[data-testid="returns-unrealized"]')!.className).toBe('neg');
    expect(text('returns-realized')).toMatch(/^.*100\.00 \(1 sell\)$/);
    expect(container.querySelector('[data-testid="returns-realized"]')!.className).toBe('pos');
    expect(Array.from(container.querySelectorAll('[data-testid="returns-marks"] li'), (li) => li.textContent)).toEqual([
      'No activities are known: deposits and withdrawals count as gains.',
    ]);
    expect(text('returns-caption')).toMatch(/^1M: .*1,000\.00 on .* to .*1,100\.00 now$/);
    expect(api.requests.map((r) => [r.url, r.headers.get('authorization')])).toEqual([['/api/portfolio/returns?range=1M', 'Bearer token-1']]);
  });

  it('says how many sells the realized P/L leaves out, and when there were none', async () => {
    const { panel, text } = mount((range) =>
      range === '1M' ? returnsOf('1M', { realized: { pl: '-40.00', sells: 3, notValued: 2 } }) : returnsOf('1W', { realized: { pl: '0', sells: 0, notValued: 0 } }),
    );
    panel.show('1M');
    await expect.poll(() => text('returns-realized')).toMatch(/^-.*40\.00 \(2 of 3 sells left out: cost unknown\)$/);
    panel.show('1W');
    await expect.poll(() => text('returns-realized')).toMatch(/^.*0\.00 \(no sells\)$/);
  });

  it('an answer for a range no longer shown is dropped', async () => {
    let answerSlow!: (a: Answer) => void;
    const { api, panel, text } = mount((range) => (range === '1M' ? new Promise<Answer>((resolve) => (answerSlow = resolve)) : returnsOf('1Y', { twr: '0.2' })));
    panel.show('1M');
    panel.show('1Y');
    await expect.poll(() => text('returns-twr')).toBe('+20.00%');
    answerSlow(returnsOf('1M'));
    // The panel has read the 1M answer, yet the 1Y figures stay.
    await expect.poll(() => api.read).toBe(2);
    expect(text('returns-twr')).toBe('+20.00%');
    expect(text('returns-caption')).toMatch(/^1Y: /);
  });

  it('a refusal is said in the caption', async () => {
    const { panel, text } = mount(() => refusal('FS_STORAGE_UNAVAILABLE', 'Postgres is unavailable; retry'));
    panel.show('1W');
    await expect.poll(() => text('returns-caption')).toBe('Postgres is unavailable; retry');
  });

  it('a new value point asks for the range shown again, once for a burst', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const { api, server, panel } = mount((range) => returnsOf(range as ReturnsResponse['range']));
    panel.show('1D');
    const point = { at: new Date().toISOString(), baseCurrency: 'USD', totalValue: '1100.00', invested: '1100.00', cash: '0', costBasis: null, unrealizedPl: null, dayChange: null };
    server.serverSends('portfolio:history', point);
    server.serverSends('portfolio:history', point);
    server.serverSends('activities:update', { accountId: 'a', activities: [], at: point.at });
    expect(api.requests).toHaveLength(1);
    vi.advanceTimersByTime(1_000);
    expect(api.requests.map((r) => r.url)).toEqual(['/api/portfolio/returns?range=1D', '/api/portfolio/returns?range=1D']);
  });
});
