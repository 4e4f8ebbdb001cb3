import { el } from './dom.ts';

/**
 * Tabs as the WAI-ARIA pattern has them: a tablist of buttons (the selected one in the tab order,
 * the arrow keys, Home and End move between them) over panels of which one shows.
 */
export interface Tab {
  id: string;
  label: string;
  panel: HTMLElement;
}

export function createTabs(label: string, tabs: readonly Tab[], onSelect?: (id: string) => void): { list: HTMLElement; panels: HTMLElement[]; select(id: string): void } {
  const buttons = tabs.map((tab) =>
    el('button', { type: 'button', role: 'tab', id: `tab-${tab.id}`, 'aria-controls': `panel-${tab.id}`, 'data-testid': `tab-${tab.id}` }, tab.label),
  );
  const panels = tabs.map((tab) => {
    const panel = el('section', { role: 'tabpanel', id: `panel-${tab.id}`, 'aria-labelledby': `tab-${tab.id}`, class: 'tab-panel' }, tab.panel);
    return panel;
  });
  function select(id: string): void {
    tabs.forEach((tab, i) => {
      const selected = tab.id === id;
      buttons[i]!.setAttribute('aria-selected', String(selected));
      buttons[i]!.tabIndex = selected ? 0 : -1;
      panels[i]!.hidden = !selected;
    });
    onSelect?.(id);
  }
  buttons.forEach((button, i) => {
    button.addEventListener('click', () => select(tabs[i]!.id));
    button.addEventListener('keydown', (event) => {
      const moves: Record<string, number> = { ArrowRight: i + 1, ArrowLeft: i - 1, Home: 0, End: tabs.length - 1 };
      const target = moves[event.key];
      if (target === undefined) return;
      event.preventDefault();
      const next = (target + tabs.length) % tabs.length;
      select(tabs[next]!.id);
      buttons[next]!.focus();
    });
  });
  select(tabs[0]!.id);
  return { list: el('div', { role: 'tablist', 'aria-label': label, class: 'tabs' }, ...buttons), panels, select };
}
