import { Router } from 'express';
import type { RedisClient as Redis } from '../runtime/redis-client.ts';
import { readPortfolio } from '../../actors/portfolio/portfolio-read-model.ts';
import type { StreamKeys } from '../../streams/keys.ts';
import { requireUser } from '../auth/middleware.ts';
import type { UserTokenVerifier } from '../auth/user-tokens.ts';
import type { Knex } from '../db/knex.ts';
import { listAccounts } from './accounts-query.ts';
import { userHandler } from './async-handler.ts';
import { historyQuery, returnsQuery, type AccountsResponse, type HistoryResponse, type PortfolioResponse, type ReturnsResponse } from './schemas.ts';
import { z } from 'zod';
import { ApiError } from '../http/errors.ts';
import { HISTORY_INTERVALS } from '../history/history-range.ts';
import { pointUpdate } from '../history/intraday-recorder.ts';
import { otherHistoryCurrencies, readHistory } from '../history/value-history-store.ts';
import { readReturns } from '../returns/returns-query.ts';

export interface PortfolioRoutesDeps {
  db: Knex;
  redis: Redis;
  keys: StreamKeys;
  verifier: UserTokenVerifier;
}

/**
 * `GET /api/portfolio`: aggregated holdings with per-account breakdown, totals in the base
 * currency, and the freshness of each number (`positionsAsOf`, `priceAsOf`, `completeness`).
 * The answers' shapes are `portfolioResponse` and `accountsResponse` (`schemas.ts`).
 * `GET /api/portfolio/history?range=`: the value history (src/history/) and today's moving point.
 * `GET /api/portfolio/returns?range=&accountId=`: time- and money-weighted returns, flows and income (src/returns/).
 * `GET /api/accounts`: accounts with their connection's status and cash.
 */
export function portfolioRouter(deps: PortfolioRoutesDeps): Router {
  const router = Router();
  router.use(requireUser(deps.verifier));
  router.get(
    '/portfolio',
    userHandler(async (req, res) => {
      const { snapshot, totals } = await readPortfolio(deps.db, deps.redis, deps.keys, req.userId);
      const body: PortfolioResponse = {
        ...snapshot,
        completeness: {
          complete: totals.complete,
          unpricedHoldings: totals.unpricedHoldings,
          holdingsMissingFx: totals.holdingsMissingFx,
          cashLinesMissingFx: totals.cashLinesMissingFx,
        },
      };
      res.json(body);
    }),
  );
  router.get(
    '/portfolio/history',
    userHandler(async (req, res) => {
      const query = historyQuery.safeParse(req.query);
      if (!query.success) throw new ApiError('FS_VALIDATION', z.prettifyError(query.error));
      const now = new Date();
      const { snapshot, totals } = await readPortfolio(deps.db, deps.redis, deps.keys, req.userId);
      const range = query.data.range;
      const [points, otherBaseCurrencies] = await Promise.all([
        readHistory(deps.db, req.userId, range, snapshot.baseCurrency, now),
        otherHistoryCurrencies(deps.db, req.userId, range, snapshot.baseCurrency, now),
      ]);
      const { baseCurrency: _currency, ...live } = pointUpdate(now, totals);
      const body: HistoryResponse = { range, baseCurrency: snapshot.baseCurrency, interval: HISTORY_INTERVALS[range], points, live, otherBaseCurrencies };
      res.json(body);
    }),
  );
  router.get(
    '/portfolio/returns',
    userHandler(async (req, res) => {
      const query = returnsQuery.safeParse(req.query);
      if (!query.success) throw new ApiError('FS_VALIDATION', z.prettifyError(query.error));
      const body: ReturnsResponse = await readReturns(deps.db, deps.redis, deps.keys, req.userId, query.data.range, query.data.accountId, new Date());
      res.json(body);
    }),
  );
  router.get(
    '/accounts',
    userHandler(async (req, res) => {
      const body: AccountsResponse = { accounts: await listAccounts(deps.db, req.userId) };
      res.json(body);
    }),
  );
  return router;
}
