import express, { type Request, type Router } from 'express';
import {
  controlSchemas,
  type ControlAlpacaAccount,
  type ControlAlpacaConnections,
  type ControlAlpacaFaults,
  type ControlAlpacaTrading,
  type ControlAlpacaInfo,
} from '../control-api-types.ts';
import { ControlError, parse } from '../control-errors.ts';
import type { AlpacaSandbox, AlpacaSandboxAccountInfo } from './server.ts';

/**
 * The Alpaca part of the control API, mounted at `/__sandbox/alpaca` by the control router
 * (`snaptrade/control-routes.ts`), whose error handler renders the `ControlError`s thrown here.
 * Accounts are addressed by account id or API key id.
 */

export const ALPACA_CONTROL_ENDPOINTS = [
  'GET    /__sandbox/alpaca                           Alpaca server URLs, default account, rate and symbol limits',
  'GET    /__sandbox/alpaca/accounts                  every Alpaca account with its key pair',
  'POST   /__sandbox/alpaca/accounts                  {keyId?, secretKey?, cash?} create an Alpaca account',
  'GET    /__sandbox/alpaca/accounts/:id              one Alpaca account (by account id or key id)',
  'POST   /__sandbox/alpaca/accounts/:id/fund         {amount} deposit (negative: withdraw) USD',
  'PUT    /__sandbox/alpaca/accounts/:id/positions    {positions: [{symbol, qty, avgEntryPrice?}]} replace positions',
  'GET    /__sandbox/alpaca/connections               open market-data and trade_updates stream sockets',
  'POST   /__sandbox/alpaca/streams/kill              {kind?: market-data|trade-updates|all} drop stream sockets',
  'PUT    /__sandbox/alpaca/streams/symbol-limit      {limit} most symbols per market-data connection (0: none)',
  'GET    /__sandbox/alpaca/rate-limit                {perMinute}',
  'PUT    /__sandbox/alpaca/rate-limit                {perMinute} REST requests per minute per key (0: none)',
  'GET    /__sandbox/alpaca/faults                    active REST fault config (or null)',
  'PUT    /__sandbox/alpaca/faults                    {probability, statuses?, pathPrefixes?, maxFaults?}',
  'DELETE /__sandbox/alpaca/faults                    stop injecting REST faults',
  'GET    /__sandbox/alpaca/trading                   the trading script: market open, rejections to come, fill size per tick',
  'PUT    /__sandbox/alpaca/trading                   {marketOpen?, rejectNext?: {count, reason?}, maxFillQtyPerTick?} script trading',
  'GET    /__sandbox/alpaca/requests                  REST request counts by route, status and account',
  'DELETE /__sandbox/alpaca/requests                  reset the Alpaca request counts',
];

/** The control API's view of an account (a compile-time check that the two shapes agree). */
function describe(info: AlpacaSandboxAccountInfo): ControlAlpacaAccount {
  return info;
}

export function alpacaControlRouter(alpaca: AlpacaSandbox): Router {
  const router = express.Router();

  const accountParam = (req: Request): AlpacaSandboxAccountInfo => {
    const id = String(req.params.id);
    const account = alpaca.account(id);
    if (!account) throw new ControlError(404, 'not_found', `unknown Alpaca account ${id}`);
    return account;
  };
  const connections = (): ControlAlpacaConnections => alpaca.connectionCounts();
  const faults = (): ControlAlpacaFaults => ({ faults: alpaca.faults() ?? null });

  router.get('/', (_req, res) => {
    const info: ControlAlpacaInfo = {
      url: alpaca.url,
      wsUrl: alpaca.wsUrl,
      defaultAccountId: alpaca.defaultAccountId,
      rateLimit: { perMinute: alpaca.rateLimit() },
      symbolLimit: alpaca.symbolLimit(),
    };
    res.json(info);
  });

  router.get('/accounts', (_req, res) => {
    res.json({ accounts: alpaca.listAccounts().map(describe) });
  });

  router.post('/accounts', (req, res) => {
    const input = parse(controlSchemas.alpacaCreateAccount, req.body);
    if (input.keyId !== undefined && alpaca.listAccounts().some((a) => a.keyId === input.keyId)) {
      throw new ControlError(409, 'account_exists', `an Alpaca account already uses key id ${input.keyId}`);
    }
    res.status(201).json(describe(alpaca.createAccount(input)));
  });

  router.get('/accounts/:id', (req, res) => {
    res.json(describe(accountParam(req)));
  });

  router.post('/accounts/:id/fund', (req, res) => {
    const account = accountParam(req);
    const input = parse(controlSchemas.alpacaFund, req.body);
    if (account.cash + input.amount < 0) {
      throw new ControlError(422, 'insufficient_cash', `withdrawal of ${-input.amount} exceeds cash ${account.cash}`);
    }
    alpaca.fundAccount(account.id, input.amount);
    res.json(describe(accountParam(req)));
  });

  router.put('/accounts/:id/positions', (req, res) => {
    const account = accountParam(req);
    const input = parse(controlSchemas.alpacaSetPositions, req.body);
    try {
      alpaca.setPositions(account.id, input.positions);
    } catch (err) {
      // The only RangeError left after validation: a symbol that is not an Alpaca asset.
      if (err instanceof RangeError) throw new ControlError(404, 'not_found', err.message);
      throw err;
    }
    res.json(describe(accountParam(req)));
  });

  router.get('/connections', (_req, res) => {
    res.json(connections());
  });

  router.post('/streams/kill', (req, res) => {
    const { kind = 'all' } = parse(controlSchemas.alpacaKillStreams, req.body);
    const killed: ControlAlpacaConnections = {
      marketData: kind === 'trade-updates' ? 0 : alpaca.killMarketDataConnections(),
      tradeUpdates: kind === 'market-data' ? 0 : alpaca.killTradeUpdateConnections(),
    };
    res.json(killed);
  });

  router.put('/streams/symbol-limit', (req, res) => {
    const input = parse(controlSchemas.alpacaSymbolLimit, req.body);
    alpaca.setSymbolLimit(input.limit);
    res.json({ limit: alpaca.symbolLimit() });
  });

  router.get('/rate-limit', (_req, res) => {
    res.json({ perMinute: alpaca.rateLimit() });
  });

  router.put('/rate-limit', (req, res) => {
    const input = parse(controlSchemas.alpacaRateLimit, req.body);
    alpaca.setRateLimit(input.perMinute);
    res.json({ perMinute: alpaca.rateLimit() });
  });

  router.get('/faults', (_req, res) => {
    res.json(faults());
  });

  router.put('/faults', (req, res) => {
    alpaca.setFaults(parse(controlSchemas.alpacaFaults, req.body));
    res.json(faults());
  });

  router.delete('/faults', (_req, res) => {
    alpaca.setFaults(undefined);
    res.json({ ok: true });
  });

  router.get('/trading', (_req, res) => {
    const script: ControlAlpacaTrading = alpaca.tradingScript();
    res.json(script);
  });

  router.put('/trading', (req, res) => {
    alpaca.setTradingScript(parse(controlSchemas.alpacaTrading, req.body));
    const script: ControlAlpacaTrading = alpaca.tradingScript();
    res.json(script);
  });

  router.get('/requests', (_req, res) => {
    res.json(alpaca.requestCounts());
  });

  router.delete('/requests', (_req, res) => {
    alpaca.resetRequestCounts();
    res.json({ ok: true });
  });

  return router;
}
