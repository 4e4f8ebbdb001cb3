// @vitest-environment happy-dom
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { devSignInResponse, devUsersResponse } from '../../../src/api/schemas.ts';
import { renderSignIn } from '../../../src/realtime/dashboard/browser/sign-in.ts';
import { answer, installFakeApi, refusal, type Route } from './fake-api.ts';

/**
 * sign-in.ts with development sign-in on: the users from `GET /api/auth/dev/users` (answers parsed
 * by the API's schemas), one button each; a click asks `POST /api/auth/dev/sign-in`, keeps the
 * token for the tab and opens the dashboard; a refusal or a failed listing is said in words.
 */

const TOKEN = 'header.payload.signature';
let replace: ReturnType<typeof vi.spyOn>;

// The page leaves with location.replace: recorded here, not navigated.
beforeEach(() => {
  replace = vi.spyOn(window.location, 'replace').mockImplementation(() => {});
});
afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllGlobals();
  sessionStorage.clear();
  history.replaceState(null, '', '/');
  document.body.replaceChildren();
});

const USERS = answer(devUsersResponse, { users: [{ id: 'alice', connections: 2 }, { id: 'bob', connections: 1 }] });

function mount(routes: { users?: Route; signIn?: Route } = {}) {
  const api = installFakeApi({
    'GET /api/auth/dev/users': routes.users ?? (() => USERS),
    'POST /api/auth/dev/sign-in': routes.signIn ?? ((r) => answer(devSignInResponse, { userId: (r.body as { userId: string }).userId, token: TOKEN, expiresAt: '2026-06-02T16:00:00.000Z' })),
  });
  const root = document.body.appendChild(document.createElement('div'));
  renderSignIn(root, { dev: true, providerUrl: null });
  const users = () => Array.from(root.querySelectorAll<HTMLButtonElement>('[data-testid="sign-in-users"] button.user'));
  const error = () => root.querySelector('[data-testid="sign-in-error"]')!.textContent;
  return { api, root, users, error };
}

describe('the sign-in page', () => {
  it('lists the users the engine knows, each with its connections', async () => {
    const { users } = mount();
    await expect.poll(() => users().map((b) => b.textContent)).toEqual(['alice2 connections', 'bob1 connection']);
  });

  it('says what to do when there is no user yet', async () => {
    const { root } = mount({ users: () => answer(devUsersResponse, { users: [] }) });
    await expect.poll(() => root.querySelector('[data-testid="sign-in-users"]')!.textContent).toBe('No users yet: type a user id below.');
  });

  it('a click signs that user in: the token is kept for the tab and the dashboard opens', async () => {
    const { api, users } = mount();
    await expect.poll(() => users().length).toBe(2);
    users()[1]!.click();
    await expect.poll(() => replace.mock.calls).toEqual([['/']]);
    expect(api.sent('POST /api/auth/dev/sign-in').map((r) => r.body)).toEqual([{ userId: 'bob' }]);
    expect(sessionStorage.getItem('foliostream.token')).toBe(TOKEN);
  });

  it('a refused sign-in is said in words, the page stays and the button works again', async () => {
    const message = 'userId: a user id of 1 to 100 characters';
    const { users, error } = mount({ signIn: () => refusal('FS_VALIDATION', message) });
    await expect.poll(() => users().length).toBe(2);
    users()[0]!.click();
    await expect.poll(error).toBe(message);
    expect(replace).not.toHaveBeenCalled();
    expect(sessionStorage.getItem('foliostream.token')).toBeNull();
    expect(users()[0]!.disabled).toBe(false);
  });

  it('a listing that fails is said in words', async () => {
    const { error } = mount({ users: () => refusal('FS_FORBIDDEN', 'development sign-in is off (AUTH_DEV_SIGN_IN); sign in through your identity provider') });
    await expect.poll(error).toBe('The users could not be listed: development sign-in is off (AUTH_DEV_SIGN_IN); sign in through your identity provider');
  });

  it('says why the person is here again', () => {
    history.replaceState(null, '', '/signin?reason=expired');
    const { root } = mount();
    expect(root.querySelector('[data-testid="sign-in-notice"]')!.textContent).toBe('Your sign-in has expired. Sign in again to continue.');
  });
});
