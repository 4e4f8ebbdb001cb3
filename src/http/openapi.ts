import { createRequire } from 'node:module';
import type { RequestHandler } from 'express';
import { z } from 'zod';
import { activityListQuery, adminUserId, historyQuery, replayId, requestSchemas, responseSchemas } from '../api/schemas.ts';
import { deadLetterParams, deadLettersQuery, userStreamQuery } from '../api/admin-stream-schemas.ts';
import { idempotencyKey } from '../api/schemas.ts';
import { returnsQuery } from '../api/schemas.ts';
import { ORDER_STATUSES } from '../trading/order-types.ts';
import type { Config } from '../config/config.ts';
import { KNOWN_EVENT_TYPES, WEBHOOK_SCHEMAS } from '../webhooks/webhook-schemas.ts';
import { ERRORS, type ErrorCode } from './errors.ts';

/**
 * The HTTP API as an OpenAPI 3.1 document, served at `GET /api/openapi.json`. Bodies come from
 * the zod schemas the routes validate requests with and type their answers with
 * (`src/api/schemas.ts`, the webhook's `src/webhooks/webhook-schemas.ts`), rendered by
 * `z.toJSONSchema`; error answers from the error registry (`errors.ts`). What is written by hand
 * here is the route table: paths, methods, credentials, and which error codes each route can
 * answer. `test/e2e/openapi-document-matches-the-api.test.ts` checks it against the running
 * engine: every mounted route is documented, and real requests and answers conform.
 */

type JsonSchema = Record<string, unknown>;
export type OpenApiDocument = Record<string, unknown> & { openapi: string; paths: Record<string, Record<string, unknown>> };

export interface OpenApiOptions {
  /**
   * `GET /metrics` on this server: `off` when `METRICS_PORT` moves it to a server of its own,
   * `token` behind `METRICS_TOKEN`, else `public`.
   */
  metrics: 'off' | 'public' | 'token';
}

export function openApiOptions(config: Pick<Config, 'METRICS_PORT' | 'METRICS_TOKEN'>): OpenApiOptions {
  return { metrics: config.METRICS_PORT !== undefined ? 'off' : config.METRICS_TOKEN ? 'token' : 'public' };
}

/** `GET /api/openapi.json`: public, built once. */
export function openApiHandler(options: OpenApiOptions): RequestHandler {
  const document = buildOpenApiDocument(options);
  return (_req, res) => {
    res.set('Cache-Control', 'no-cache').json(document);
  };
}

type Credentials = 'user' | 'admin' | 'signature' | 'metrics' | 'none';

interface Route {
  method: 'get' | 'post' | 'put' | 'delete';
  /** The OpenAPI path template (`{param}`). */
  path: string;
  operationId: string;
  tag: string;
  summary: string;
  description?: string;
  credentials: Credentials;
  parameters?: Record<string, unknown>[];
  requestBody?: Record<string, unknown>;
  /** The answers that are not errors, by status. */
  responses: Record<string, Record<string, unknown>>;
  /** Every error code the route can answer (their statuses come from `ERRORS`). */
  errors: ErrorCode[];
}

/**
 * Answers any request can get, before or outside its route: Node's HTTP parser refusing it (400,
 * 408, 431, 413 for oversized chunk extensions: `raw-answers.ts`) and an unexpected error (500).
 */
const ANY_REQUEST: ErrorCode[] = [
  'FS_MALFORMED_REQUEST',
  'FS_REQUEST_TIMEOUT',
  'FS_HEADERS_TOO_LARGE',
  'FS_PAYLOAD_TOO_LARGE',
  'FS_INTERNAL',
];
/** Routers behind the JSON-bodies-only guard (`content-type.ts`): a body of another type is 415. */
const GUARDED: ErrorCode[] = [...ANY_REQUEST, 'FS_UNSUPPORTED_MEDIA_TYPE'];
/** Routers that parse a JSON body (`express.json`, 16 KB), whether the route reads it or not. */
const JSON_BODY: ErrorCode[] = [...GUARDED, 'FS_MALFORMED_JSON'];

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: JsonSchema, description: string) => ({ description, content: { 'application/json': { schema } } });

function routes(options: OpenApiOptions): Route[] {
  const list: Route[] = [
    {
      method: 'post',
      path: '/api/snaptrade/connection-url',
      operationId: 'createConnectionUrl',
      tag: 'SnapTrade',
      summary: 'A SnapTrade connection portal URL',
      description:
        "Registers the user with SnapTrade on first use (the user secret is stored sealed) and answers a portal URL: open it to connect a brokerage. A registration SnapTrade no longer accepts is replaced first. `reconnect` must be one of the caller's connections (404 otherwise); one that needs re-linking is refused with 409.",
      credentials: 'user',
      requestBody: {
        required: false,
        description: 'Optional: without a body, the portal lists every brokerage.',
        content: { 'application/json': { schema: ref('ConnectionUrlRequest') } },
      },
      responses: { 200: json(ref('ConnectionUrlResponse'), 'The portal URL.') },
      errors: [...JSON_BODY, 'FS_VALIDATION', 'FS_UNAUTHENTICATED', 'FS_NOT_FOUND', 'FS_CONFLICT', 'FS_UPSTREAM', 'FS_STORAGE_UNAVAILABLE'],
    },
    {
      method: 'post',
      path: '/api/snaptrade/refresh',
      operationId: 'refreshConnections',
      tag: 'SnapTrade',
      summary: 'Refresh every connection and sync',
      description:
        'Refreshes every connection, runs a full sync and waits (up to `REFRESH_WAIT_MS`) until it is applied. One refresh per user at a time: a request while one runs joins it (`coalesced: true`); one within `REFRESH_COOLDOWN_MS` after it finished gets 429 with `Retry-After`. No body is read.',
      credentials: 'user',
      responses: { 200: json(ref('RefreshResponse'), 'The refresh ran (or is still running: `status: "pending"`).') },
      errors: [...JSON_BODY, 'FS_UNAUTHENTICATED', 'FS_RATE_LIMITED', 'FS_UPSTREAM'],
    },
    {
      method: 'delete',
      path: '/api/snaptrade/connections/{authorizationId}',
      operationId: 'disconnectBrokerage',
      tag: 'SnapTrade',
      summary: 'Disconnect a brokerage',
      description:
        "Removes the authorization at SnapTrade (one SnapTrade already forgot is removed here all the same) and schedules a sync; the connection's accounts and holdings leave the portfolio when it lands. Another user's connection, or one already removed, is 404.",
      credentials: 'user',
      parameters: [
        {
          name: 'authorizationId',
          in: 'path',
          required: true,
          description: "SnapTrade's authorization id (`externalId` of the snapshot's connection).",
          schema: { type: 'string' },
        },
      ],
      responses: { 202: json(ref('DisconnectResponse'), 'Removed at SnapTrade; the portfolio follows.') },
      errors: [...JSON_BODY, 'FS_UNAUTHENTICATED', 'FS_NOT_FOUND', 'FS_UPSTREAM', 'FS_STORAGE_UNAVAILABLE'],
    },
    {
      method: 'post',
      path: '/api/alpaca/accounts',
      operationId: 'linkAlpacaAccount',
      tag: 'Alpaca',
      summary: 'Link an internal Alpaca account',
      description:
        'The keys are checked with Alpaca first (keys Alpaca refuses are 400 and not stored), then stored sealed, and a sync is scheduled. An account linked to another user is 409.',
      credentials: 'user',
      requestBody: { required: true, content: { 'application/json': { schema: ref('AlpacaLinkRequest') } } },
      responses: { 201: json(ref('AlpacaLinkResponse'), 'Linked (or linked again).') },
      errors: [...JSON_BODY, 'FS_VALIDATION', 'FS_UNAUTHENTICATED', 'FS_CONFLICT', 'FS_UPSTREAM'],
    },
    {
      method: 'delete',
      path: '/api/alpaca/accounts/{accountId}',
      operationId: 'unlinkAlpacaAccount',
      tag: 'Alpaca',
      summary: 'Unlink an Alpaca account',
      credentials: 'user',
      parameters: [
        {
          name: 'accountId',
          in: 'path',
          required: true,
          description: "Alpaca's account id, as `POST /api/alpaca/accounts` answered it. Another user's is 404.",
          schema: { type: 'string' },
        },
      ],
      responses: { 204: { description: 'Unlinked; its positions go at the next sync.' } },
      errors: [...JSON_BODY, 'FS_UNAUTHENTICATED', 'FS_NOT_FOUND'],
    },
    {
      method: 'delete',
      path: '/api/me',
      operationId: 'deleteMe',
      tag: 'Users',
      summary: "Delete the caller's account",
      description:
        "SnapTrade's copy first (if that fails, nothing is deleted and the error says so), then everything here (README \"Deleting a user\"). 404 for a user the engine does not know.",
      credentials: 'user',
      responses: deletionAnswers(),
      errors: [...GUARDED, 'FS_UNAUTHENTICATED', 'FS_NOT_FOUND', 'FS_UPSTREAM', 'FS_STORAGE_UNAVAILABLE'],
    },
    {
      method: 'get',
      path: '/api/me/settings',
      operationId: 'getSettings',
      tag: 'Users',
      summary: "The caller's settings",
      description: 'The base currency every figure is valued in, and the currencies the engine can value the portfolio in (those its exchange rates convert to). A user the engine has not met yet has the defaults (USD).',
      credentials: 'user',
      responses: { 200: json(ref('Settings'), 'The settings.') },
      errors: [...GUARDED, 'FS_UNAUTHENTICATED'],
    },
    {
      method: 'put',
      path: '/api/me/settings',
      operationId: 'putSettings',
      tag: 'Users',
      summary: 'Change the base currency',
      description:
        "A three-letter code among `supportedBaseCurrencies`; anything else is 400 naming the field (and the supported codes). The change goes through the user's stream as `settings.changed`: their actor stores it and revalues the portfolio in the new base in one commit with its checkpoint, and every open tab gets a full `portfolio:snapshot`. 200 once applied (the answer has the new base), 202 when queued but not applied within `REFRESH_WAIT_MS`. From then on `/api/portfolio` (totals, values in the base, day change), the history (points taken in another base are left out) and the returns are in it.",
      credentials: 'user',
      requestBody: { required: true, content: { 'application/json': { schema: ref('SettingsRequest') } } },
      responses: {
        200: json(ref('SettingsChange'), 'Applied (`applied: true`).'),
        202: json(ref('SettingsChange'), 'Queued, not yet applied within the wait (`applied: false`).'),
      },
      errors: [...JSON_BODY, 'FS_VALIDATION', 'FS_UNAUTHENTICATED'],
    },
    {
      method: 'delete',
      path: '/api/admin/users/{id}',
      operationId: 'deleteUser',
      tag: 'Admin',
      summary: 'Delete a user (operator)',
      description: 'The same deletion as `DELETE /api/me`, on an operator\'s request.',
      credentials: 'admin',
      parameters: [{ name: 'id', in: 'path', required: true, schema: bodySchema(adminUserId, 'input') }],
      responses: deletionAnswers(),
      errors: [...GUARDED, 'FS_VALIDATION', 'FS_UNAUTHENTICATED', 'FS_NOT_FOUND', 'FS_UPSTREAM', 'FS_STORAGE_UNAVAILABLE'],
    },
    {
      method: 'post',
      path: '/api/admin/replays',
      operationId: 'startReplay',
      tag: 'Admin',
      summary: 'Replay users from their streams (operator)',
      description:
        "Starts a replay job: each user's actor rebuilds the user from their partition stream (from the latest snapshot, or the start with `fromStart`) with the same pure fold it applies events with, compares with the live projection, and unless `dryRun` repairs what differs in the same transaction as its checkpoint. Follow it with `GET /api/admin/replays/{id}`.",
      credentials: 'admin',
      requestBody: { required: true, content: { 'application/json': { schema: ref('ReplayRequest') } } },
      responses: { 202: json(ref('ReplayStarted'), 'Queued.') },
      errors: [...JSON_BODY, 'FS_VALIDATION', 'FS_UNAUTHENTICATED'],
    },
    {
      method: 'get',
      path: '/api/admin/replays/{id}',
      operationId: 'getReplay',
      tag: 'Admin',
      summary: 'Progress and report of a replay (operator)',
      description: 'Users done of the total, and the differences found so far: only users that differed are listed, the others are counted.',
      credentials: 'admin',
      parameters: [{ name: 'id', in: 'path', required: true, schema: bodySchema(replayId, 'input') }],
      responses: { 200: json(ref('ReplayStatus'), 'The replay.') },
      errors: ['FS_VALIDATION', 'FS_UNAUTHENTICATED', 'FS_NOT_FOUND'],
    },
    ...adminStreamRoutes(),
    {
      method: 'get',
      path: '/api/portfolio',
      operationId: 'getPortfolio',
      tag: 'Portfolio',
      summary: 'Holdings aggregated by security',
      description:
        'Holdings aggregated by security across every account, with the per-account breakdown, values in the instrument\'s and the base currency, totals, and the freshness of each number (`positionsAsOf`, `priceAsOf`, `completeness`). The socket.io `portfolio:snapshot` has the same shape (without `completeness`, with `seq`).',
      credentials: 'user',
      responses: { 200: json(ref('Portfolio'), 'The portfolio, valued with the last prices.') },
      errors: [...GUARDED, 'FS_UNAUTHENTICATED'],
    },
    {
      method: 'get',
      path: '/api/portfolio/history',
      operationId: 'getPortfolioHistory',
      tag: 'Portfolio',
      summary: 'Value history over a range',
      description:
        'The total value (and its parts) over time in the base currency: intraday points for `1D` (one a minute, taken while the user is watched) and `1W` (one per 30 minutes), daily closes (written once a market day for every user) for the longer ranges, plus `live`, the portfolio valued now. The socket.io `portfolio:history` event pushes each new intraday point.',
      credentials: 'user',
      parameters: parametersOf(historyQuery, 'query'),
      responses: { 200: json(ref('PortfolioHistory'), 'The points of the range, oldest first.') },
      errors: [...GUARDED, 'FS_VALIDATION', 'FS_UNAUTHENTICATED'],
    },
    {
      method: 'get',
      path: '/api/portfolio/returns',
      operationId: 'getPortfolioReturns',
      tag: 'Portfolio',
      summary: 'Returns over a range',
      description:
        "Time-weighted return (the value history's points chained, external cash flows from the activities taken out), money-weighted return (XIRR, annual and for the period), start and end value, net flows, income (dividends, interest) and the unrealized P/L of the current holdings. Deposits and withdrawals are flows; a transfer between two of the user's accounts is not a flow of the portfolio; dividends and interest are income. With `accountId`, the account's figures: its value points are its daily closes (none within a day, so `1D` and `1W` give no account return), its flows include transfers with the user's other accounts, its value and P/L come from its holdings and cash. `marks` say in words what the figures rest on when the data is short (fewer than two values, no activities known: flows unknown and TWR equal to the simple return).",
      credentials: 'user',
      parameters: parametersOf(returnsQuery, 'query'),
      responses: { 200: json(ref('PortfolioReturns'), 'The figures of the range.') },
      errors: [...GUARDED, 'FS_VALIDATION', 'FS_UNAUTHENTICATED', 'FS_NOT_FOUND'],
    },
    {
      method: 'get',
      path: '/api/accounts',
      operationId: 'listAccounts',
      tag: 'Portfolio',
      summary: "The caller's accounts",
      description: "Accounts with their connection's status and cash per currency; removed accounts are left out.",
      credentials: 'user',
      responses: { 200: json(ref('Accounts'), 'The accounts.') },
      errors: [...GUARDED, 'FS_UNAUTHENTICATED'],
    },
    ...orderRoutes(),
    {
      method: 'post',
      path: '/api/snaptrade/webhook',
      operationId: 'receiveSnapTradeWebhook',
      tag: 'Webhooks',
      summary: "SnapTrade's webhooks",
      description:
        "Checked in this order: content type (415: JSON, UTF-8, not compressed), size (413, `WEBHOOK_MAX_BYTES`), `Signature` present (401), JSON (400), `Signature` valid (401), fields (400 `FS_VALIDATION`), age (400 `FS_WEBHOOK_STALE`, `WEBHOOK_MAX_AGE_SECONDS`). A valid webhook is deduplicated on `webhookId` and appended to the user's stream; 200 only after Redis acknowledged, 503 when it did not (SnapTrade retries, and the retry is deduplicated). Any other method on this path is 405 `FS_METHOD_NOT_ALLOWED` with `Allow: POST`.",
      credentials: 'signature',
      requestBody: {
        required: true,
        content: { 'application/json': { schema: ref('SnapTradeWebhook') } },
      },
      responses: { 200: json(ref('WebhookAccepted'), 'Stored (or a duplicate of one stored before).') },
      errors: [
        ...ANY_REQUEST,
        'FS_UNSUPPORTED_MEDIA_TYPE',
        'FS_MALFORMED_JSON',
        'FS_VALIDATION',
        'FS_WEBHOOK_STALE',
        'FS_WEBHOOK_SIGNATURE',
        'FS_STORAGE_UNAVAILABLE',
      ],
    },
    {
      method: 'get',
      path: '/healthz',
      operationId: 'getLiveness',
      tag: 'Operations',
      summary: 'Liveness: the process is up',
      credentials: 'none',
      responses: { 200: json(ref('Health'), 'Up.') },
      errors: ANY_REQUEST,
    },
    {
      method: 'get',
      path: '/readyz',
      operationId: 'getReadiness',
      tag: 'Operations',
      summary: 'Readiness: Redis and Postgres answer, not shutting down',
      credentials: 'none',
      responses: {
        200: json(ref('Ready'), 'Ready.'),
        503: json(ref('NotReady'), '`FS_NOT_READY`: shutting down, or a dependency is down (named).'),
      },
      errors: ANY_REQUEST,
    },
    {
      method: 'get',
      path: '/api/openapi.json',
      operationId: 'getOpenApiDocument',
      tag: 'Operations',
      summary: 'This document',
      credentials: 'none',
      responses: {
        200: json({ type: 'object', required: ['openapi', 'info', 'paths'] }, 'The OpenAPI 3.1 document of this API.'),
      },
      errors: ANY_REQUEST,
    },
    {
      method: 'get',
      path: '/',
      operationId: 'getDashboard',
      tag: 'Dashboard',
      summary: 'The live dashboard',
      description:
        'An HTML page: the portfolio of the user signed in in this tab (without a sign-in it goes to `/signin`). `/#token=<jwt>` also signs in; the page removes the token from the address bar at once (the fragment never reaches the server).',
      credentials: 'none',
      responses: { 200: { description: 'The page.', content: { 'text/html': { schema: { type: 'string' } } } } },
      errors: GUARDED,
    },
    ...signInPages(),
    {
      method: 'get',
      path: '/admin',
      operationId: 'getAdminPage',
      tag: 'Dashboard',
      summary: 'The admin page',
      description:
        'An HTML page: sign in with the admin token (kept in the tab\'s sessionStorage, sent as a bearer header), then start replays and read their reports, browse a user\'s stream, retry or discard dead letters, and open the queue board.',
      credentials: 'none',
      responses: { 200: { description: 'The page.', content: { 'text/html': { schema: { type: 'string' } } } } },
      errors: GUARDED,
    },
    {
      method: 'get',
      path: '/dashboard.js',
      operationId: 'getDashboardScript',
      tag: 'Dashboard',
      summary: "The script of the dashboard and the admin page",
      credentials: 'none',
      responses: {
        200: { description: 'The bundle (with an `ETag`), gzipped (`Content-Encoding: gzip`) when `Accept-Encoding` allows it.', content: { 'text/javascript': { schema: { type: 'string' } } } },
      },
      errors: GUARDED,
    },
    {
      method: 'get',
      path: '/chunks/{file}',
      operationId: 'getDashboardChunk',
      tag: 'Dashboard',
      summary: 'A part of the dashboard script that it loads when needed (the value chart)',
      description: 'Named by `dashboard.js` (`chunks/<name>-<content hash>.js`); any other name is a 404.',
      credentials: 'none',
      parameters: [{ name: 'file', in: 'path', required: true, schema: { type: 'string', pattern: '^[\\w-]+\\.js$' } }],
      responses: {
        200: { description: 'The chunk (with an `ETag`), gzipped (`Content-Encoding: gzip`) when `Accept-Encoding` allows it.', content: { 'text/javascript': { schema: { type: 'string' } } } },
      },
      errors: [...GUARDED, 'FS_NOT_FOUND'],
    },
  ];
  if (options.metrics !== 'off') {
    list.push({
      method: 'get',
      path: '/metrics',
      operationId: 'getMetrics',
      tag: 'Operations',
      summary: 'Prometheus metrics',
      description: 'Here only when `METRICS_PORT` does not move it to a server of its own.',
      credentials: options.metrics === 'token' ? 'metrics' : 'none',
      responses: {
        200: { description: 'The Prometheus text exposition.', content: { 'text/plain': { schema: { type: 'string' } } } },
      },
      errors: options.metrics === 'token' ? [...ANY_REQUEST, 'FS_UNAUTHENTICATED'] : ANY_REQUEST,
    });
  }
  return list;
}

/** The sign-in pages and the development sign-in API (`src/auth/dev-sign-in-routes.ts`). */
function signInPages(): Route[] {
  const html = { 200: { description: 'The page.', content: { 'text/html': { schema: { type: 'string' } } } } };
  const refused = 'FS_FORBIDDEN unless `AUTH_DEV_SIGN_IN` is on (never in production).';
  return [
    {
      method: 'get',
      path: '/signin',
      operationId: 'getSignInPage',
      tag: 'Dashboard',
      summary: 'The sign-in page',
      description:
        'An HTML page: with `AUTH_DEV_SIGN_IN`, the users the engine knows and a field for a new user id; with `AUTH_SIGN_IN_URL`, a link to the identity provider.',
      credentials: 'none',
      responses: html,
      errors: GUARDED,
    },
    {
      method: 'get',
      path: '/auth/callback',
      operationId: 'getSignInCallback',
      tag: 'Dashboard',
      summary: "The identity provider's way back",
      description:
        'An HTML page the identity provider redirects to as `/auth/callback#token=<user JWT>`: it keeps the token for the tab (sessionStorage), removes it from the address bar and opens the dashboard.',
      credentials: 'none',
      responses: html,
      errors: GUARDED,
    },
    {
      method: 'get',
      path: '/connected',
      operationId: 'getConnectedPage',
      tag: 'Dashboard',
      summary: "The brokerage portal's way back",
      description: "The `customRedirect` the dashboard gives the portal: in the portal's window it closes itself; in the dashboard's tab it goes back to `/`.",
      credentials: 'none',
      responses: html,
      errors: GUARDED,
    },
    {
      method: 'get',
      path: '/api/auth/dev/users',
      operationId: 'listDevUsers',
      tag: 'Sign-in',
      summary: 'Users to sign in as (development)',
      description: `The users the engine knows, with their connections. ${refused}`,
      credentials: 'none',
      responses: { 200: json(ref('DevUsers'), 'The users (at most 100, by id).') },
      errors: [...JSON_BODY, 'FS_FORBIDDEN'],
    },
    {
      method: 'post',
      path: '/api/auth/dev/sign-in',
      operationId: 'devSignIn',
      tag: 'Sign-in',
      summary: 'Sign in by user id (development)',
      description: `A user token for any user id, no password (the demo, the sandbox). ${refused}`,
      credentials: 'none',
      requestBody: { required: true, content: { 'application/json': { schema: ref('DevSignInRequest') } } },
      responses: { 200: json(ref('DevSignIn'), 'The token.') },
      errors: [...JSON_BODY, 'FS_VALIDATION', 'FS_FORBIDDEN'],
    },
  ];
}

/** What can refuse an order before (or at) the brokerage: each a stable code, nothing placed. */
const ORDER_REFUSALS: ErrorCode[] = [
  'FS_VALIDATION',
  'FS_UNAUTHENTICATED',
  'FS_NOT_FOUND',
  'FS_CONNECTION_BROKEN',
  'FS_TRADING_NOT_ALLOWED',
  'FS_NO_TRADING_ACCOUNT',
  'FS_UNKNOWN_SECURITY',
  'FS_SECURITY_NOT_TRADABLE',
  'FS_MARKET_CLOSED',
  'FS_INSUFFICIENT_BUYING_POWER',
  'FS_INSUFFICIENT_POSITION',
  'FS_ORDER_NOT_SUPPORTED',
  'FS_ORDER_REJECTED',
  'FS_BROKERAGE_UNAVAILABLE',
];

const orderIdParameter = {
  name: 'id',
  in: 'path',
  required: true,
  description: 'The order id (`Order.id`). Another user\'s is 404.',
  schema: { type: 'string' },
};

function orderRoutes(): Route[] {
  return [
    {
      method: 'post',
      path: '/api/orders/preview',
      operationId: 'previewOrder',
      tag: 'Trading',
      summary: 'Route an order and show its impact, placing nothing',
      description:
        'Chooses the account (or checks the one given) and says why (`routing`), then asks its brokerage: the security, the market hours, buying power or the position sold, and the estimated cost, commissions and fees, and buying power after. Refusals are the same as placing\'s.',
      credentials: 'user',
      requestBody: { required: true, content: { 'application/json': { schema: ref('OrderRequest') } } },
      responses: { 200: json(ref('OrderPreview'), 'What placing would do.') },
      errors: [...JSON_BODY, ...ORDER_REFUSALS],
    },
    {
      method: 'post',
      path: '/api/orders',
      operationId: 'placeOrder',
      tag: 'Trading',
      summary: 'Place an order, exactly once per Idempotency-Key',
      description:
        'Internal accounts trade at Alpaca (`client_order_id` = the key), external ones through SnapTrade (symbol lookup, impact, place). The same key always answers the same order and never places twice: also for concurrent requests on several web nodes (they wait for the first) and after a web node died mid-placement (the order is looked up at the brokerage before placing again). The key with another body is 409 `FS_IDEMPOTENCY_KEY_REUSED`. The answer waits (up to `ORDER_WAIT_MS`) until the order is in the projection, so `GET /api/orders/{id}` shows it at once.',
      credentials: 'user',
      parameters: [
        {
          name: 'Idempotency-Key',
          in: 'header',
          required: true,
          description: 'A new key per order (8 to 128 printable ASCII characters, a UUID say), the same on a retry.',
          schema: bodySchema(idempotencyKey, 'input'),
        },
      ],
      requestBody: { required: true, content: { 'application/json': { schema: ref('OrderRequest') } } },
      responses: {
        201: {
          ...json(ref('Order'), 'The order (placed now, or by an earlier request with this key).'),
          headers: {
            'Idempotent-Replayed': {
              description: '`true` when an earlier request with this key placed the order.',
              required: true,
              schema: { type: 'string', enum: ['true', 'false'] },
            },
          },
        },
      },
      errors: [...JSON_BODY, ...ORDER_REFUSALS, 'FS_IDEMPOTENCY_KEY_REUSED', 'FS_ORDER_IN_PROGRESS'],
    },
    {
      method: 'get',
      path: '/api/orders',
      operationId: 'listOrders',
      tag: 'Trading',
      summary: "The caller's orders, newest first",
      credentials: 'user',
      parameters: [
        { name: 'status', in: 'query', required: false, description: '`open` (not final), `closed` (final), or one status.', schema: { type: 'string', enum: ['open', 'closed', ...ORDER_STATUSES] } },
        { name: 'accountId', in: 'query', required: false, schema: { type: 'string', format: 'uuid' } },
        { name: 'limit', in: 'query', required: false, schema: { type: 'integer', minimum: 1, maximum: 200, default: 50 } },
        { name: 'cursor', in: 'query', required: false, description: '`nextCursor` of the previous page.', schema: { type: 'string' } },
      ],
      responses: { 200: json(ref('OrderList'), 'A page of orders.') },
      errors: [...JSON_BODY, 'FS_VALIDATION', 'FS_UNAUTHENTICATED'],
    },
    {
      method: 'get',
      path: '/api/activities',
      operationId: 'listActivities',
      tag: 'Portfolio',
      summary: "The caller's activities, newest first",
      description:
        "Trades, dividends, interest, fees, deposits, withdrawals, transfers and splits of the caller's accounts, as the brokerages report them (fetched after SnapTrade's ACCOUNT_TRANSACTIONS_* webhooks, after Alpaca fills, and nightly), each stored once per account and provider id. Filter by account, type (comma-separated) and an inclusive range of days; page with `nextCursor`. The socket.io `activities:update` event pushes new ones.",
      credentials: 'user',
      parameters: parametersOf(activityListQuery, 'query'),
      responses: { 200: json(ref('ActivityList'), 'A page of activities.') },
      errors: [...JSON_BODY, 'FS_VALIDATION', 'FS_UNAUTHENTICATED'],
    },
    {
      method: 'get',
      path: '/api/orders/{id}',
      operationId: 'getOrder',
      tag: 'Trading',
      summary: 'One order, as the projection holds it',
      credentials: 'user',
      parameters: [orderIdParameter],
      responses: { 200: json(ref('Order'), 'The order.') },
      errors: [...JSON_BODY, 'FS_UNAUTHENTICATED', 'FS_NOT_FOUND'],
    },
    {
      method: 'post',
      path: '/api/orders/{id}/cancel',
      operationId: 'cancelOrder',
      tag: 'Trading',
      summary: 'Ask the brokerage to cancel an open order',
      description: 'Answers the order as the brokerage then reports it (`canceled`, or filled if it filled first). No body is read.',
      credentials: 'user',
      parameters: [orderIdParameter],
      responses: { 200: json(ref('Order'), 'The order after the cancel.') },
      errors: [...JSON_BODY, 'FS_UNAUTHENTICATED', 'FS_NOT_FOUND', 'FS_ORDER_NOT_CANCELABLE', 'FS_CONNECTION_BROKEN', 'FS_ORDER_REJECTED', 'FS_BROKERAGE_UNAVAILABLE'],
    },
    {
      method: 'get',
      path: '/api/securities/search',
      operationId: 'searchSecurities',
      tag: 'Trading',
      summary: 'Securities an account can trade, for the trade ticket',
      description:
        "Asks the account's brokerage: SnapTrade's symbol search for the account (within the shared SnapTrade budget), or Alpaca's active tradable assets (exact symbol, then symbols starting with the query, then names having it). At most 10.",
      credentials: 'user',
      parameters: [
        { name: 'query', in: 'query', required: true, description: 'A symbol or the start of one, or part of the name (1 to 40 characters).', schema: { type: 'string', minLength: 1, maxLength: 40 } },
        { name: 'accountId', in: 'query', required: false, description: 'The account to trade in (default: the Alpaca account, else the first that trades).', schema: { type: 'string', format: 'uuid' } },
      ],
      responses: { 200: json(ref('SecuritySearch'), 'The matches, best first.') },
      errors: [...GUARDED, 'FS_VALIDATION', 'FS_UNAUTHENTICATED', 'FS_NOT_FOUND', 'FS_NO_TRADING_ACCOUNT', 'FS_TRADING_NOT_ALLOWED', 'FS_CONNECTION_BROKEN', 'FS_BROKERAGE_UNAVAILABLE'],
    },
  ];
}

/** Each field of a zod object as an OpenAPI parameter (`in` path or query). */
function parametersOf(schema: z.ZodObject, where: 'path' | 'query'): Record<string, unknown>[] {
  return Object.entries(schema.shape).map(([name, field]) => ({
    name,
    in: where,
    required: where === 'path',
    schema: bodySchema(field as z.ZodType, 'input'),
  }));
}

/** The operator's stream routes (`src/api/admin-stream-routes.ts`) and the queue board's session. */
function adminStreamRoutes(): Route[] {
  const deadLetter = parametersOf(deadLetterParams, 'path');
  return [
    {
      method: 'get',
      path: '/api/admin/users/{id}/stream',
      operationId: 'getUserStream',
      tag: 'Admin',
      summary: "A user's stream entries, decoded and paged (operator)",
      description:
        "The user's entries in their partition stream (`stream=events`) or its dead-letter stream (`stream=dead`), newest or oldest first, `limit` per page; pass `next` as `cursor` for the next page. Other users' entries of the partition are never shown. A page reads at most 10,000 stream entries: a page can hold fewer than `limit` entries (even none) with a `next` to go on.",
      credentials: 'admin',
      parameters: [{ name: 'id', in: 'path', required: true, schema: bodySchema(adminUserId, 'input') }, ...parametersOf(userStreamQuery, 'query')],
      responses: { 200: json(ref('UserStream'), 'A page.') },
      errors: [...GUARDED, 'FS_VALIDATION', 'FS_UNAUTHENTICATED'],
    },
    {
      method: 'get',
      path: '/api/admin/dead-letters',
      operationId: 'listDeadLetters',
      tag: 'Admin',
      summary: 'Parked entries of every partition (operator)',
      description: 'Partition by partition, oldest first within each: what was parked, why, by which worker, whose event it is.',
      credentials: 'admin',
      parameters: parametersOf(deadLettersQuery, 'query'),
      responses: { 200: json(ref('DeadLetters'), 'A page.') },
      errors: [...GUARDED, 'FS_VALIDATION', 'FS_UNAUTHENTICATED'],
    },
    {
      method: 'post',
      path: '/api/admin/dead-letters/{partition}/{id}/retry',
      operationId: 'retryDeadLetter',
      tag: 'Admin',
      summary: 'Retry a parked entry (operator)',
      description:
        "Appends the entry again at the end of its partition stream (with `meta.retryOf`) for the user's actor, and removes the original and every parked copy, atomically: a second retry answers 404, and a copy parked later (within a week) 409. An entry whose envelope does not decode cannot be retried (409): discard it. No body is read.",
      credentials: 'admin',
      parameters: deadLetter,
      responses: { 200: json(ref('DeadLetterRetried'), 'Appended again.') },
      errors: [...GUARDED, 'FS_VALIDATION', 'FS_UNAUTHENTICATED', 'FS_NOT_FOUND', 'FS_CONFLICT'],
    },
    {
      method: 'post',
      path: '/api/admin/dead-letters/{partition}/{id}/discard',
      operationId: 'discardDeadLetter',
      tag: 'Admin',
      summary: 'Discard a parked entry (operator)',
      description: 'Removes every parked copy and the original entry (never applied) from the partition stream; the reason is logged.',
      credentials: 'admin',
      parameters: deadLetter,
      requestBody: { required: true, content: { 'application/json': { schema: ref('DiscardDeadLetterRequest') } } },
      responses: { 200: json(ref('DeadLetterDiscarded'), 'Discarded.') },
      errors: [...JSON_BODY, 'FS_VALIDATION', 'FS_UNAUTHENTICATED', 'FS_NOT_FOUND'],
    },
    {
      method: 'post',
      path: '/api/admin/session',
      operationId: 'startAdminSession',
      tag: 'Admin',
      summary: "A session cookie for the queue board's pages (operator)",
      description:
        'Browsers cannot send a bearer header when they load a page: this answer sets a cookie (`fs_admin_session`: HttpOnly, SameSite=Strict, `Path=/admin/queues`, Secure over HTTPS, 15 minutes) that bull-board\'s pages and API under `/admin/queues/` take instead of the admin token. No body is read.',
      credentials: 'admin',
      responses: { 200: json(ref('AdminSession'), 'The cookie is set.') },
      errors: [...GUARDED, 'FS_UNAUTHENTICATED'],
    },
    {
      method: 'delete',
      path: '/api/admin/session',
      operationId: 'endAdminSession',
      tag: 'Admin',
      summary: "Clear the queue board's session cookie (operator)",
      credentials: 'admin',
      responses: { 204: { description: 'Cleared.' } },
      errors: [...GUARDED, 'FS_UNAUTHENTICATED'],
    },
  ];
}

function deletionAnswers(): Route['responses'] {
  return {
    200: json(ref('DeleteUserResponse'), 'Deleted (`applied: true`).'),
    202: json(ref('DeleteUserResponse'), 'Deletion queued, not yet applied within the wait (`applied: false`).'),
  };
}

const SECURITY: Record<Credentials, Record<string, string[]>[]> = {
  user: [{ userToken: [] }],
  admin: [{ adminToken: [] }],
  signature: [{ snaptradeSignature: [] }],
  metrics: [{ metricsToken: [] }],
  none: [],
};

/** Headers an error answer always carries, by credentials and status. */
function errorHeaders(route: Route, status: number): Record<string, unknown> | undefined {
  if (status === 429) return { 'Retry-After': { $ref: '#/components/headers/RetryAfter' } };
  if (status === 401 && (route.credentials === 'admin' || route.credentials === 'metrics')) {
    return { 'WWW-Authenticate': { $ref: '#/components/headers/WWWAuthenticate' } };
  }
  return undefined;
}

function errorAnswers(route: Route): Route['responses'] {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of new Set(route.errors)) {
    const { status } = ERRORS[code];
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  const answers: Route['responses'] = {};
  for (const [status, codes] of [...byStatus].sort(([a], [b]) => a - b)) {
    const code = codes.length === 1 ? { const: codes[0] } : { enum: codes };
    const headers = errorHeaders(route, status);
    answers[status] = {
      description: codes.map((c) => `\`${c}\`: ${ERRORS[c].description}`).join(' '),
      ...(headers ? { headers } : {}),
      content: {
        'application/json': {
          schema: { allOf: [ref('Error'), { properties: { error: { properties: { code } } } }] },
        },
      },
    };
  }
  return answers;
}

function operation(route: Route): Record<string, unknown> {
  const responses: Route['responses'] = { ...errorAnswers(route), ...route.responses };
  const sorted = Object.fromEntries(Object.entries(responses).sort(([a], [b]) => Number(a) - Number(b)));
  return {
    operationId: route.operationId,
    tags: [route.tag],
    summary: route.summary,
    ...(route.description ? { description: route.description } : {}),
    security: SECURITY[route.credentials],
    ...(route.parameters ? { parameters: route.parameters } : {}),
    ...(route.requestBody ? { requestBody: route.requestBody } : {}),
    responses: sorted,
  };
}

/** Drops what a schema embedded in an OpenAPI document must not carry (its dialect, its own id). */
function embeddable(schema: JsonSchema): JsonSchema {
  const { $schema: _dialect, $id: _id, ...rest } = schema;
  return rest;
}

function bodySchema(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  return embeddable(z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as JsonSchema);
}

function components(registry: typeof requestSchemas, io: 'input' | 'output'): Record<string, JsonSchema> {
  const { schemas } = z.toJSONSchema(registry, { io, uri: (id) => `#/components/schemas/${id}`, unrepresentable: 'any' }) as {
    schemas: Record<string, JsonSchema>;
  };
  return Object.fromEntries(Object.entries(schemas).map(([id, schema]) => [id, embeddable(schema)]));
}

/**
 * The webhook body as `validateWebhook` checks it: by `schemaVersion` (none: SnapTrade's API-key
 * schema; `oauth_v1`; anything else: the minimal fields), then by `eventType` where it adds
 * fields. An `eventType` not documented is accepted on the common fields.
 */
function webhookSchema(): JsonSchema {
  const byEventType = (schemas: Partial<Record<string, z.ZodType>>) =>
    Object.entries(schemas).map(([eventType, schema]) => ({
      if: { properties: { eventType: { const: eventType } }, required: ['eventType'] },
      then: bodySchema(schema!, 'input'),
    }));
  return {
    description: `A SnapTrade webhook (docs.snaptrade.com/docs/webhooks). Documented event types: ${KNOWN_EVENT_TYPES.join(', ')}; others are accepted and recorded as unknown. The deprecated \`webhookSecret\` is checked with the rest of the signed body, then dropped before anything is stored.`,
    type: 'object',
    allOf: [
      {
        if: { not: { required: ['schemaVersion'] } },
        then: { allOf: [bodySchema(WEBHOOK_SCHEMAS.apiKeyCommon, 'input'), ...byEventType(WEBHOOK_SCHEMAS.apiKey)] },
      },
      {
        if: { properties: { schemaVersion: { const: 'oauth_v1' } }, required: ['schemaVersion'] },
        then: { allOf: [bodySchema(WEBHOOK_SCHEMAS.oauthCommon, 'input'), ...byEventType(WEBHOOK_SCHEMAS.oauth)] },
      },
      {
        if: { properties: { schemaVersion: { not: { const: 'oauth_v1' } } }, required: ['schemaVersion'] },
        then: bodySchema(WEBHOOK_SCHEMAS.unknown, 'input'),
      },
    ],
  };
}

function packageVersion(): string {
  return (createRequire(import.meta.url)('../../package.json') as { version: string }).version;
}

export function buildOpenApiDocument(options: OpenApiOptions): OpenApiDocument {
  const paths: OpenApiDocument['paths'] = {};
  for (const route of routes(options)) {
    paths[route.path] = { ...paths[route.path], [route.method]: operation(route) };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'foliostream',
      version: packageVersion(),
      description: [
        'The HTTP API of a foliostream web node. Every error answer is `{"error": {"code", "message"}}` with a stable code (`ErrorCode`; README "Errors"), and every answer carries helmet\'s security headers.',
        'A request body must be `application/json` (UTF-8): any other type is 415 `FS_UNSUPPORTED_MEDIA_TYPE`, never read as empty. A path or method not listed here is 404 `FS_NOT_FOUND` (or 401 under `/api/` without a user token).',
        'Live updates travel over socket.io at `/socket.io/` (not described here; README "Live updates"): the handshake takes the same user token as `auth.token`.',
        "The queue board (bull-board: BullMQ's queues, jobs, retries) is served under `/admin/queues/` with its own JSON API, not described here: everything under it answers 401 `FS_UNAUTHENTICATED` without the session cookie of `POST /api/admin/session` (or the admin token as a bearer header).",
      ].join('\n\n'),
      license: { name: 'MIT', identifier: 'MIT' },
    },
    tags: [
      { name: 'SnapTrade', description: 'Connecting brokerages through SnapTrade.' },
      { name: 'Alpaca', description: 'Internal Alpaca accounts.' },
      { name: 'Portfolio', description: 'Holdings and accounts.' },
      { name: 'Trading', description: 'Orders routed to the brokerage that holds the account, exactly once.' },
      { name: 'Users', description: 'The caller\'s account.' },
      { name: 'Sign-in', description: 'Development sign-in (`AUTH_DEV_SIGN_IN`: the demo and the sandbox, never production).' },
      { name: 'Admin', description: 'Operator requests (`ADMIN_TOKEN`).' },
      { name: 'Webhooks', description: 'SnapTrade posts these.' },
      { name: 'Operations', description: 'Health, readiness, metrics, this document.' },
      { name: 'Dashboard', description: 'The live dashboard.' },
    ],
    paths,
    components: {
      schemas: {
        ...components(responseSchemas, 'output'),
        ...components(requestSchemas, 'input'),
        SnapTradeWebhook: webhookSchema(),
      },
      headers: {
        RetryAfter: {
          description: 'Seconds until the request may be repeated.',
          required: true,
          schema: { type: 'integer', minimum: 1 },
        },
        WWWAuthenticate: { description: 'The scheme the token goes in: `Bearer`.', required: true, schema: { type: 'string', const: 'Bearer' } },
      },
      securitySchemes: {
        userToken: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'JWT',
          description:
            'A user JWT whose `sub` is the user id, signed with `AUTH_SECRET` (HS256) or by the identity provider (`AUTH_JWKS_URL`); it must carry `iat` and `exp` (`exp - iat` at most `AUTH_MAX_TOKEN_LIFETIME_SECONDS`), and the configured `iss`/`aud` when `AUTH_ISSUER`/`AUTH_AUDIENCE` are set.',
        },
        adminToken: { type: 'http', scheme: 'bearer', description: 'The operator token: `Authorization: Bearer $ADMIN_TOKEN`.' },
        ...(options.metrics === 'token'
          ? { metricsToken: { type: 'http', scheme: 'bearer', description: '`Authorization: Bearer $METRICS_TOKEN`.' } }
          : {}),
        snaptradeSignature: {
          type: 'apiKey',
          in: 'header',
          name: 'Signature',
          description:
            "The base64 HMAC-SHA256 of the body's canonical JSON (sorted keys, no spaces; non-ASCII escaped as `\\uXXXX` or left as UTF-8), keyed with `SNAPTRADE_CONSUMER_KEY` (or `SNAPTRADE_PREVIOUS_CONSUMER_KEY` during a rotation).",
        },
      },
    },
  };
}
