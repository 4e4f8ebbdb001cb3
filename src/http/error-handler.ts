import type { ErrorRequestHandler, RequestHandler } from 'express';
import type { Logger } from '../logging/logger.ts';
import { ApiError, errorBody } from './errors.ts';

/** 404 for every route nobody claimed, in the API's error shape. */
export const notFoundHandler: RequestHandler = (req, res) => {
  res.status(404).json(errorBody('FS_NOT_FOUND', `no route for ${req.method} ${req.path}`));
};

/** Turns thrown errors into `{error: {code, message}}`; unknown errors become FS_INTERNAL. */
export function errorHandler(log: Logger): ErrorRequestHandler {
  return (err, req, res, _next) => {
    if (res.headersSent) return;
    if (err instanceof ApiError) {
      res.status(err.status).json(err.toBody());
      return;
    }
    const status = (err as { status?: number; statusCode?: number }).status ?? (err as { statusCode?: number }).statusCode;
    const type = (err as { type?: string }).type;
    if (type === 'entity.too.large' || status === 413) {
      res.status(413).json(errorBody('FS_PAYLOAD_TOO_LARGE', 'request body is too large'));
      return;
    }
    if (status === 415) {
      // body-parser: a JSON body in a charset or Content-Encoding it cannot read.
      res.status(415).json(errorBody('FS_UNSUPPORTED_MEDIA_TYPE', 'request body must be application/json (UTF-8)'));
      return;
    }
    if (type === 'entity.parse.failed') {
      res.status(400).json(errorBody('FS_MALFORMED_JSON', 'request body is not valid JSON'));
      return;
    }
    log.error({ err, method: req.method, url: req.originalUrl }, 'unhandled error');
    res.status(500).json(errorBody('FS_INTERNAL', 'internal error'));
  };
}
