// @vitest-environment happy-dom
import { afterEach, describe, expect, it, vi } from 'vitest';
import { disconnectResponse } from '../../../src/api/schemas.ts';
import { createPortfolioStore } from '../../../src/realtime/client/portfolio-store.ts';
import { createApiClient } from '../../../src/realtime/dashboard/browser/api-client.ts';
import { renderBrokeragesPanel } from '../../../src/realtime/dashboard/browser/brokerages-panel.ts';
import { answer, installFakeApi, refusal, type Route } from './fake-api.ts';
import { fakeSocket } from './fake-socket.ts';
import { ACCOUNT_ID, CONNECTION_ID, connectionOf, holdingOf, snapshotOf } from './portfolio-fixtures.ts';

/**
 * brokerages-panel.ts over the real store and API client: a broken connection, a failed sync and
 * a failed connection attempt said in words with their reason; Disconnect asks first, and only
 * the confirmation sends `DELETE /api/snaptrade/connections/:authorizationId`.
 */

afterEach(() => {
  vi.unstubAllGlobals();
  document.body.replaceChildren();
});

const DISCONNECTED = answer(disconnectResponse, { connectionId: CONNECTION_ID, authorizationId: 'auth-questrade', status: 'removing' });

function mount(disconnect: Route = () => DISCONNECTED) {
  const api = installFakeApi({ 'DELETE /api/snaptrade/connections/auth-questrade': disconnect });
  const server = fakeSocket();
  const store = createPortfolioStore(server.socket);
  const panel = renderBrokeragesPanel(store, createApiClient('token-1', () => {}));
  document.body.append(panel);
  const text = (testId: string) => panel.querySelector<HTMLElement>(`[data-testid="${testId}"]`)?.textContent ?? null;
  const button = (testId: string) => panel.querySelector<HTMLButtonElement>(`[data-testid="${testId}"]`);
  return { api, server, store, panel, text, button };
}

describe('the brokerages panel', () => {
  it('with no connection, shows the empty state and no Refresh', () => {
    const { server, panel, button, store } = mount();
    server.serverSends('portfolio:snapshot', snapshotOf([], { accounts: [], connections: [] }));
    expect(panel.querySelector<HTMLElement>('[data-testid="empty-state"]')!.hidden).toBe(false);
    expect(button('refresh')!.hidden).toBe(true);
    store.dispose();
  });

  it('a connection that broke says so with its reason and offers Reconnect', () => {
    const { server, text, button, store } = mount();
    server.serverSends('portfolio:snapshot', snapshotOf([holdingOf('AAPL')]));
    expect(text('connection-status')).toBe('Connected');
    expect(button('reconnect')).toBeNull();
    server.serverSends('connection:status', { connectionId: CONNECTION_ID, brokerage: 'Questrade', status: 'broken', message: 'the brokerage asks you to log in again', at: new Date().toISOString() });
    expect(text('connection-status')).toBe('Needs reconnecting');
    expect(text('connection-reason')).toBe('The brokerage asks you to log in again');
    expect(button('reconnect')!.textContent).toBe('Reconnect');
    store.dispose();
  });

  it("a failed sync says why, for the account and for the user's sync", () => {
    const { server, panel, text, store } = mount();
    server.serverSends('portfolio:snapshot', snapshotOf([holdingOf('AAPL')]));
    server.serverSends('sync:status', { state: 'failed', accountId: ACCOUNT_ID, message: 'SnapTrade answered 502', at: new Date().toISOString() });
    const account = panel.querySelector<HTMLElement>(`li[data-account-id="${ACCOUNT_ID}"]`)!;
    expect(account.dataset.sync).toBe('failed');
    expect(account.querySelector('.sync')!.textContent).toBe('sync failed: SnapTrade answered 502');
    server.serverSends('sync:status', { state: 'failed', message: 'the brokerage is down', at: new Date().toISOString() });
    expect(text('sync-state')).toMatch(/^The last sync failed at .+: the brokerage is down$/);
    store.dispose();
  });

  it('a failed connection attempt is said in words, with the brokerage\'s code', () => {
    const { server, text, store } = mount();
    server.serverSends('portfolio:snapshot', snapshotOf([], { accounts: [], connections: [] }));
    server.serverSends('connection:attempt', { result: 'INVALID_CREDENTIALS', succeeded: false, brokerageId: null, at: new Date().toISOString() });
    expect(text('brokerage-progress')).toBe('Connecting failed: the brokerage refused the username or password (INVALID_CREDENTIALS). Try again.');
    store.dispose();
  });

  it('Disconnect asks first: Cancel sends nothing, the confirmation sends the DELETE and says what follows', async () => {
    const { api, server, panel, text, button, store } = mount();
    server.serverSends('portfolio:snapshot', snapshotOf([holdingOf('AAPL')], { connections: [connectionOf()] }));
    button('disconnect')!.click();
    const dialog = panel.querySelector<HTMLElement>('[role="alertdialog"]')!;
    expect(dialog.textContent).toContain('Disconnect Questrade? Its 1 account leaves foliostream with their holdings');
    Array.from(dialog.querySelectorAll('button')).find((b) => b.textContent === 'Cancel')!.click();
    expect(panel.querySelector('[role="alertdialog"]')).toBeNull();
    expect(api.requests).toEqual([]);
    button('disconnect')!.click();
    button('confirm-disconnect')!.click();
    await expect.poll(() => text('brokerage-progress')).toBe('Questrade is being disconnected; its holdings leave the page when the brokerage confirms.');
    expect(api.sent('DELETE /api/snaptrade/connections/auth-questrade')).toHaveLength(1);
    expect(panel.querySelector('[role="alertdialog"]')).toBeNull();
    store.dispose();
  });

  it('a refused disconnect is said in words', async () => {
    const { server, text, button, store } = mount(() => refusal('FS_UPSTREAM', 'SnapTrade answered 500'));
    server.serverSends('portfolio:snapshot', snapshotOf([holdingOf('AAPL')]));
    button('disconnect')!.click();
    button('confirm-disconnect')!.click();
    await expect.poll(() => text('brokerage-progress')).toBe('Questrade could not be disconnected: SnapTrade answered 500');
    store.dispose();
  });
});
