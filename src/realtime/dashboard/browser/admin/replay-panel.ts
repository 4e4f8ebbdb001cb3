import type { ReplayStarted, ReplayStatusBody } from '../../../../api/schemas.ts';
import type { AdminApi } from './admin-api.ts';
import { h, message, shown, stackTable, when } from './dom.ts';

type UserReport = ReplayStatusBody['report']['users'][number];
type EntityDiff = UserReport['differences']['holdings'];

const REPLAY_KEY = 'foliostream.adminReplay';
const POLL_MS = 1_000;
const KINDS = [
  ['holdings', 'Holdings'],
  ['accounts', 'Accounts'],
  ['connections', 'Connections'],
  ['orders', 'Orders'],
  ['settings', 'Settings'],
] as const;

/** Start a replay (some users or all, dry run, from the start), watch it, read its diff. */
export function replayPanel(api: AdminApi, showStream: (userId: string) => void): HTMLElement {
  const some = h('input', { type: 'radio', name: 'scope', value: 'users', checked: true });
  const all = h('input', { type: 'radio', name: 'scope', value: 'all' });
  const users = h('textarea', { name: 'users', rows: 2, placeholder: 'user ids, separated by spaces, commas or new lines', 'aria-label': 'user ids' });
  const dryRun = h('input', { type: 'checkbox', name: 'dryRun', checked: true });
  const fromStart = h('input', { type: 'checkbox', name: 'fromStart' });
  const start = h('button', { type: 'submit' }, 'Start replay');
  const formStatus = h('div', { 'aria-live': 'polite' });
  const output = h('div', { 'data-testid': 'replay-output' });
  const form = h(
    'form',
    {},
    h('div', { class: 'row' }, h('label', {}, some, 'These users'), h('label', {}, all, 'All users')),
    h('div', { class: 'row' }, users),
    h(
      'div',
      { class: 'row' },
      h('label', { title: 'Report the differences; repair nothing' }, dryRun, 'Dry run (report only)'),
      h('label', { title: 'Ignore snapshots: fold every event still in the stream' }, fromStart, 'From the start'),
      start,
    ),
    formStatus,
  );
  const syncScope = () => {
    users.disabled = all.checked;
  };
  some.addEventListener('change', syncScope);
  all.addEventListener('change', syncScope);
  let polling: ReturnType<typeof setTimeout> | undefined;

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const ids = users.value.split(/[\s,]+/).filter(Boolean);
    if (!all.checked && ids.length === 0) {
      formStatus.replaceChildren(message('Enter at least one user id, or choose all users.', 'error'));
      return;
    }
    if (!dryRun.checked && !window.confirm(`Repair ${all.checked ? 'every user' : ids.join(', ')} from the stream? Live rows that differ are rewritten.`)) return;
    start.disabled = true;
    formStatus.replaceChildren(message('Starting…'));
    const body = { ...(all.checked ? { all: true } : { users: ids }), dryRun: dryRun.checked, fromStart: fromStart.checked };
    api.post<ReplayStarted>('/api/admin/replays', body).then(
      (started) => {
        formStatus.replaceChildren();
        sessionStorage.setItem(REPLAY_KEY, started.id);
        watch(started.id);
      },
      (err: Error) => formStatus.replaceChildren(message(err.message, 'error')),
    ).finally(() => {
      start.disabled = false;
    });
  });

  function watch(id: string): void {
    clearTimeout(polling);
    const tick = async () => {
      let status: ReplayStatusBody;
      try {
        status = await api.get<ReplayStatusBody>(`/api/admin/replays/${encodeURIComponent(id)}`);
      } catch (err) {
        output.replaceChildren(message((err as Error).message, 'error'));
        if ((err as { status?: number }).status === 404) sessionStorage.removeItem(REPLAY_KEY);
        return;
      }
      output.replaceChildren(renderStatus(status, showStream));
      if (status.state === 'queued' || status.state === 'running') polling = setTimeout(() => void tick(), POLL_MS);
    };
    void tick();
  }

  const last = sessionStorage.getItem(REPLAY_KEY);
  if (last) watch(last);
  return h('section', { class: 'panel', 'aria-labelledby': 'replay-title' }, h('h2', { id: 'replay-title' }, 'Replay'), form, output);
}

function renderStatus(status: ReplayStatusBody, showStream: (userId: string) => void): HTMLElement {
  const { done, total } = status.progress;
  const finished = status.state === 'done' || status.state === 'failed';
  const head = h(
    'div',
    { class: 'row' },
    h('span', { class: `pill ${status.state}`, 'data-testid': 'replay-state' }, status.state),
    h('progress', { value: done, max: Math.max(total, 1), 'aria-label': 'replay progress' }),
    h('span', { 'data-testid': 'replay-progress' }, `${done} of ${total} users`),
    h('span', { class: 'muted' }, `${status.dryRun ? 'dry run' : 'repairing'}${status.fromStart ? ', from the start' : ', from the latest snapshot'}`),
  );
  const times = h(
    'p',
    { class: 'muted' },
    `Replay ${status.id} · started ${when(status.startedAt)}${status.finishedAt ? ` · finished ${when(status.finishedAt)}` : ''}`,
  );
  const parts: (HTMLElement | null)[] = [head, times];
  if (status.error) parts.push(message(`The replay failed: ${status.error}`, 'error'));
  const { report } = status;
  if (finished || report.users.length > 0) {
    const differing = report.users.filter((u) => u.differed !== false);
    parts.push(
      h(
        'p',
        { 'data-testid': 'replay-summary' },
        `${report.matched} matched · ${report.differed} differed · ${report.repaired} repaired`,
      ),
    );
    if (finished && differing.length === 0 && !status.error) {
      parts.push(message(`No differences: every replayed user matches the live state (${report.matched} ${report.matched === 1 ? 'user' : 'users'}).`, 'ok'));
    }
    for (const user of differing) parts.push(userReport(user, status.dryRun, showStream));
  }
  return h('div', {}, ...parts);
}

function userReport(user: UserReport, dryRun: boolean, showStream: (userId: string) => void): HTMLElement {
  const facts = [
    `${user.eventsReplayed} events replayed`,
    user.fromSnapshot ? `from snapshot ${user.fromSnapshot}` : 'from the start',
    user.repaired ? 'repaired' : dryRun ? 'not repaired (dry run)' : 'not repaired',
  ];
  const tables = KINDS.flatMap(([kind, label]) => {
    const diff = user.differences[kind];
    // Reports written before settings were compared have none.
    if (!diff) return [];
    const rows = diffRows(diff);
    if (rows.length === 0) return [];
    return [
      h('div', { class: 'diff-kind' }, label),
      stackTable({ 'data-diff': kind }, ['Change', 'Key', 'Field', 'Live', 'Rebuilt'], rows),
    ];
  });
  const skipped = user.skipped.length
    ? h('p', { class: 'muted' }, `Skipped ${user.skipped.length} events the fold could not apply: ${user.skipped.map((s) => `${s.id} (${s.type}: ${s.error})`).join('; ')}`)
    : null;
  return h(
    'div',
    { class: 'user-report', 'data-user': user.userId },
    h('h3', {}, user.userId, ' ', h('a', { href: '#', style: 'font-size: 12px; font-weight: 400', onclick: (event) => (event.preventDefault(), showStream(user.userId)) }, 'browse stream')),
    h('p', { class: 'muted' }, facts.join(' · ')),
    ...tables,
    skipped,
  );
}

function diffRows(diff: EntityDiff): HTMLTableRowElement[] {
  const row = (change: 'added' | 'removed' | 'changed', key: string, field: string, live: unknown, rebuilt: unknown) =>
    h('tr', { 'data-change': change }, h('td', { class: change }, change), h('td', { class: 'id' }, key), h('td', {}, field), h('td', {}, shown(live)), h('td', {}, shown(rebuilt)));
  // An added or removed row shows each of its fields, its key on the first.
  const fields = (record: Record<string, unknown>) => (Object.keys(record).length ? Object.entries(record) : [['—', null] as const]);
  return [
    ...diff.added.flatMap((a) => fields(a.rebuilt).map(([field, value], i) => row('added', i === 0 ? a.key : '', field, null, value))),
    ...diff.removed.flatMap((r) => fields(r.live).map(([field, value], i) => row('removed', i === 0 ? r.key : '', field, value, null))),
    ...diff.changed.flatMap((c) => c.fields.map((f, i) => row('changed', i === 0 ? c.key : '', f.field, f.live, f.rebuilt))),
  ];
}
