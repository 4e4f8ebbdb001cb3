import type { IncomingMessage } from 'node:http';
import type { RequestHandler } from 'express';
import { ApiError } from './errors.ts';

/**
 * `application/json` (or, with `structuredSuffix`, `application/<x>+json`), with no charset or a
 * UTF-8 one.
 */
export function isJsonContentType(header: string | undefined, options: { structuredSuffix?: boolean } = {}): boolean {
  if (!header) return false;
  const [mediaType = '', ...params] = header.split(';');
  const type = mediaType.trim().toLowerCase();
  const suffixed = (options.structuredSuffix ?? true) && type.startsWith('application/') && type.endsWith('+json');
  if (type !== 'application/json' && !suffixed) return false;
  for (const param of params) {
    const [name = '', value = ''] = param.split('=');
    if (name.trim().toLowerCase() !== 'charset') continue;
    const charset = value.trim().replace(/^"|"$/g, '').toLowerCase();
    if (charset !== 'utf-8' && charset !== 'utf8') return false;
  }
  return true;
}

/** The request announces a body: a chunked one, or a Content-Length above zero. */
export function hasBody(req: IncomingMessage): boolean {
  if (req.headers['transfer-encoding'] !== undefined) return true;
  const length = Number(req.headers['content-length']);
  return Number.isFinite(length) && length > 0;
}

/**
 * 415 FS_UNSUPPORTED_MEDIA_TYPE for a request with a body that is not `application/json`. Without
 * it `express.json()` skips such a body and the route reads `{}`: a `text/plain` POST would be
 * handled as an empty one.
 */
export const jsonBodiesOnly: RequestHandler = (req, _res, next) => {
  if (hasBody(req) && !isJsonContentType(req.headers['content-type'], { structuredSuffix: false })) {
    next(new ApiError('FS_UNSUPPORTED_MEDIA_TYPE', 'a request body must be application/json (UTF-8)'));
    return;
  }
  next();
};
