import express, { Router } from 'express';
import { requireAdmin } from '../auth/middleware.ts';
import { ApiError } from '../http/errors.ts';
import type { ReplayJobs } from '../replay/replay-jobs.ts';
import { replayId, replayRequest, type ReplayStarted, type ReplayStatusBody } from './schemas.ts';

/**
 * `POST /api/admin/replays` starts a replay job (202 with its id), `GET /api/admin/replays/:id`
 * shows its progress and report. Admin token on both; without it 401, whatever the path.
 */
export function adminReplayRouter(deps: { replays: ReplayJobs; adminToken: string | undefined }): Router {
  const router = Router();
  router.use(requireAdmin(deps.adminToken));
  // After the token check: nobody without it gets a body parsed. Up to 100,000 user ids.
  router.use('/replays', express.json({ limit: '4mb' }));
  router.post('/replays', async (req, res) => {
    const parsed = replayRequest.safeParse(req.body ?? {});
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new ApiError('FS_VALIDATION', `${issue.path.join('.') || 'body'}: ${issue.message}`);
    }
    const body: ReplayStarted = await deps.replays.start(parsed.data);
    res.status(202).json(body);
  });
  router.get('/replays/:id', async (req, res) => {
    const id = replayId.safeParse(req.params.id);
    if (!id.success) throw new ApiError('FS_VALIDATION', 'id: a replay id (uuid)');
    const status = await deps.replays.status(id.data);
    if (!status) throw new ApiError('FS_NOT_FOUND', 'no such replay');
    const body: ReplayStatusBody = status;
    res.json(body);
  });
  return router;
}
