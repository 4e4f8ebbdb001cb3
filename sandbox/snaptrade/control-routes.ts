import { randomUUID } from 'node:crypto';
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import type { Logger } from '../../src/logging/logger.ts';
import type { AlpacaSandbox } from '../alpaca/server.ts';
import { ALPACA_CONTROL_ENDPOINTS, alpacaControlRouter } from '../alpaca/control-routes.ts';
import {
  controlSchemas,
  type ControlAccount,
  type ControlAuthorization,
  type ControlUser,
} from '../control-api-types.ts';
import { ControlError, parse } from '../control-errors.ts';
import type { ScenarioEngine } from '../scenario/scenario-engine.ts';
import type { SandboxAccount, SandboxAuthorization } from '../scenario/scenario-store.ts';
import type { FaultInjector, FaultRuleInput } from './fault-injector.ts';
import type { RollingRateLimiter } from './rate-limiter.ts';
import type { RequestCounter, RequestCountFilter, RequestOutcome } from './request-counter.ts';
import type { WebhookDeliveryState, WebhookDispatcher } from './webhook-dispatcher.ts';
import { eventFieldKeys, holdingsUpdatedDetails } from './webhook-events.ts';

/**
 * The control API: scripts the sandbox over HTTP/JSON under `/__sandbox`. Tests, the demo and
 * the benchmarks drive the sandbox only through it (or through `control-client.ts`, its typed
 * client). It is a development tool: no authentication, bound to localhost by default.
 * Errors are `{error: {code, message}}`.
 */
export interface ControlDeps {
  engine: ScenarioEngine;
  webhooks: WebhookDispatcher;
  faults: FaultInjector;
  rateLimiter: RollingRateLimiter;
  requests: RequestCounter;
  /** The Alpaca sandbox scripted under `/__sandbox/alpaca`; without it those routes answer 404. */
  alpaca?: AlpacaSandbox;
  logger: Logger;
}

const REQUEST_OUTCOMES: readonly RequestOutcome[] = ['ok', 'error', 'rate_limited', 'injected'];

/** Wrap engine RangeErrors (unknown user, account, security...) as 404s. */
function attempt<T>(run: () => T): T {
  try {
    return run();
  } catch (err) {
    if (err instanceof RangeError) throw new ControlError(404, 'not_found', err.message);
    throw err;
  }
}

export function describeAccount(engine: ScenarioEngine, account: SandboxAccount): ControlAccount {
  return {
    id: account.id,
    userId: account.userId,
    authorizationId: account.authorizationId,
    brokerage: account.brokerage.slug,
    name: account.name,
    number: account.number,
    currency: account.currency,
    cash: Object.fromEntries(account.cash),
    positions: [...account.positions.values()].map((p) => {
      const security = engine.priceBook.security(p.symbol);
      return {
        symbol: p.symbol,
        units: p.units,
        averageCost: p.averageCost,
        price: engine.price(p.symbol) ?? null,
        currency: security?.currency ?? account.currency,
        snaptradeId: security?.snaptradeId ?? '',
      };
    }),
    totalValue: engine.accountValue(account),
  };
}

function describeAuthorization(engine: ScenarioEngine, auth: SandboxAuthorization): ControlAuthorization {
  return {
    id: auth.id,
    userId: auth.userId,
    brokerage: auth.brokerage.slug,
    brokerageId: auth.brokerage.id,
    type: auth.type,
    disabled: auth.disabled,
    accounts: engine.store.accountsOfAuthorization(auth.id).map((a) => describeAccount(engine, a)),
  };
}

function describeUser(engine: ScenarioEngine, userId: string): ControlUser {
  const user = engine.store.users.get(userId);
  if (!user) throw new ControlError(404, 'not_found', `unknown user ${userId}`);
  return {
    userId,
    userSecret: user.userSecret,
    authorizations: engine.store.authorizationsOf(userId).map((a) => describeAuthorization(engine, a)),
  };
}

const ENDPOINTS = [
  'GET    /__sandbox                                  this list',
  'GET    /__sandbox/state                            every user, connection, account, position',
  'POST   /__sandbox/reset                            forget users/connections; clear counters, webhook log, faults',
  'POST   /__sandbox/users                            {userId?, webhook?} register a SnapTrade user',
  'GET    /__sandbox/users/:userId                    user with connections and holdings',
  'DELETE /__sandbox/users/:userId                    delete (USER_DELETED)',
  'POST   /__sandbox/users/:userId/connections        {brokerage, accounts?, type?, populatingForMs?, webhooks?} connect without the portal',
  'POST   /__sandbox/authorizations/:id/break         {webhook?} disable (402/3003, CONNECTION_BROKEN)',
  'POST   /__sandbox/authorizations/:id/fix           {webhook?} re-enable (CONNECTION_FIXED + ACCOUNT_HOLDINGS_UPDATED)',
  'POST   /__sandbox/authorizations/:id/sync          ACCOUNT_HOLDINGS_UPDATED for each account now',
  'DELETE /__sandbox/authorizations/:id               remove (CONNECTION_DELETED)',
  'GET    /__sandbox/accounts/:accountId              one account',
  'PUT    /__sandbox/accounts/:accountId/positions    {positions, cash?, notify?} replace holdings',
  'POST   /__sandbox/accounts/:accountId/positions    {symbol, units, averageCost?, notify?} set one position (0 removes)',
  'PUT    /__sandbox/accounts/:accountId/cash         {currency, amount, notify?}',
  'POST   /__sandbox/accounts/:accountId/activities   {type, currency, amount, symbol?, units?, price?, tradeDate?, applyToCash?, notify?} record one (ACCOUNT_TRANSACTIONS_UPDATED)',
  'GET    /__sandbox/securities                       the price book with current prices',
  'POST   /__sandbox/prices                           {symbol, price} | {prices: {SYM: price}}',
  'PUT    /__sandbox/exchange-rates                   {pair: "USD-CAD", rate}',
  'GET    /__sandbox/faults                           active fault rules',
  'POST   /__sandbox/faults                           {kind: latency|error|brokerage_error|populating|random, ...}',
  'DELETE /__sandbox/faults[/:id]                     remove one or all fault rules',
  'GET    /__sandbox/rate-limit                       {limit, windowMs}',
  'PUT    /__sandbox/rate-limit                       {limit?, windowMs?}',
  'POST   /__sandbox/rate-limit/reset                 empty the rolling window',
  'GET    /__sandbox/webhooks                         ?eventType&userId&state delivery log',
  'DELETE /__sandbox/webhooks                         clear the delivery log',
  'GET    /__sandbox/webhooks/config                  {url, retryScheduleMs}',
  'PUT    /__sandbox/webhooks/config                  {url?, retryScheduleMs?}',
  'POST   /__sandbox/webhooks/fire                    {eventType, userId, accountId?, authorizationId?, fields?}',
  'GET    /__sandbox/requests                         ?operationId&accountId&userId&status&outcome request counts',
  'GET    /__sandbox/requests/log                     same filters: the requests themselves, in arrival order',
  'DELETE /__sandbox/requests                         reset request counts',
  'PUT    /__sandbox/auto-holdings                    {intervalMs} (0 stops) random holdings changes',
  'POST   /__sandbox/auto-holdings/step               one random holdings change now',
  'PUT    /__sandbox/settings                         {refreshDelayMs?, refreshCooldownMs?}',
  ...ALPACA_CONTROL_ENDPOINTS,
];

export function controlRouter(deps: ControlDeps): Router {
  const { engine, webhooks, faults, rateLimiter, requests } = deps;
  const router = express.Router();
  router.use(express.json({ limit: '1mb' }));

  const q = (req: Request, name: string): string | undefined =>
    typeof req.query[name] === 'string' ? (req.query[name] as string) : undefined;
  const accountParam = (req: Request): SandboxAccount =>
    attempt(() => engine.store.requireAccount(String(req.params.accountId)));

  router.get('/', (_req, res) => {
    res.json({ endpoints: ENDPOINTS });
  });

  router.get('/state', (_req, res) => {
    res.json({ users: [...engine.store.users.keys()].map((id) => describeUser(engine, id)) });
  });

  router.post('/reset', (_req, res) => {
    engine.reset();
    engine.setAutoHoldings(0);
    webhooks.clearLog();
    faults.clear();
    rateLimiter.reset();
    requests.reset();
    res.json({ ok: true });
  });

  router.post('/users', (req, res) => {
    const input = parse(controlSchemas.createUser, req.body);
    const userId = input.userId ?? `sandbox-user-${randomUUID()}`;
    if (engine.store.users.has(userId)) throw new ControlError(409, 'user_exists', `user ${userId} already exists`);
    const user = input.webhook === false ? engine.store.registerUser(userId) : engine.registerUser(userId);
    res.status(201).json({ userId: user.userId, userSecret: user.userSecret });
  });

  router.get('/users/:userId', (req, res) => {
    res.json(describeUser(engine, String(req.params.userId)));
  });

  router.delete('/users/:userId', (req, res) => {
    if (!engine.deleteUser(String(req.params.userId))) throw new ControlError(404, 'not_found', 'unknown user');
    res.json({ ok: true });
  });

  router.post('/users/:userId/connections', (req, res) => {
    const input = parse(controlSchemas.connect, req.body);
    const { authorization } = attempt(() =>
      engine.connect(String(req.params.userId), input.brokerage, {
        type: input.type,
        populatingForMs: input.populatingForMs,
        webhooks: input.webhooks,
        accounts: input.accounts?.map((a) => ({
          ...a,
          positions: a.positions?.map((p) => ({
            symbol: p.symbol,
            units: p.units,
            averageCost: p.averageCost ?? engine.price(p.symbol) ?? 1,
          })),
        })),
      }),
    );
    res.status(201).json(describeAuthorization(engine, authorization));
  });

  router.post('/authorizations/:id/break', (req, res) => {
    const input = parse(controlSchemas.notify, req.body);
    const auth = attempt(() => engine.breakConnection(String(req.params.id), input.webhook !== false));
    res.json(describeAuthorization(engine, auth));
  });

  router.post('/authorizations/:id/fix', (req, res) => {
    const input = parse(controlSchemas.notify, req.body);
    const auth = attempt(() => engine.fixConnection(String(req.params.id), input.webhook !== false));
    res.json(describeAuthorization(engine, auth));
  });

  router.post('/authorizations/:id/sync', (req, res) => {
    const auth = attempt(() => engine.requireAuthorization(String(req.params.id)));
    const sent = engine.store.accountsOfAuthorization(auth.id).map((a) => engine.holdingsUpdated(a).webhookId);
    res.json({ webhookIds: sent });
  });

  router.delete('/authorizations/:id', (req, res) => {
    attempt(() => engine.removeConnection(String(req.params.id)));
    res.json({ ok: true });
  });

  router.get('/accounts/:accountId', (req, res) => {
    res.json(describeAccount(engine, accountParam(req)));
  });

  router.put('/accounts/:accountId/positions', (req, res) => {
    const account = accountParam(req);
    const input = parse(controlSchemas.setPositions, req.body);
    const positions = input.positions.map((p) => ({
      symbol: p.symbol,
      units: p.units,
      averageCost: p.averageCost ?? account.positions.get(p.symbol)?.averageCost ?? engine.price(p.symbol) ?? 1,
    }));
    attempt(() => engine.setPositions(account.id, positions, input.cash, input.notify !== false));
    res.json(describeAccount(engine, account));
  });

  router.post('/accounts/:accountId/positions', (req, res) => {
    const account = accountParam(req);
    const input = parse(controlSchemas.upsertPosition, req.body);
    const averageCost =
      input.averageCost ?? account.positions.get(input.symbol)?.averageCost ?? engine.price(input.symbol) ?? 1;
    attempt(() =>
      engine.upsertPosition(account.id, { symbol: input.symbol, units: input.units, averageCost }, input.notify !== false),
    );
    res.json(describeAccount(engine, account));
  });

  router.put('/accounts/:accountId/cash', (req, res) => {
    const account = accountParam(req);
    const input = parse(controlSchemas.setCash, req.body);
    engine.setCash(account.id, input.currency, input.amount, input.notify !== false);
    res.json(describeAccount(engine, account));
  });

  router.post('/accounts/:accountId/activities', (req, res) => {
    const account = accountParam(req);
    const { applyToCash, notify, tradeDate, ...input } = parse(controlSchemas.recordActivity, req.body);
    const activity = attempt(() =>
      engine.recordActivity(account.id, { ...input, ...(tradeDate ? { tradeDate: new Date(tradeDate) } : {}) }, { applyToCash: applyToCash ?? false, notify: notify !== false }),
    );
    res.status(201).json({ id: activity.id, type: activity.type, amount: activity.amount, currency: activity.currency });
  });

  router.get('/securities', (_req, res) => {
    res.json(
      engine.priceBook.securities().map((s) => ({ ...s, price: engine.price(s.symbol) ?? null, quote: engine.priceBook.quote(s.symbol) })),
    );
  });

  router.post('/prices', (req, res) => {
    const input = parse(controlSchemas.setPrices, req.body);
    const prices = 'prices' in input ? input.prices : { [input.symbol]: input.price };
    for (const symbol of Object.keys(prices)) {
      if (!engine.priceBook.security(symbol)) throw new ControlError(404, 'not_found', `unknown security ${symbol}`);
    }
    for (const [symbol, price] of Object.entries(prices)) engine.priceBook.setPrice(symbol, price);
    res.json({ prices: Object.fromEntries(Object.keys(prices).map((s) => [s, engine.price(s) ?? null])) });
  });

  router.put('/exchange-rates', (req, res) => {
    const input = parse(controlSchemas.setExchangeRate, req.body);
    const [src, dst] = input.pair.toUpperCase().split('-') as [string, string];
    attempt(() => engine.rates.setRate(src, dst, input.rate));
    res.json({ pair: `${src}-${dst}`, rate: engine.rates.rate(src, dst) });
  });

  router.get('/faults', (_req, res) => {
    res.json({ faults: faults.list() });
  });

  router.post('/faults', (req, res) => {
    const input = parse(controlSchemas.addFault, req.body);
    let rule: FaultRuleInput;
    if (input.kind === 'brokerage_error' || input.kind === 'populating') {
      const { kind, ...rest } = input;
      rule = { ...rest, kind: 'error', status: kind === 'brokerage_error' ? 503 : 425 };
    } else rule = input;
    res.status(201).json(faults.add(rule));
  });

  router.delete('/faults', (_req, res) => {
    faults.clear();
    res.json({ ok: true });
  });

  router.delete('/faults/:id', (req, res) => {
    if (!faults.remove(String(req.params.id))) throw new ControlError(404, 'not_found', 'unknown fault');
    res.json({ ok: true });
  });

  router.get('/rate-limit', (_req, res) => {
    res.json(rateLimiter.settings());
  });

  router.put('/rate-limit', (req, res) => {
    const input = parse(controlSchemas.rateLimit, req.body);
    rateLimiter.configure({
      ...(input.limit === undefined ? {} : { limit: input.limit }),
      ...(input.windowMs === undefined ? {} : { windowMs: input.windowMs }),
    });
    res.json(rateLimiter.settings());
  });

  router.post('/rate-limit/reset', (_req, res) => {
    rateLimiter.reset();
    res.json({ ok: true });
  });

  router.get('/webhooks', (req, res) => {
    res.json({
      deliveries: webhooks.deliveries({
        eventType: q(req, 'eventType'),
        userId: q(req, 'userId'),
        state: q(req, 'state') as WebhookDeliveryState | undefined,
      }),
    });
  });

  router.delete('/webhooks', (_req, res) => {
    webhooks.clearLog();
    res.json({ ok: true });
  });

  router.get('/webhooks/config', (_req, res) => {
    res.json(webhooks.config());
  });

  router.put('/webhooks/config', (req, res) => {
    const input = parse(controlSchemas.webhookConfig, req.body);
    webhooks.configure(input);
    res.json(webhooks.config());
  });

  router.post('/webhooks/fire', (req, res) => {
    const input = parse(controlSchemas.fireWebhook, req.body);
    const account = input.accountId ? engine.store.accounts.get(input.accountId) : undefined;
    if (input.accountId && !account) throw new ControlError(404, 'not_found', `unknown account ${input.accountId}`);
    const authId = input.authorizationId ?? account?.authorizationId;
    const auth = authId ? engine.store.authorizations.get(authId) : undefined;
    if (input.authorizationId && !auth) {
      throw new ControlError(404, 'not_found', `unknown authorization ${input.authorizationId}`);
    }
    // Fill the documented fields of the event type from the account/authorization given.
    const fields: Record<string, unknown> = {};
    for (const key of eventFieldKeys(input.eventType)) {
      if (key === 'accountId') fields.accountId = account?.id ?? null;
      else if (key === 'brokerageAuthorizationId') fields.brokerageAuthorizationId = auth?.id ?? null;
      else if (key === 'brokerageId') fields.brokerageId = auth?.brokerage.id ?? null;
      else if (key === 'connectionAttemptedResult') fields.connectionAttemptedResult = 'SUCCESS';
      else if (key === 'webookId') fields.webookId = randomUUID();
      else if (key === 'details') {
        fields.details = input.eventType === 'ACCOUNT_HOLDINGS_UPDATED' ? holdingsUpdatedDetails(true) : { orders: [] };
      }
    }
    const delivery = webhooks.send(input.eventType, input.userId, { ...fields, ...input.fields });
    res.status(201).json(delivery);
  });

  const requestFilter = (req: Request): RequestCountFilter => {
    const status = q(req, 'status');
    const outcome = q(req, 'outcome');
    if (outcome !== undefined && !REQUEST_OUTCOMES.includes(outcome as RequestOutcome)) {
      throw new ControlError(400, 'invalid_query', `outcome must be one of ${REQUEST_OUTCOMES.join(', ')}`);
    }
    return {
      operationId: q(req, 'operationId'),
      accountId: q(req, 'accountId'),
      userId: q(req, 'userId'),
      status: status === undefined ? undefined : Number(status),
      outcome: outcome as RequestOutcome | undefined,
    };
  };

  router.get('/requests', (req, res) => {
    res.json(requests.summary(requestFilter(req)));
  });

  router.get('/requests/log', (req, res) => {
    res.json({ requests: requests.log(requestFilter(req)) });
  });

  router.delete('/requests', (_req, res) => {
    requests.reset();
    res.json({ ok: true });
  });

  router.put('/auto-holdings', (req, res) => {
    const input = parse(controlSchemas.autoHoldings, req.body);
    engine.setAutoHoldings(input.intervalMs);
    res.json({ intervalMs: input.intervalMs });
  });

  router.post('/auto-holdings/step', (_req, res) => {
    const account = engine.autoStep();
    res.json({ account: account ? describeAccount(engine, account) : null });
  });

  router.put('/settings', (req, res) => {
    const input = parse(controlSchemas.settings, req.body);
    if (input.refreshDelayMs !== undefined) engine.refreshDelayMs = input.refreshDelayMs;
    if (input.refreshCooldownMs !== undefined) engine.refreshCooldownMs = input.refreshCooldownMs;
    res.json({ refreshDelayMs: engine.refreshDelayMs, refreshCooldownMs: engine.refreshCooldownMs });
  });

  if (deps.alpaca) router.use('/alpaca', alpacaControlRouter(deps.alpaca));
  else {
    router.use('/alpaca', (_req, _res, next) => next(new ControlError(404, 'not_found', 'this sandbox has no Alpaca server')));
  }

  router.use((_req, _res, next) => next(new ControlError(404, 'not_found', 'no such control endpoint (GET /__sandbox lists them)')));

  router.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    if (err instanceof ControlError) {
      res.status(err.status).json({ error: { code: err.code, message: err.message } });
      return;
    }
    const status = (err as { status?: number }).status;
    if (status === 400) {
      res.status(400).json({ error: { code: 'invalid_json', message: (err as Error).message } });
      return;
    }
    deps.logger.error({ err }, 'control API request failed');
    res.status(500).json({ error: { code: 'internal', message: (err as Error).message } });
  });

  return router;
}
