import { Router } from 'express';
import { z } from 'zod';
import { listActivities } from '../activities/activity-queries.ts';
import { requireUser } from '../auth/middleware.ts';
import type { UserTokenVerifier } from '../auth/user-tokens.ts';
import type { Knex } from '../db/knex.ts';
import { ApiError } from '../http/errors.ts';
import { userHandler } from './async-handler.ts';
import { activityListQuery, type ActivityListResponse } from './schemas.ts';

export interface ActivityRoutesDeps {
  db: Knex;
  verifier: UserTokenVerifier;
}

/**
 * Mounted at `/api/activities`: `GET /api/activities?accountId=&type=&from=&to=&limit=&cursor=`,
 * the caller's activities newest first, keyset-paged (`nextCursor`), from the `activities`
 * table the actor writes.
 */
export function activityRouter(deps: ActivityRoutesDeps): Router {
  const router = Router();
  router.use(requireUser(deps.verifier));
  router.get(
    '/',
    userHandler(async (req, res) => {
      const query = activityListQuery.safeParse(req.query);
      if (!query.success) throw new ApiError('FS_VALIDATION', z.prettifyError(query.error));
      const body: ActivityListResponse = await listActivities(deps.db, req.userId, query.data);
      res.json(body);
    }),
  );
  return router;
}
