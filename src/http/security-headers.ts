import { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import helmet from 'helmet';

/**
 * The security headers of every HTTP answer, defined once: helmet with its defaults. Express uses
 * the middleware; the answers written outside Express (the webhook fast route, raw client-error
 * answers) use `securityHeaderList`, which is this middleware's own output, and socket.io's
 * long-polling answers run the middleware through `io.engine.use`.
 */
export const securityHeaders = helmet();

let list: readonly (readonly [string, string])[] | undefined;

/** The headers `securityHeaders` sets (helmet's defaults are static), computed once. */
export function securityHeaderList(): readonly (readonly [string, string])[] {
  if (!list) {
    const res = new ServerResponse(new IncomingMessage(new Socket()));
    securityHeaders(res.req, res, () => undefined);
    list = Object.entries(res.getHeaders()).map(
      ([name, value]) => [name, Array.isArray(value) ? value.join(', ') : String(value)] as const,
    );
  }
  return list;
}

/** Sets `securityHeaders`' output on an answer written without Express. */
export function applySecurityHeaders(res: ServerResponse): void {
  for (const [name, value] of securityHeaderList()) res.setHeader(name, value);
}
