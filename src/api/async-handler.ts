import type { NextFunction, Request, RequestHandler, Response } from 'express';

/** Express 5 forwards rejected promises itself; this only types handlers that use `req.userId`. */
export function userHandler(
  fn: (req: Request & { userId: string }, res: Response, next: NextFunction) => Promise<void>,
): RequestHandler {
  return (req, res, next) => fn(req as Request & { userId: string }, res, next);
}
