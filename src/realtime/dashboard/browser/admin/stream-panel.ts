import type { UserStreamResponse } from '../../../../api/admin-stream-schemas.ts';
import type { AdminApi } from './admin-api.ts';
import { h, jsonDetails, message, stackTable, when } from './dom.ts';

/** Browse one user's partition stream or dead letters, a page at a time. */
export interface StreamPanel {
  element: HTMLElement;
  /** Fills in the user and shows their newest events (from a link elsewhere on the page). */
  show(userId: string): void;
}

export function streamPanel(api: AdminApi): StreamPanel {
  const user = h('input', { type: 'text', name: 'user', placeholder: 'user id', 'aria-label': 'user id', autocomplete: 'off', required: true });
  const stream = h('select', { name: 'stream', 'aria-label': 'stream' }, h('option', { value: 'events' }, 'Events'), h('option', { value: 'dead' }, 'Dead letters'));
  const order = h('select', { name: 'order', 'aria-label': 'order' }, h('option', { value: 'newest' }, 'Newest first'), h('option', { value: 'oldest' }, 'Oldest first'));
  const limit = h('input', { type: 'number', name: 'limit', min: 1, max: 200, value: 50, 'aria-label': 'entries per page', style: 'width: 5.5em' });
  const output = h('div', { 'data-testid': 'stream-output' });
  const submit = h('button', { type: 'submit' }, 'Show');
  const form = h('form', { class: 'row' }, user, stream, order, h('label', {}, 'per page', limit), submit);
  /** Stream ids where the pages shown so far started, for going back. */
  let cursors: (string | null)[] = [];

  async function load(cursor: string | null): Promise<void> {
    const id = user.value.trim();
    if (!id) {
      output.replaceChildren(message('Enter a user id.', 'error'));
      return;
    }
    const query = new URLSearchParams({ stream: stream.value, order: order.value, limit: limit.value || '50' });
    if (cursor) query.set('cursor', cursor);
    submit.disabled = true;
    try {
      const page = await api.get<UserStreamResponse>(`/api/admin/users/${encodeURIComponent(id)}/stream?${query}`);
      render(page, cursor);
    } catch (err) {
      output.replaceChildren(message((err as Error).message, 'error'));
    } finally {
      submit.disabled = false;
    }
  }

  function render(page: UserStreamResponse, cursor: string | null): void {
    const dead = page.stream === 'dead';
    const summary = h(
      'p',
      { class: 'muted', 'data-testid': 'stream-summary' },
      `${page.userId} · partition ${page.partition} · ${dead ? 'dead letters' : 'events'}, ${page.order} first · ${page.entries.length} on this page (${page.scanned} partition entries read)`,
    );
    const rows = page.entries.map((entry) =>
      h(
        'tr',
        { 'data-stream-id': entry.streamId },
        h('td', { class: 'id' }, entry.streamId),
        h('td', { class: 'nowrap' }, when(entry.envelope?.time)),
        h('td', { class: 'nowrap' }, entry.envelope ? typeOf(entry.envelope) : h('span', { class: 'removed' }, 'does not decode')),
        dead ? h('td', { class: 'reason' }, entry.deadLetter?.reason ?? '') : null,
        h('td', {}, entry.envelope ? jsonDetails(entry.envelope.id, entry.envelope) : h('div', {}, entry.error ?? '', jsonDetails('raw', entry.raw))),
      ),
    );
    const headers = ['Stream id', 'Time', 'Type', ...(dead ? ['Why parked'] : []), 'Envelope'];
    const table = rows.length
      ? stackTable({ 'data-testid': 'stream-entries' }, headers, rows)
      : message(page.next ? 'None of this user\'s entries on this page; older ones may follow.' : 'No entries for this user.');
    const back = cursors.length > 0;
    const nav = h(
      'div',
      { class: 'row' },
      back &&
        h('button', {
          type: 'button',
          class: 'secondary',
          onclick: () => {
            const previous = cursors.pop() ?? null;
            void load(previous);
          },
        }, '← Previous page'),
      page.next &&
        h('button', {
          type: 'button',
          class: 'secondary',
          onclick: () => {
            cursors.push(cursor);
            void load(page.next);
          },
        }, 'Next page →'),
    );
    output.replaceChildren(summary, table, nav);
  }

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    cursors = [];
    void load(null);
  });

  return {
    element: h('section', { class: 'panel', 'aria-labelledby': 'stream-title' }, h('h2', { id: 'stream-title' }, "A user's stream"), form, output),
    show(userId) {
      user.value = userId;
      stream.value = 'events';
      cursors = [];
      void load(null);
      user.scrollIntoView({ behavior: 'smooth', block: 'center' });
    },
  };
}

/** The event type, with the webhook's own type (`snaptrade.webhook: ACCOUNT_HOLDINGS_UPDATED`) and a retry marked. */
function typeOf(envelope: NonNullable<UserStreamResponse['entries'][number]['envelope']>): string {
  const hook = envelope.meta?.eventType;
  const retry = envelope.meta?.retryOf;
  return `${envelope.type}${typeof hook === 'string' ? `: ${hook}` : ''}${typeof retry === 'string' ? ` (retry of ${retry})` : ''}`;
}
