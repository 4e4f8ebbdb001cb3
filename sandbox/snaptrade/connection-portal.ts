import express, { type Router } from 'express';
import type { Logger } from '../../src/logging/logger.ts';
import { SANDBOX_BROKERAGES, findBrokerage } from '../scenario/brokerages.ts';
import { FAILED_ATTEMPT_RESULTS, type FailedAttemptResult, type ScenarioEngine } from '../scenario/scenario-engine.ts';
import type { PortalSession, PortalSessions } from './portal-sessions.ts';

/**
 * The sandbox's connection portal: the page a login `redirectURI` opens. Plain server-rendered
 * HTML and a form POST (works in any browser, headless Chromium included, and with `fetch`).
 * Choosing a brokerage and pressing Connect does what finishing SnapTrade's portal does: the
 * authorization and its accounts appear (holdings from the scenario) and the webhooks go out.
 * A reconnect session (login with `reconnect`) fixes that connection instead.
 *
 * Page contract for scripts: the form is `form#connect` with fields `token`, `brokerage`
 * (radio) and `outcome` (`success`, or a documented failure result such as `INVALID_CREDENTIALS`;
 * `fail` means a wrong password); the result page has
 * `<main id="result" data-status="SUCCESS|FAILED" data-authorization-id="...">`.
 */
function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)} · SnapTrade sandbox</title>
<style>
body{font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem;color:#1b1f24}
fieldset{border:1px solid #d0d7de;border-radius:8px;padding:1rem}label{display:block;padding:.35rem 0}
button{margin-top:1rem;padding:.6rem 1.2rem;border:0;border-radius:6px;background:#1f6feb;color:#fff;font-size:1rem}
.note{color:#57606a;font-size:.9rem}
</style></head><body>${body}</body></html>`;
}

function connectForm(session: PortalSession, engine: ScenarioEngine): string {
  const reconnecting = session.reconnect ? engine.store.authorizations.get(session.reconnect) : undefined;
  const preset = reconnecting?.brokerage ?? (session.broker ? findBrokerage(session.broker) : undefined);
  const choices = preset ? [preset] : SANDBOX_BROKERAGES;
  const radios = choices
    .map(
      (b, i) =>
        `<label><input type="radio" name="brokerage" value="${escapeHtml(b.slug)}"${i === 0 ? ' checked' : ''}> ${escapeHtml(b.displayName)}</label>`,
    )
    .join('\n');
  const heading = reconnecting ? `Reconnect ${escapeHtml(reconnecting.brokerage.displayName)}` : 'Connect your brokerage';
  return page(
    heading,
    `<h1>${heading}</h1>
<p class="note">SnapTrade sandbox connection portal. No real brokerage is contacted.</p>
<form id="connect" method="post" action="/snapTrade/redeemToken">
<input type="hidden" name="token" value="${escapeHtml(session.token)}">
<fieldset><legend>Brokerage</legend>
${radios}
</fieldset>
<fieldset><legend>Outcome</legend>
<label><input type="radio" name="outcome" value="success" checked> Log in successfully</label>
<label><input type="radio" name="outcome" value="INVALID_CREDENTIALS"> Wrong password (connection fails)</label>
<label><input type="radio" name="outcome" value="INVALID_MFA_CODE"> Wrong two-factor code (connection fails)</label>
<label><input type="radio" name="outcome" value="UNCAUGHT_ERROR"> The brokerage errs (connection fails)</label>
</fieldset>
<button type="submit" id="connect-button">Connect</button>
</form>`,
  );
}

function resultPage(status: 'SUCCESS' | 'FAILED', authorizationId: string | null, message: string): string {
  return page(
    status === 'SUCCESS' ? 'Connected' : 'Connection failed',
    `<main id="result" data-status="${status}" data-authorization-id="${escapeHtml(authorizationId ?? '')}">
<h1>${status === 'SUCCESS' ? 'Connected' : 'Connection failed'}</h1>
<p>${escapeHtml(message)}</p>
</main>`,
  );
}

/** `outcome` of the form: `success`, a documented failure result, or `fail` (a wrong password). */
function failedOutcome(outcome: string | undefined): FailedAttemptResult | undefined {
  if (outcome === 'fail') return 'INVALID_CREDENTIALS';
  return (FAILED_ATTEMPT_RESULTS as readonly string[]).includes(outcome ?? '') ? (outcome as FailedAttemptResult) : undefined;
}

const FAILURE_MESSAGES: Record<FailedAttemptResult, string> = {
  AUTH_EXPIRED: 'The login took too long. Start again.',
  INVALID_AUTH_CODE: 'The brokerage did not accept the authorization code. Start again.',
  AUTH_NOT_IN_PROGRESS: 'This login is no longer in progress. Start again.',
  DIFFERENT_ACCOUNT: 'You signed in to a different brokerage account than the one being reconnected.',
  UNCAUGHT_ERROR: 'The brokerage had a problem. Try again later.',
  INVALID_CREDENTIALS: 'The brokerage refused the credentials. Try again.',
  INVALID_MFA_CODE: 'The two-factor code was wrong. Try again.',
  NO_DATA: 'The brokerage returned no accounts.',
};

const expiredPage = () =>
  page('Link expired', '<main id="result" data-status="EXPIRED"><h1>This link has expired</h1><p>Ask the app for a new connection link.</p></main>');

export function connectionPortalRouter(deps: { engine: ScenarioEngine; portal: PortalSessions; logger: Logger }): Router {
  const router = express.Router();
  router.use(express.urlencoded({ extended: false, limit: '16kb' }));

  router.get('/snapTrade/redeemToken', (req, res) => {
    const session = deps.portal.get(typeof req.query.token === 'string' ? req.query.token : undefined);
    if (!session) {
      res.status(410).type('html').send(expiredPage());
      return;
    }
    res.type('html').send(connectForm(session, deps.engine));
  });

  router.post('/snapTrade/redeemToken', (req, res) => {
    const form = (req.body ?? {}) as Record<string, string | undefined>;
    const session = deps.portal.get(form.token);
    if (!session) {
      res.status(410).type('html').send(expiredPage());
      return;
    }
    if (!deps.engine.store.users.has(session.userId)) {
      res.status(404).type('html').send(resultPage('FAILED', null, 'This SnapTrade user no longer exists.'));
      return;
    }
    const reconnecting = session.reconnect ? deps.engine.store.authorizations.get(session.reconnect) : undefined;
    const brokerage = reconnecting?.brokerage ?? findBrokerage(form.brokerage ?? '');
    if (!brokerage) {
      res.status(400).type('html').send(resultPage('FAILED', null, 'Choose a brokerage.'));
      return;
    }
    const failure = failedOutcome(form.outcome);
    if (failure) {
      deps.engine.failConnection(session.userId, brokerage.slug, failure);
      res.status(200).type('html').send(resultPage('FAILED', null, FAILURE_MESSAGES[failure]));
      return;
    }
    if (form.outcome !== undefined && form.outcome !== 'success') {
      res.status(400).type('html').send(resultPage('FAILED', null, `Unknown outcome ${form.outcome}.`));
      return;
    }
    deps.portal.consume(session);
    let authorizationId: string;
    if (reconnecting) {
      deps.engine.fixConnection(reconnecting.id);
      authorizationId = reconnecting.id;
    } else {
      const type = session.connectionType === 'read' || !brokerage.allowsTrading ? 'read' : 'trade';
      authorizationId = deps.engine.connect(session.userId, brokerage.slug, { type }).authorization.id;
    }
    deps.logger.info({ userId: session.userId, authorizationId }, 'portal connection completed');
    if (session.customRedirect) {
      const target = new URL(session.customRedirect);
      target.searchParams.set('status', 'SUCCESS');
      target.searchParams.set('connection_id', authorizationId);
      res.redirect(303, target.toString());
      return;
    }
    res.type('html').send(resultPage('SUCCESS', authorizationId, `${brokerage.displayName} is connected. You can close this window.`));
  });

  return router;
}
