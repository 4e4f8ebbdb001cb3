// @vitest-environment happy-dom
import { afterEach, describe, expect, it } from 'vitest';
import { el } from '../../../src/realtime/dashboard/browser/dom.ts';
import { createTabs } from '../../../src/realtime/dashboard/browser/tabs.ts';

/** tabs.ts as the WAI-ARIA tabs pattern has it: one selected tab in the tab order, its panel alone shown. */

afterEach(() => document.body.replaceChildren());

function mount(selected: string[] = []) {
  const tabs = createTabs(
    'Portfolio',
    ['holdings', 'accounts', 'orders'].map((id) => ({ id, label: id, panel: el('p', {}, `${id} panel`) })),
    (id) => selected.push(id),
  );
  document.body.append(tabs.list, ...tabs.panels);
  const buttons = Array.from(tabs.list.querySelectorAll<HTMLButtonElement>('[role=tab]'));
  const press = (key: string) => (document.activeElement as HTMLElement).dispatchEvent(new KeyboardEvent('keydown', { key, bubbles: true, cancelable: true }));
  const state = () => ({
    selected: buttons.filter((b) => b.getAttribute('aria-selected') === 'true').map((b) => b.id),
    inTabOrder: buttons.filter((b) => b.tabIndex === 0).map((b) => b.id),
    shown: tabs.panels.filter((p) => !p.hidden).map((p) => p.id),
    focused: document.activeElement?.id,
  });
  return { buttons, press, state };
}

describe('tabs', () => {
  it('start on the first tab: only its panel shows and only it is in the tab order', () => {
    const { state } = mount();
    expect(state()).toMatchObject({ selected: ['tab-holdings'], inTabOrder: ['tab-holdings'], shown: ['panel-holdings'] });
  });

  it('ArrowRight and ArrowLeft move selection and focus, wrapping at both ends', () => {
    const selected: string[] = [];
    const { buttons, press, state } = mount(selected);
    buttons[0]!.focus();
    press('ArrowRight');
    expect(state()).toEqual({ selected: ['tab-accounts'], inTabOrder: ['tab-accounts'], shown: ['panel-accounts'], focused: 'tab-accounts' });
    press('ArrowLeft');
    press('ArrowLeft');
    expect(state()).toEqual({ selected: ['tab-orders'], inTabOrder: ['tab-orders'], shown: ['panel-orders'], focused: 'tab-orders' });
    press('ArrowRight');
    expect(state()).toMatchObject({ selected: ['tab-holdings'], focused: 'tab-holdings' });
    expect(selected).toEqual(['holdings', 'accounts', 'holdings', 'orders', 'holdings']);
  });

  it('End and Home go to the last and first tab; other keys do nothing', () => {
    const { buttons, press, state } = mount();
    buttons[0]!.focus();
    press('End');
    expect(state()).toEqual({ selected: ['tab-orders'], inTabOrder: ['tab-orders'], shown: ['panel-orders'], focused: 'tab-orders' });
    press('Home');
    expect(state()).toEqual({ selected: ['tab-holdings'], inTabOrder: ['tab-holdings'], shown: ['panel-holdings'], focused: 'tab-holdings' });
    press('ArrowDown');
    press('a');
    expect(state()).toMatchObject({ selected: ['tab-holdings'], focused: 'tab-holdings' });
  });

  it('a click selects its tab and shows its panel alone', () => {
    const { buttons, state } = mount();
    buttons[2]!.click();
    expect(state()).toMatchObject({ selected: ['tab-orders'], shown: ['panel-orders'] });
  });
});
