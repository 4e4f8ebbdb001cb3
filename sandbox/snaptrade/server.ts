import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import express, { type NextFunction, type Request, type Response } from 'express';
import { createLogger, type Logger } from '../../src/logging/logger.ts';
import type { AlpacaSandbox } from '../alpaca/server.ts';
import type { PriceBook } from '../market/price-book.types.ts';
import { ScenarioEngine } from '../scenario/scenario-engine.ts';
import { GONE_OPERATIONS, HANDLERS, type HandlerResult } from './api-handlers.ts';
import { connectionPortalRouter } from './connection-portal.ts';
import { controlRouter } from './control-routes.ts';
import { SnaptradeApiError, type SnaptradeErrorBody } from './errors.ts';
import { FaultInjector } from './fault-injector.ts';
import { loadSnaptradeSpec, type SnaptradeSpec, type SpecMatch } from './openapi-spec.ts';
import { PortalSessions } from './portal-sessions.ts';
import { RollingRateLimiter, type RateLimitConfig } from './rate-limiter.ts';
import { authenticateRequest } from './request-auth.ts';
import { RequestCounter } from './request-counter.ts';
import { DEFAULT_RETRY_SCHEDULE_MS, WebhookDispatcher } from './webhook-dispatcher.ts';

/**
 * The SnapTrade-compatible sandbox server. The real `snaptrade-typescript-sdk` talks to it with
 * only `basePath` changed. Each API request goes through, in order: operation lookup in
 * SnapTrade's OpenAPI spec (unknown path: 404/1011), authentication (clientId, timestamp,
 * Signature: 401), the rolling rate limit (429 with `X-RateLimit-*`), injected faults
 * (latency, errors), request validation against the spec (400), the user's credentials
 * (401/1083), the operation's handler, and response validation against the spec (a
 * non-conforming answer becomes a 500 naming the problems, so a sandbox bug cannot pass as
 * SnapTrade behaviour). Deprecated holdings endpoints answer 410.
 *
 * Also served: the connection portal (`/snapTrade/redeemToken`) and the control API
 * (`/__sandbox/...`, including `/__sandbox/alpaca/...` when an Alpaca sandbox is given).
 */
export interface SnaptradeSandboxOptions {
  /** Port to listen on; 0 picks a free one. @default 4010 */
  port?: number;
  /** Interface to bind. @default '127.0.0.1' */
  host?: string;
  /** Shared market; position prices come from it. */
  priceBook: PriceBook;
  clientId: string;
  /** Signs webhooks and verifies request signatures. Never logged. */
  consumerKey: string;
  /** Scenario seed (ids, holdings, fault draws). @default 1 */
  seed?: number;
  /** Where webhooks go; none are sent (but all are logged) when unset. */
  webhookUrl?: string | null;
  /** Delays before each retry of an undelivered webhook. @default [1000, 5000, 30000] */
  webhookRetryScheduleMs?: readonly number[];
  /** Rolling rate limit per clientId. @default { limit: 250, windowMs: 60000 } */
  rateLimit?: Partial<RateLimitConfig>;
  /** Largest accepted request timestamp skew in seconds. @default 300 */
  maxTimestampSkewSeconds?: number;
  /** What to do with a response the spec does not allow. @default 'fail' (answer 500) */
  responseValidation?: 'fail' | 'warn' | 'off';
  /** Base URL used in portal links; `http://host:port` when unset. */
  publicUrl?: string;
  /** See ScenarioEngineOptions. */
  refreshDelayMs?: number;
  refreshCooldownMs?: number;
  /** An Alpaca sandbox to script through the control API (`/__sandbox/alpaca/...`). */
  alpaca?: AlpacaSandbox;
  logger?: Logger;
}

export interface SnaptradeSandbox {
  url: string;
  port: number;
  engine: ScenarioEngine;
  webhooks: WebhookDispatcher;
  faults: FaultInjector;
  rateLimiter: RollingRateLimiter;
  requests: RequestCounter;
  close(): Promise<void>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function userSecretParam(match: SpecMatch): boolean {
  const params = (match.operation.parameters ?? []) as Array<{ in?: string; name?: string }>;
  return params.some((p) => p.in === 'query' && p.name === 'userSecret');
}

function isUnauthenticated(match: SpecMatch): boolean {
  const security = match.operation.security as unknown[] | undefined;
  return Array.isArray(security) && security.length === 0;
}

export async function startSnaptradeSandbox(options: SnaptradeSandboxOptions): Promise<SnaptradeSandbox> {
  const logger = options.logger ?? createLogger('sandbox-snaptrade');
  const seed = options.seed ?? 1;
  const spec: SnaptradeSpec = await loadSnaptradeSpec();
  const webhooks = new WebhookDispatcher({
    clientId: options.clientId,
    consumerKey: options.consumerKey,
    url: options.webhookUrl ?? null,
    retryScheduleMs: options.webhookRetryScheduleMs ?? DEFAULT_RETRY_SCHEDULE_MS,
    seed,
    logger,
  });
  const engine = new ScenarioEngine({
    seed,
    priceBook: options.priceBook,
    webhooks,
    logger,
    refreshDelayMs: options.refreshDelayMs,
    refreshCooldownMs: options.refreshCooldownMs,
  });
  const faults = new FaultInjector(seed);
  const rateLimiter = new RollingRateLimiter({ limit: 250, windowMs: 60_000, ...options.rateLimit });
  const requests = new RequestCounter();
  const portal = new PortalSessions(options.clientId);
  const responseValidation = options.responseValidation ?? 'fail';
  const auth = {
    clientId: options.clientId,
    consumerKey: options.consumerKey,
    maxSkewSeconds: options.maxTimestampSkewSeconds ?? 300,
  };
  const context = { publicUrl: options.publicUrl ?? '' };

  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use('/__sandbox', controlRouter({ engine, webhooks, faults, rateLimiter, requests, alpaca: options.alpaca, logger }));
  app.use(connectionPortalRouter({ engine, portal, logger }));
  app.use(express.json({ limit: '1mb' }));

  app.use(async (req: Request, res: Response) => {
    const [rawPath = '/', ...rest] = req.originalUrl.split('?');
    const rawQuery = rest.join('?');
    const query = req.query as Record<string, string | undefined>;
    const match = spec.match(req.method, req.path);

    const send = (status: number, body: unknown) => {
      if (!match) {
        res.status(status).json(body);
        return;
      }
      if (status === 204) {
        res.status(204).end();
        return;
      }
      if (responseValidation !== 'off' && status < 500 && status !== 410 && status !== 429) {
        const check = spec.validateResponse(match.operationId, status, body);
        if (!check.valid) {
          logger.error({ operationId: match.operationId, status, errors: check.errors }, 'sandbox response does not match the SnapTrade spec');
          if (responseValidation === 'fail') {
            res.status(500).json({
              detail: `Sandbox response for ${match.operationId} does not match the SnapTrade spec: ${check.errors.join('; ')}`,
              status_code: 500,
              code: '1500',
            } satisfies SnaptradeErrorBody);
            return;
          }
        }
      }
      res.status(status).json(body);
    };
    const fail = (err: SnaptradeApiError) => send(err.status, err.body);

    if (!match) {
      fail(new SnaptradeApiError('NOT_FOUND'));
      return;
    }
    const accountId =
      match.params.accountId ?? (typeof req.body?.account_id === 'string' ? (req.body.account_id as string) : undefined);
    let outcome: 'rate_limited' | 'injected' | undefined;
    res.on('finish', () => {
      requests.record({
        operationId: match.operationId,
        method: req.method,
        pathTemplate: match.pathTemplate,
        status: res.statusCode,
        outcome: outcome ?? (res.statusCode >= 200 && res.statusCode < 300 ? 'ok' : 'error'),
        userId: query.userId,
        accountId,
        at: Date.now(),
      });
    });

    try {
      if (!isUnauthenticated(match)) {
        authenticateRequest(
          { path: rawPath, rawQuery, query, body: req.body, signature: req.get('Signature') },
          auth,
        );
        const decision = rateLimiter.take(auth.clientId);
        res.set({
          'X-RateLimit-Limit': String(decision.limit),
          'X-RateLimit-Remaining': String(decision.remaining),
          'X-RateLimit-Reset': String(decision.resetSeconds),
        });
        if (!decision.allowed) {
          outcome = 'rate_limited';
          throw new SnaptradeApiError('RATE_LIMITED', `Request was throttled. Expected available in ${decision.resetSeconds} seconds.`);
        }
      }

      const fault = faults.evaluate({ operationId: match.operationId, userId: query.userId, accountId });
      if (fault.latencyMs > 0) await sleep(fault.latencyMs);
      if (fault.error) {
        outcome = 'injected';
        logger.debug({ operationId: match.operationId, status: fault.error.status, rule: fault.error.ruleId }, 'injected fault');
        send(fault.error.status, fault.error.body);
        return;
      }

      if (GONE_OPERATIONS.has(match.operationId)) throw new SnaptradeApiError('GONE');

      const validation = spec.validateRequest(match, {
        method: req.method,
        path: req.path,
        query,
        body: req.body,
        contentType: req.get('content-type'),
      });
      // Like the real service, unknown query parameters are ignored rather than refused.
      const problems = validation.errors.filter((e) => !e.includes('must NOT have additional properties'));
      if (problems.some((e) => e.startsWith('/path/'))) throw new SnaptradeApiError('NOT_FOUND');
      if (problems.length > 0) throw new SnaptradeApiError('INVALID_REQUEST', problems.join('; '));

      let user;
      if (userSecretParam(match)) {
        user = engine.store.users.get(query.userId ?? '');
        if (!user || user.userSecret !== query.userSecret) throw new SnaptradeApiError('INVALID_USER');
      }

      const handler = HANDLERS[match.operationId];
      if (!handler) throw new SnaptradeApiError('NOT_IMPLEMENTED');
      const result: HandlerResult = await handler({
        engine,
        portal,
        publicUrl: context.publicUrl,
        params: match.params,
        query,
        body: req.body as Record<string, unknown> | undefined,
        user,
      });
      send(result.status, result.body);
    } catch (err) {
      if (err instanceof SnaptradeApiError) {
        fail(err);
        return;
      }
      logger.error({ err, operationId: match.operationId }, 'sandbox handler failed');
      fail(new SnaptradeApiError('INTERNAL', (err as Error).message));
    }
  });

  // Malformed JSON bodies and other middleware errors: SnapTrade-shaped 400/500.
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const status = (err as { status?: number }).status;
    const apiError =
      status === 400 || status === 413
        ? new SnaptradeApiError('INVALID_REQUEST', (err as Error).message)
        : new SnaptradeApiError('INTERNAL');
    res.status(apiError.status).json(apiError.body);
  });

  const host = options.host ?? '127.0.0.1';
  const server: Server = await new Promise((resolve, reject) => {
    const s = app.listen(options.port ?? 4010, host, (err?: Error) => (err ? reject(err) : resolve(s)));
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://${host}:${port}`;
  context.publicUrl = options.publicUrl ?? url;
  logger.info({ url, clientId: options.clientId, webhookUrl: options.webhookUrl ?? null }, 'SnapTrade sandbox listening');

  let closed = false;
  return {
    url,
    port,
    engine,
    webhooks,
    faults,
    rateLimiter,
    requests,
    async close() {
      if (closed) return;
      closed = true;
      engine.close();
      webhooks.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
