import type { DeadLetterDiscarded, DeadLetterRetried, DeadLettersResponse } from '../../../../api/admin-stream-schemas.ts';
import type { AdminApi } from './admin-api.ts';
import { h, jsonDetails, message, stackTable, when } from './dom.ts';

type Letter = DeadLettersResponse['deadLetters'][number];

/** Parked entries of every partition: why each was parked, and retry or discard it. */
export function deadLetterPanel(api: AdminApi, showStream: (userId: string) => void): HTMLElement {
  const output = h('div', { 'data-testid': 'dead-letters' });
  const status = h('div', { 'aria-live': 'polite' });
  const refresh = h('button', { type: 'button', class: 'secondary', onclick: () => void load(null, false) }, 'Refresh');
  let letters: Letter[] = [];

  async function load(cursor: string | null, append: boolean): Promise<void> {
    refresh.disabled = true;
    try {
      const page = await api.get<DeadLettersResponse>(`/api/admin/dead-letters?limit=50${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      letters = append ? [...letters, ...page.deadLetters] : page.deadLetters;
      render(page.total, page.next);
    } catch (err) {
      status.replaceChildren(message((err as Error).message, 'error'));
    } finally {
      refresh.disabled = false;
    }
  }

  async function settle(letter: Letter, action: 'retry' | 'discard', reason?: string): Promise<void> {
    const path = `/api/admin/dead-letters/${letter.partition}/${encodeURIComponent(letter.id)}/${action}`;
    try {
      if (action === 'retry') {
        const done = await api.post<DeadLetterRetried>(path);
        status.replaceChildren(
          message(`Retried ${done.type} of ${done.user}: appended again as ${done.streamId} (${done.removed} parked ${done.removed === 1 ? 'copy' : 'copies'} removed).`, 'ok'),
        );
      } else {
        const done = await api.post<DeadLetterDiscarded>(path, { reason });
        status.replaceChildren(message(`Discarded entry ${done.entryId}${done.user ? ` of ${done.user}` : ''} (${done.removed} removed).`, 'ok'));
      }
    } catch (err) {
      status.replaceChildren(message((err as Error).message, 'error'));
    }
    await load(null, false);
  }

  function actions(letter: Letter): HTMLElement {
    const cell = h('td', { class: 'nowrap' });
    const retry = h('button', { type: 'button', disabled: letter.envelope === null, title: letter.envelope ? 'Append it again for the user\'s actor' : 'Its envelope does not decode: discard it' }, 'Retry');
    retry.addEventListener('click', () => {
      retry.disabled = true;
      void settle(letter, 'retry');
    });
    const discard = h('button', { type: 'button', class: 'danger' }, 'Discard…');
    discard.addEventListener('click', () => {
      const reason = h('input', { type: 'text', name: 'reason', placeholder: 'why (logged)', 'aria-label': 'reason for discarding', minlength: 3, maxlength: 500, required: true });
      const confirm = h('button', { type: 'submit', class: 'danger' }, 'Discard');
      const cancel = h('button', { type: 'button', class: 'secondary', onclick: () => cell.replaceChildren(retry, ' ', discard) }, 'Cancel');
      const form = h('form', { class: 'row' }, reason, confirm, cancel);
      form.addEventListener('submit', (event) => {
        event.preventDefault();
        if (reason.value.trim().length < 3) {
          reason.setCustomValidity('Say why, in a few words: it is logged.');
          reason.reportValidity();
          return;
        }
        confirm.disabled = true;
        void settle(letter, 'discard', reason.value.trim());
      });
      reason.addEventListener('input', () => reason.setCustomValidity(''));
      cell.replaceChildren(form);
      reason.focus();
    });
    cell.append(retry, ' ', discard);
    return cell;
  }

  function render(total: number, next: string | null): void {
    if (letters.length === 0) {
      output.replaceChildren(message('No dead letters: every event was applied.', 'ok'));
      return;
    }
    const rows = letters.map((letter) =>
      h(
        'tr',
        { 'data-dead-letter': `${letter.partition}/${letter.id}` },
        h('td', { class: 'nowrap' }, String(letter.partition)),
        h('td', { class: 'id' }, letter.id, h('div', { class: 'muted' }, `entry ${letter.entryId}`)),
        h('td', {}, letter.user ? h('a', { href: '#', onclick: (event) => (event.preventDefault(), showStream(letter.user!)) }, letter.user) : h('span', { class: 'muted' }, 'unknown')),
        h('td', { class: 'nowrap' }, letter.type ?? '—'),
        h('td', { class: 'reason' }, letter.reason, letter.envelope ? jsonDetails('envelope', letter.envelope) : jsonDetails('raw', letter.raw ?? '')),
        h('td', { class: 'nowrap' }, String(letter.deliveries)),
        h('td', { class: 'nowrap' }, when(letter.parkedAt), letter.parkedBy ? h('div', { class: 'muted' }, letter.parkedBy) : null),
        actions(letter),
      ),
    );
    output.replaceChildren(
      h('p', { class: 'muted' }, `${total} parked (every copy counted); ${letters.length} shown.`),
      stackTable({}, ['Partition', 'Id', 'User', 'Type', 'Why parked', 'Tries', 'Parked', ''], rows),
    );
    if (next) output.append(h('button', { type: 'button', class: 'secondary', onclick: () => void load(next, true) }, 'More'));
  }

  void load(null, false);
  return h('section', { class: 'panel', 'aria-labelledby': 'dead-title' }, h('div', { class: 'row' }, h('h2', { id: 'dead-title', style: 'margin: 0' }, 'Dead letters'), refresh), status, output);
}
