import { Router } from 'express';
import { requireAdmin, requireUser } from '../auth/middleware.ts';
import type { UserTokenVerifier } from '../auth/user-tokens.ts';
import { ApiError } from '../http/errors.ts';
import { deleteUser, type DeleteUserDeps } from '../users/delete-user.ts';
import { userHandler } from './async-handler.ts';
import { adminUserId, type DeleteUserResponse } from './schemas.ts';

/**
 * `DELETE /api/me`: a user deletes their own account. 200 once the deletion is applied, 202 when
 * it is queued but not yet applied within the wait; the body says which.
 */
export function userRouter(deps: DeleteUserDeps & { verifier: UserTokenVerifier }): Router {
  const router = Router();
  router.delete(
    '/me',
    requireUser(deps.verifier),
    userHandler(async (req, res) => {
      const body: DeleteUserResponse = { deleted: true, ...(await deleteUser(deps, req.userId)) };
      res.status(body.applied ? 200 : 202).json(body);
    }),
  );
  return router;
}

/** `DELETE /api/admin/users/:id` (admin token): the same deletion, on an operator's request. */
export function adminUserRouter(deps: DeleteUserDeps & { adminToken: string | undefined }): Router {
  const router = Router();
  router.use(requireAdmin(deps.adminToken));
  router.delete('/users/:id', async (req, res) => {
    const userId = adminUserId.safeParse(req.params.id);
    if (!userId.success) throw new ApiError('FS_VALIDATION', 'id: a user id of 1 to 200 characters');
    const body: DeleteUserResponse = { deleted: true, ...(await deleteUser(deps, userId.data)) };
    res.status(body.applied ? 200 : 202).json(body);
  });
  return router;
}
