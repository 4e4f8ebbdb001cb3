/** Tiny DOM building for the admin page: elements with attributes, listeners and children. */

type Child = Node | string | null | undefined | false;
type Attr = string | number | boolean | undefined | ((event: Event) => void);

/**
 * `h('button', {class: 'danger', onclick: fn, disabled: true}, 'Retry')`: attributes set as given
 * (`true` as an empty attribute, `false`/`undefined` left out), `on*` functions as listeners,
 * children appended (strings as text, never as HTML).
 */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, Attr> = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (typeof value === 'function') node.addEventListener(name.slice(2), value);
    else if (value === true) node.setAttribute(name, '');
    else if (value !== false && value !== undefined) node.setAttribute(name, String(value));
  }
  for (const child of children) if (child !== null && child !== undefined && child !== false) node.append(child);
  return node;
}

/** A line of text saying how something went: `ok`, `error`, or neutral. */
export function message(text: string, kind: 'ok' | 'error' | '' = ''): HTMLElement {
  return h('p', { class: `message ${kind}`.trim(), role: kind === 'error' ? 'alert' : 'status' }, text);
}

/** A value from the API as short text: strings as they are, null as a dash, the rest as JSON. */
export function shown(value: unknown): string {
  if (value === null || value === undefined) return '—';
  if (typeof value === 'string') return value;
  return JSON.stringify(value);
}

/** An ISO time as the browser's local date and time. */
export function when(iso: string | null | undefined): string {
  if (!iso) return '—';
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleString();
}

/** A collapsed block of pretty JSON. */
export function jsonDetails(label: string, value: unknown): HTMLElement {
  return h('details', {}, h('summary', {}, label), h('pre', {}, JSON.stringify(value, null, 2)));
}

/**
 * A table whose rows stack into labelled lines on a narrow screen (`table.stack` in the page's
 * CSS): each cell gets its column's header as `data-label`.
 */
export function stackTable(attrs: Record<string, Attr>, headers: readonly string[], rows: readonly HTMLTableRowElement[]): HTMLElement {
  for (const row of rows) {
    Array.from(row.cells).forEach((cell, i) => {
      if (headers[i]) cell.dataset.label = headers[i];
    });
  }
  const { class: className, ...rest } = attrs;
  return h(
    'div',
    { class: 'scroll' },
    h('table', { ...rest, class: `stack ${typeof className === 'string' ? className : ''}`.trim() }, h('thead', {}, h('tr', {}, ...headers.map((t) => h('th', {}, t)))), h('tbody', {}, ...rows)),
  );
}
