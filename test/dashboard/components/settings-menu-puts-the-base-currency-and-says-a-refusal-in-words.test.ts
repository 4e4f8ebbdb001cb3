// @vitest-environment happy-dom
import { afterEach, describe, expect, it, vi } from 'vitest';
import { settingsChangeResponse, settingsResponse } from '../../../src/api/schemas.ts';
import { createPortfolioStore } from '../../../src/realtime/client/portfolio-store.ts';
import { createApiClient } from '../../../src/realtime/dashboard/browser/api-client.ts';
import { renderSettingsMenu } from '../../../src/realtime/dashboard/browser/settings-menu.ts';
import { answer, installFakeApi, refusal, type Route } from './fake-api.ts';
import { fakeSocket } from './fake-socket.ts';
import { holdingOf, snapshotOf, totalsFor } from './portfolio-fixtures.ts';

/**
 * settings-menu.ts with the real API client (as main.ts wires it) over a fake fetch: the choices
 * come from `GET /api/me/settings` once the first snapshot is in; choosing one sends
 * `PUT /api/me/settings` and waits for the pushed portfolio in it; a refusal or no answer is said
 * in words and the select goes back to the base the page shows.
 */

afterEach(() => {
  vi.unstubAllGlobals();
  document.body.replaceChildren();
});

const SETTINGS = answer(settingsResponse, { baseCurrency: 'USD', supportedBaseCurrencies: ['CAD', 'EUR', 'USD'] });

function mount(put: Route) {
  const api = installFakeApi({ 'GET /api/me/settings': () => SETTINGS, 'PUT /api/me/settings': put });
  const server = fakeSocket();
  const store = createPortfolioStore(server.socket);
  const menu = renderSettingsMenu(store, createApiClient('token-1', () => {}));
  document.body.append(menu);
  const select = menu.querySelector<HTMLSelectElement>('[data-testid="base-currency"]')!;
  const status = menu.querySelector<HTMLElement>('[data-testid="base-currency-status"]')!;
  const choose = (code: string) => {
    select.value = code;
    select.dispatchEvent(new Event('change'));
  };
  const ready = async () => {
    server.serverSends('portfolio:snapshot', snapshotOf([holdingOf('AAPL')]));
    await expect.poll(() => select.disabled).toBe(false);
  };
  return { api, server, store, select, status, choose, ready };
}

describe('the base-currency menu', () => {
  it('asks for the choices after the first snapshot, not before, and shows the base the page has', async () => {
    const { api, select, store, ready } = mount(() => SETTINGS);
    expect(api.requests).toEqual([]);
    expect(select.disabled).toBe(true);
    await ready();
    expect(Array.from(select.options).map((o) => o.value)).toEqual(['CAD', 'EUR', 'USD']);
    expect(select.value).toBe('USD');
    expect(api.sent('GET /api/me/settings')[0]!.headers.get('authorization')).toBe('Bearer token-1');
    store.dispose();
  });

  it('choosing a currency sends PUT /api/me/settings and settles when the portfolio arrives in it', async () => {
    const { api, server, select, status, choose, store, ready } = mount(() =>
      answer(settingsChangeResponse, { baseCurrency: 'USD', supportedBaseCurrencies: ['CAD', 'EUR', 'USD'], applied: false }, 202),
    );
    await ready();
    choose('CAD');
    expect(select.disabled).toBe(true);
    expect(status.textContent).toBe('Converting every figure to CAD…');
    await expect.poll(() => status.textContent).toBe('Saved; every figure will be converted to CAD shortly.');
    expect(api.sent('PUT /api/me/settings').map((r) => r.body)).toEqual([{ baseCurrency: 'CAD' }]);
    const inCad = holdingOf('AAPL', { marketValueBase: '137.00' });
    server.serverSends('portfolio:delta', { seq: 1, asOf: new Date().toISOString(), baseCurrency: 'CAD', totals: totalsFor([inCad]), upserted: [inCad], repriced: [], removed: [] });
    expect(status.textContent).toBe('');
    expect(select.disabled).toBe(false);
    expect(select.value).toBe('CAD');
    store.dispose();
  });

  // The words of src/users/user-settings.ts for a currency without rates.
  it('a refusal is said in words, and the select goes back to the base shown', async () => {
    const { select, status, choose, store, ready } = mount(() => refusal('FS_VALIDATION', 'baseCurrency: EUR is not a currency the engine can convert to with its exchange rates; supported: CAD, USD'));
    await ready();
    choose('EUR');
    await expect.poll(() => status.textContent).toBe('The base currency was not changed: baseCurrency: EUR is not a currency the engine can convert to with its exchange rates; supported: CAD, USD');
    expect(status.className).toBe('neg');
    expect(select.value).toBe('USD');
    expect(select.disabled).toBe(false);
    store.dispose();
  });

  it('no answer at all is said too', async () => {
    const { select, status, choose, store, ready } = mount(() => Promise.reject(new TypeError('Failed to fetch')));
    await ready();
    choose('CAD');
    await expect.poll(() => status.textContent).toBe('The base currency was not changed: the server did not answer; try again.');
    expect(select.value).toBe('USD');
    store.dispose();
  });
});
