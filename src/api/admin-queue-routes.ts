import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import type { Queue } from 'bullmq';
import { Router, type Express } from 'express';
import { ADMIN_SESSION_PATH, endAdminSession, requireAdminSession, startAdminSession } from '../auth/admin-session.ts';
import { requireAdmin } from '../auth/middleware.ts';
import type { AdminSessionResponse } from './admin-stream-schemas.ts';

/**
 * `POST /api/admin/session` (admin token as a bearer header): sets the short-lived admin session
 * cookie that the queue board's pages need (`src/auth/admin-session.ts`); `DELETE` clears it.
 */
export function adminSessionRouter(deps: { adminToken: string | undefined }): Router {
  const router = Router();
  router.use(requireAdmin(deps.adminToken));
  router.post('/session', (req, res) => {
    const body: AdminSessionResponse = { ...startAdminSession(req, deps.adminToken!), path: ADMIN_SESSION_PATH };
    res.json(body);
  });
  router.delete('/session', (req, res) => {
    endAdminSession(req);
    res.status(204).end();
  });
  return router;
}

/**
 * bull-board (the BullMQ queues: jobs by state, retries, schedulers) at `ADMIN_SESSION_PATH`,
 * behind the admin session cookie or the admin token; everything under it answers 401 without.
 */
export function queueBoardRouter(deps: { adminToken: string | undefined; queues: readonly Queue[] }): Router {
  const adapter = new ExpressAdapter();
  adapter.setBasePath(ADMIN_SESSION_PATH);
  createBullBoard({
    queues: deps.queues.map((queue) => new BullMQAdapter(queue)),
    serverAdapter: adapter,
    options: { uiConfig: { boardTitle: 'foliostream queues', miscLinks: [{ text: 'Admin', url: '/admin' }] } },
  });
  // An Express app of its own (bull-board's views and API), run as a middleware here.
  const board = adapter.getRouter() as Express;
  board.disable('x-powered-by');
  const router = Router();
  router.use(requireAdminSession(deps.adminToken));
  router.use(board);
  return router;
}
