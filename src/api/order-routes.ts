import express, { Router } from 'express';
import { z } from 'zod';
import { requireUser } from '../auth/middleware.ts';
import type { UserTokenVerifier } from '../auth/user-tokens.ts';
import type { Knex } from '../db/knex.ts';
import { ApiError } from '../http/errors.ts';
import { listOrders, readOrder } from '../trading/order-queries.ts';
import type { OrderService } from '../trading/order-service.ts';
import { userHandler } from './async-handler.ts';
import {
  idempotencyKey,
  orderListQuery,
  orderRequest,
  type OrderListResponse,
  type OrderPreviewResponse,
  type OrderRequest,
  type OrderView,
} from './schemas.ts';

export interface OrderRoutesDeps {
  db: Knex;
  verifier: UserTokenVerifier;
  orders: OrderService;
}

function parseForm(body: unknown): OrderRequest {
  const parsed = orderRequest.safeParse(body ?? {});
  if (!parsed.success) throw new ApiError('FS_VALIDATION', z.prettifyError(parsed.error));
  return parsed.data;
}

/**
 * Mounted at `/api/orders`. Trading: `POST /api/orders/preview` (routing and impact, nothing placed), `POST /api/orders`
 * (header `Idempotency-Key`: exactly once), `GET /api/orders` (filtered, paged),
 * `GET /api/orders/:id`, `POST /api/orders/:id/cancel`.
 */
export function orderRouter(deps: OrderRoutesDeps): Router {
  const router = Router();
  router.use(express.json({ limit: '16kb' }));
  router.use(requireUser(deps.verifier));

  router.post(
    '/preview',
    userHandler(async (req, res) => {
      const body: OrderPreviewResponse = await deps.orders.preview(req.userId, parseForm(req.body));
      res.json(body);
    }),
  );

  router.post(
    '/',
    userHandler(async (req, res) => {
      const header = req.get('Idempotency-Key');
      if (header === undefined) {
        throw new ApiError('FS_VALIDATION', 'Idempotency-Key: the header is required (a new key per order, the same key on a retry)');
      }
      const key = idempotencyKey.safeParse(header);
      if (!key.success) throw new ApiError('FS_VALIDATION', key.error.issues.map((i) => i.message).join('; '));
      const form = parseForm(req.body);
      const { order, replayed } = await deps.orders.place(req.userId, key.data, form);
      const body: OrderView = order;
      res.status(201).set('Idempotent-Replayed', String(replayed)).json(body);
    }),
  );

  router.get(
    '/',
    userHandler(async (req, res) => {
      const query = orderListQuery.safeParse(req.query);
      if (!query.success) throw new ApiError('FS_VALIDATION', z.prettifyError(query.error));
      const body: OrderListResponse = await listOrders(deps.db, req.userId, query.data);
      res.json(body);
    }),
  );

  router.get(
    '/:id',
    userHandler(async (req, res) => {
      const order = await readOrder(deps.db, req.userId, String(req.params.id));
      if (!order) throw new ApiError('FS_NOT_FOUND', 'no such order');
      const body: OrderView = order;
      res.json(body);
    }),
  );

  router.post(
    '/:id/cancel',
    userHandler(async (req, res) => {
      const body: OrderView = await deps.orders.cancel(req.userId, String(req.params.id));
      res.json(body);
    }),
  );
  return router;
}
