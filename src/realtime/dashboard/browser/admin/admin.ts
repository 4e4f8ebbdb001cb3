import { adminApi, forgetAdminToken, saveAdminToken, savedAdminToken, signIn } from './admin-api.ts';
import { deadLetterPanel } from './dead-letter-panel.ts';
import { h, message } from './dom.ts';
import { replayPanel } from './replay-panel.ts';
import { streamPanel } from './stream-panel.ts';

/** The queue board's session cookie lasts 15 minutes; the open page renews it well before. */
const SESSION_RENEW_MS = 5 * 60_000;

/**
 * The admin page (`/admin`): sign in with the admin token, then replays, a user's stream, dead
 * letters, and a link to the queue board (bull-board), whose session cookie the page keeps fresh.
 */
export function startAdmin(root: HTMLElement): void {
  const token = savedAdminToken();
  if (token) renderAdmin(root, token);
  else renderSignIn(root);
}

function renderSignIn(root: HTMLElement, why?: string): void {
  const input = h('input', { type: 'password', name: 'token', placeholder: 'ADMIN_TOKEN', 'aria-label': 'admin token', autocomplete: 'current-password', required: true });
  const button = h('button', { type: 'submit' }, 'Sign in');
  const status = h('div', { 'aria-live': 'polite' }, why ? message(why, 'error') : null);
  const form = h(
    'form',
    { class: 'login' },
    h('h2', {}, 'foliostream admin'),
    h('p', { class: 'muted' }, 'Sign in with the admin token the server runs with (', h('code', {}, 'ADMIN_TOKEN'), '). It stays in this tab only.'),
    input,
    button,
    status,
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const entered = input.value.trim();
    if (!entered) return;
    button.disabled = true;
    status.replaceChildren(message('Checking…'));
    void signIn(entered).then((failure) => {
      button.disabled = false;
      if (failure) {
        status.replaceChildren(message(failure, 'error'));
        return;
      }
      saveAdminToken(entered);
      renderAdmin(root, entered);
    });
  });
  root.replaceChildren(form);
  input.focus();
}

function renderAdmin(root: HTMLElement, token: string): void {
  const renewal: { timer?: ReturnType<typeof setInterval> } = {};
  const signOut = (why?: string) => {
    clearInterval(renewal.timer);
    forgetAdminToken();
    renderSignIn(root, why);
  };
  const api = adminApi(token, (why) => signOut(why));
  // The queue board's cookie: now (a reload with the token kept) and every few minutes.
  const renewSession = () => api.post('/api/admin/session').catch(() => undefined);
  void renewSession();
  renewal.timer = setInterval(() => void renewSession(), SESSION_RENEW_MS);

  const stream = streamPanel(api);
  const header = h(
    'header',
    {},
    h('h1', {}, 'foliostream admin'),
    h(
      'nav',
      {},
      h('a', { href: '/admin/queues/', target: '_blank', rel: 'noopener', 'data-testid': 'queues-link' }, 'Queues (bull-board) ↗'),
      h('a', { href: '/' }, 'Dashboard'),
      h(
        'button',
        {
          type: 'button',
          class: 'secondary',
          onclick: () => {
            void api.delete('/api/admin/session').catch(() => undefined);
            signOut();
          },
        },
        'Sign out',
      ),
    ),
  );
  root.replaceChildren(header, h('main', {}, replayPanel(api, stream.show), stream.element, deadLetterPanel(api, stream.show)));
}
