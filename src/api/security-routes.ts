import { Router } from 'express';
import { z } from 'zod';
import { requireUser } from '../auth/middleware.ts';
import type { UserTokenVerifier } from '../auth/user-tokens.ts';
import { ApiError } from '../http/errors.ts';
import type { OrderService } from '../trading/order-service.ts';
import { userHandler } from './async-handler.ts';
import { securitySearchQuery, type SecuritySearchResponse } from './schemas.ts';

/**
 * Mounted at `/api/securities`. `GET /api/securities/search?query=&accountId=`: the securities
 * the account's brokerage trades that match (SnapTrade's symbol search for the account, within
 * the shared budget; Alpaca's assets), for the trade ticket's suggestions.
 */
export function securityRouter(deps: { verifier: UserTokenVerifier; orders: OrderService }): Router {
  const router = Router();
  router.use(requireUser(deps.verifier));
  router.get(
    '/search',
    userHandler(async (req, res) => {
      const query = securitySearchQuery.safeParse(req.query);
      if (!query.success) throw new ApiError('FS_VALIDATION', z.prettifyError(query.error));
      const body: SecuritySearchResponse = await deps.orders.search(req.userId, query.data.query, query.data.accountId);
      res.json(body);
    }),
  );
  return router;
}
