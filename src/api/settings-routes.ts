import express, { Router } from 'express';
import { requireUser } from '../auth/middleware.ts';
import type { UserTokenVerifier } from '../auth/user-tokens.ts';
import { ApiError } from '../http/errors.ts';
import { changeSettings, readSettings, type SettingsDeps } from '../users/user-settings.ts';
import { userHandler } from './async-handler.ts';
import { settingsRequest, type SettingsChangeResponse, type SettingsResponse } from './schemas.ts';

/**
 * `GET /api/me/settings`: the user's base currency and the ones they can choose.
 * `PUT /api/me/settings` (`{baseCurrency}`): the change goes through the user's stream
 * (`src/users/user-settings.ts`); 200 once applied, 202 when it is queued but not yet applied
 * within the wait.
 */
export function settingsRouter(deps: SettingsDeps & { verifier: UserTokenVerifier }): Router {
  const router = Router();
  router.use(requireUser(deps.verifier));
  router.get(
    '/settings',
    userHandler(async (req, res) => {
      const body: SettingsResponse = await readSettings(deps.db, req.userId);
      res.json(body);
    }),
  );
  router.put(
    '/settings',
    express.json({ limit: '4kb' }),
    userHandler(async (req, res) => {
      const parsed = settingsRequest.safeParse(req.body ?? {});
      if (!parsed.success) {
        const issue = parsed.error.issues[0]!;
        throw new ApiError('FS_VALIDATION', `${issue.path.join('.') || 'body'}: ${issue.message}`);
      }
      const body: SettingsChangeResponse = await changeSettings(deps, req.userId, parsed.data);
      res.status(body.applied ? 200 : 202).json(body);
    }),
  );
  return router;
}
