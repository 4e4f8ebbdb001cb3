/** The dashboard's DOM helpers: element creation, and cells that flash when their value changes. */

export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string> = {},
  ...children: (Node | string)[]
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
  node.append(...children);
  return node;
}

const FLASHES = ['flash-up', 'flash-down', 'flash'];

/**
 * Sets a cell's text (`content`: a string, or nodes with `text` as what counts as a change); when it
 * changed (not on first fill), flashes it up, down or neutral by `numeric`.
 */
export function setCell(cell: HTMLElement, text: string, numeric: string | null, extraClass = '', content?: () => Node[]): void {
  const previous = cell.dataset.value;
  const changed = cell.dataset.text !== text && cell.dataset.filled === '1';
  const flashing = FLASHES.find((f) => cell.classList.contains(f));
  if (cell.dataset.text !== text || cell.dataset.filled !== '1') {
    if (content) cell.replaceChildren(...content());
    else cell.textContent = text;
  }
  cell.dataset.text = text;
  cell.dataset.filled = '1';
  cell.dataset.value = numeric ?? '';
  if (!changed) {
    cell.className = flashing ? `${extraClass} ${flashing}` : extraClass;
    return;
  }
  const before = previous ? Number(previous) : NaN;
  const after = numeric !== null ? Number(numeric) : NaN;
  const direction = after > before ? 'flash-up' : after < before ? 'flash-down' : 'flash';
  cell.className = extraClass;
  void cell.offsetWidth; // restart the animation when the cell changes again while flashing
  cell.classList.add(direction);
  cell.dataset.changes = String(Number(cell.dataset.changes ?? '0') + 1);
}
