import { el } from './view.ts';

/**
 * `/connected`: where the brokerage portal sends the browser after a connection
 * (`customRedirect`). Opened from the dashboard, it is the portal's own window: it says so and
 * closes (the dashboard follows the connection itself). Reached in the dashboard's tab (pop-ups
 * blocked), it goes back to the dashboard.
 */
export function renderConnected(root: HTMLElement): void {
  if (!window.opener) {
    location.replace('/');
    return;
  }
  const status = new URLSearchParams(location.search).get('status');
  root.replaceChildren(
    el(
      'main',
      { class: 'login', 'data-testid': 'connected' },
      el('h1', {}, status === 'SUCCESS' ? 'Brokerage connected' : 'Back from the brokerage'),
      el('p', {}, 'You can close this window: foliostream shows the connection as it syncs.'),
    ),
  );
  window.close();
}
