import type { SettingsChangeResponse, SettingsResponse } from '../../../api/schemas.ts';
import type { PortfolioStore } from '../../client/portfolio-store.ts';
import type { ApiClient } from './api-client.ts';
import { el } from './view.ts';

/**
 * The base-currency select of the dashboard's header. Its choices are the currencies the engine
 * can value the portfolio in (`GET /api/me/settings`); choosing one sends `PUT /api/me/settings`,
 * and the page does not redraw anything itself: the server pushes the portfolio in the new base
 * (a snapshot, and a delta that carries the base), so every figure moves together, in this tab and
 * every other one of the user. A refusal or a failure is said in words next to the select, and the
 * select goes back to the base the page shows. The choices are asked for once the first snapshot has
 * come: the socket's handshake judges the token first, so an expired one is reported as expired by
 * it, not as refused by this call.
 */
export function renderSettingsMenu(store: PortfolioStore, api: ApiClient): HTMLElement {
  const select = el('select', { 'data-testid': 'base-currency', 'aria-label': 'Base currency', disabled: '' });
  const status = el('span', { class: 'muted', 'data-testid': 'base-currency-status', role: 'status' }, '');
  const menu = el('label', { class: 'settings-menu' }, el('span', { class: 'muted' }, 'Base'), select, status);
  /** A base asked for and not shown yet. */
  let wanted: string | null = null;

  const shown = () => store.state?.baseCurrency ?? null;
  const say = (text: string, tone: 'muted' | 'neg' = 'muted') => {
    status.textContent = text;
    status.className = tone;
  };
  const options = (codes: readonly string[]) => {
    const base = shown();
    const all = base && !codes.includes(base) ? [...codes, base].sort() : [...codes];
    select.replaceChildren(...all.map((code) => el('option', { value: code }, code)));
    if (base) select.value = base;
  };

  const load = async () => {
    try {
      const answer = await api.call<SettingsResponse>('GET', '/api/me/settings');
      if (!answer.ok) {
        say(`The base currencies could not be loaded: ${answer.body.error?.message ?? `the server answered ${answer.status}`}.`, 'neg');
        return;
      }
      options(answer.body.supportedBaseCurrencies);
      if (!shown()) select.value = answer.body.baseCurrency;
      select.disabled = false;
    } catch {
      say('The base currencies could not be loaded: the server did not answer.', 'neg');
    }
  };

  const settled = () => {
    wanted = null;
    select.disabled = false;
    say('');
  };

  const refused = (why: string) => {
    wanted = null;
    select.disabled = false;
    const base = shown();
    if (base) select.value = base;
    say(`The base currency was not changed: ${why}`, 'neg');
  };

  select.addEventListener('change', () => {
    const code = select.value;
    if (code === shown()) return;
    wanted = code;
    select.disabled = true;
    say(`Converting every figure to ${code}…`);
    api.call<SettingsChangeResponse>('PUT', '/api/me/settings', { baseCurrency: code }).then(
      (answer) => {
        if (!answer.ok) refused(answer.body.error?.message ?? `the server answered ${answer.status}.`);
        else if (shown() === code) settled();
        else if (!answer.body.applied) say(`Saved; every figure will be converted to ${code} shortly.`);
      },
      () => refused('the server did not answer; try again.'),
    );
  });

  let asked = false;
  store.subscribe((event) => {
    if (event.type !== 'snapshot' && event.type !== 'delta') return;
    const base = shown();
    if (!base) return;
    if (!asked) {
      asked = true;
      void load();
    }
    if (wanted !== null) {
      if (base === wanted) settled();
      return;
    }
    // Changed in another tab (or the first snapshot): follow the page.
    if (select.value !== base) {
      if (!Array.from(select.options).some((o) => o.value === base)) select.append(el('option', { value: base }, base));
      select.value = base;
    }
  });

  if (store.state) {
    asked = true;
    void load();
  }
  return menu;
}
