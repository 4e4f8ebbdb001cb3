import type { DevSignInResponse, DevUsersResponse } from '../../../api/schemas.ts';
import { saveToken } from './token.ts';
import { el } from './view.ts';

/** Why the person is on the sign-in page again (`/signin?reason=`). */
const REASONS: Record<string, string> = {
  expired: 'Your sign-in has expired. Sign in again to continue.',
  invalid: 'That sign-in was not accepted. Sign in again to continue.',
  'signed-out': 'You are signed out.',
  'no-token': 'The sign-in did not bring a token back. Try again.',
};

export interface SignInOptions {
  /** The development sign-in API is on (`AUTH_DEV_SIGN_IN`). */
  dev: boolean;
  /** The identity provider's sign-in page (`AUTH_SIGN_IN_URL`). */
  providerUrl: string | null;
}

/**
 * `/signin`. With development sign-in on (the demo, the sandbox): the users the engine knows, one
 * button each, and a field for a new user id; a click asks `POST /api/auth/dev/sign-in` for a token,
 * keeps it for the tab and opens the dashboard. With an identity provider: a link to its page, which
 * sends the browser back to `/auth/callback#token=...`.
 */
export function renderSignIn(root: HTMLElement, options: SignInOptions): void {
  const reason = new URLSearchParams(location.search).get('reason');
  const notice = el('p', { class: 'notice', role: 'status', 'data-testid': 'sign-in-notice' }, reason ? (REASONS[reason] ?? '') : '');
  const error = el('p', { class: 'error', role: 'alert', 'data-testid': 'sign-in-error' });
  const box = el('main', { class: 'login', 'data-testid': 'sign-in' }, el('h1', {}, 'Sign in to foliostream'), notice);
  root.replaceChildren(box);

  if (options.providerUrl) {
    box.append(el('p', {}, el('a', { class: 'button primary', href: options.providerUrl, 'data-testid': 'provider-sign-in' }, 'Sign in')));
  }
  if (!options.dev) {
    if (!options.providerUrl) {
      box.append(
        el(
          'p',
          {},
          'Sign-in is not configured here. An operator sets AUTH_SIGN_IN_URL to the identity provider\u2019s sign-in page, which sends you back to /auth/callback#token=\u2026 (see the README, \u201cSigning in\u201d).',
        ),
      );
    }
    return;
  }

  const signIn = async (userId: string, button: HTMLButtonElement) => {
    error.textContent = '';
    button.disabled = true;
    try {
      const response = await fetch('/api/auth/dev/sign-in', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ userId }),
      });
      const body = (await response.json()) as DevSignInResponse & { error?: { message: string } };
      if (!response.ok || !body.token) {
        error.textContent = body.error?.message ?? `Sign-in failed (HTTP ${response.status}).`;
        return;
      }
      saveToken(body.token);
      location.replace('/');
    } catch {
      error.textContent = 'The server did not answer. Try again.';
    } finally {
      button.disabled = false;
    }
  };

  const list = el('ul', { class: 'user-list', 'data-testid': 'sign-in-users', 'aria-label': 'users' });
  const input = el('input', { name: 'userId', id: 'sign-in-user', autocomplete: 'username', placeholder: 'e.g. alice', required: '', maxlength: '100' });
  const submit = el('button', { type: 'submit', class: 'primary', 'data-testid': 'sign-in-new' }, 'Sign in');
  const form = el('form', { class: 'sign-in-form' }, el('label', { for: 'sign-in-user' }, 'User id'), el('div', { class: 'row' }, input, submit));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    if (input.value.trim()) void signIn(input.value.trim(), submit);
  });
  box.append(
    el('p', { class: 'muted' }, 'Development sign-in: choose a user of the sandbox, or type a new user id. There is no password; production signs in through an identity provider.'),
    list,
    form,
    error,
  );

  void fetch('/api/auth/dev/users')
    .then(async (response) => {
      const body = (await response.json()) as DevUsersResponse & { error?: { message: string } };
      if (!response.ok) throw new Error(body.error?.message ?? `HTTP ${response.status}`);
      if (body.users.length === 0) list.append(el('li', { class: 'muted' }, 'No users yet: type a user id below.'));
      for (const user of body.users) {
        const button = el(
          'button',
          { type: 'button', class: 'user', 'data-user-id': user.id },
          el('b', {}, user.id),
          el('span', { class: 'muted' }, `${user.connections} ${user.connections === 1 ? 'connection' : 'connections'}`),
        );
        button.addEventListener('click', () => void signIn(user.id, button));
        list.append(el('li', {}, button));
      }
    })
    .catch((err: unknown) => {
      error.textContent = `The users could not be listed: ${(err as Error).message}`;
    });
}

/** `/auth/callback#token=...`: keeps the token for the tab, clears the address bar, opens the dashboard. */
export function completeCallback(token: string | null): void {
  location.replace(token ? '/' : '/signin?reason=no-token');
}
