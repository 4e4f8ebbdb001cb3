// @vitest-environment happy-dom
import { afterEach, describe, expect, it, vi } from 'vitest';
import { activityListResponse, type ActivityViewBody } from '../../../src/api/schemas.ts';
import { renderActivitiesPanel } from '../../../src/realtime/dashboard/browser/activities-panel.ts';
import { answer, installFakeApi, refusal } from './fake-api.ts';
import { fakeSocket } from './fake-socket.ts';
import { ACCOUNT_ID } from './portfolio-fixtures.ts';

/**
 * activities-panel.ts: `GET /api/activities` (fake fetch, answers parsed by the API's schema), an
 * empty list said in words, a live `activities:update` put in its place by date (a new one first),
 * and a failure said in words.
 */

afterEach(() => {
  vi.unstubAllGlobals();
  document.body.replaceChildren();
});

function activity(id: string, fields: Partial<ActivityViewBody> = {}): ActivityViewBody {
  return {
    accountId: ACCOUNT_ID,
    provider: 'snaptrade',
    providerActivityId: id,
    type: 'dividend',
    providerType: 'DIVIDEND',
    tradeDate: '2026-05-01T00:00:00.000Z',
    settlementDate: null,
    symbol: 'AAPL',
    universalSymbolId: null,
    units: null,
    price: null,
    amount: '12.50',
    fee: null,
    currency: 'USD',
    amountSymbol: null,
    description: 'AAPL dividend',
    externalReferenceId: null,
    ...fields,
  };
}

function mount(activities: ActivityViewBody[]) {
  const api = installFakeApi({ 'GET /api/activities': () => answer(activityListResponse, { activities, nextCursor: null }) });
  const server = fakeSocket();
  const panel = renderActivitiesPanel(server.socket, 'token-1');
  document.body.append(panel);
  const status = panel.querySelector<HTMLElement>('[data-testid="activities-status"]')!;
  const table = panel.querySelector<HTMLElement>('[data-testid="activities"]')!;
  const rows = () => Array.from(panel.querySelectorAll<HTMLElement>('tr.activity')).map((tr) => Array.from(tr.children, (td) => td.textContent).slice(1, 3).join(' '));
  return { api, server, panel, status, table, rows };
}

describe('the activities panel', () => {
  it('without any activity, says so in words and what will appear, and shows no table', async () => {
    const { api, status, table } = mount([]);
    await expect.poll(() => status.textContent).toMatch(/^No activities yet\. Trades, dividends, interest, deposits, withdrawals and fees appear here/);
    expect(table.hidden).toBe(true);
    expect(api.requests.map((r) => [r.url, r.headers.get('authorization')])).toEqual([['/api/activities?limit=20', 'Bearer token-1']]);
  });

  it('lists the activities newest first, and puts one that arrives live before them', async () => {
    const { server, status, table, rows } = mount([activity('a1'), activity('a2', { type: 'buy', providerType: 'BUY', symbol: 'MSFT', tradeDate: '2026-05-03T00:00:00.000Z', amount: '-400.00', units: '1' })]);
    await expect.poll(rows).toEqual(['Buy MSFT', 'Dividend AAPL']);
    expect(table.hidden).toBe(false);
    server.serverSends('activities:update', {
      accountId: ACCOUNT_ID,
      activities: [activity('a3', { type: 'deposit', providerType: 'CONTRIBUTION', symbol: null, tradeDate: '2026-06-01T00:00:00.000Z', amount: '1000.00' })],
      at: new Date().toISOString(),
    });
    expect(rows()).toEqual(['Deposit —', 'Buy MSFT', 'Dividend AAPL']);
    expect(status.textContent).toBe('The 3 latest activities across your accounts, as your brokerages report them.');
  });

  it('the first activity arriving live replaces the empty state', async () => {
    const { server, status, table, rows } = mount([]);
    await expect.poll(() => status.textContent).toMatch(/^No activities yet/);
    server.serverSends('activities:update', { accountId: ACCOUNT_ID, activities: [activity('a1')], at: new Date().toISOString() });
    expect(rows()).toEqual(['Dividend AAPL']);
    expect(table.hidden).toBe(false);
    expect(status.textContent).toBe('The latest activity across your accounts, as your brokerages report them.');
  });

  it('a refusal is said in words', async () => {
    installFakeApi({ 'GET /api/activities': () => refusal('FS_STORAGE_UNAVAILABLE', 'Postgres is unavailable; retry') });
    const panel = renderActivitiesPanel(fakeSocket().socket, 'token-1');
    await expect.poll(() => panel.querySelector('[data-testid="activities-status"]')!.textContent).toBe('Activities are unavailable: Postgres is unavailable; retry.');
  });
});
