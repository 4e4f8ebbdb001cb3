import type { z } from 'zod';

/**
 * Errors and body validation shared by the control API routers (`snaptrade/control-routes.ts`
 * and `alpaca/control-routes.ts`). A thrown `ControlError` is rendered by the control router's
 * error handler as `{error: {code, message}}` with its status.
 */
export class ControlError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** Validate a request body (absent: `{}`); a mismatch is a 400 `invalid_body` naming each issue. */
export function parse<S extends z.ZodType>(schema: S, body: unknown): z.output<S> {
  const result = schema.safeParse(body ?? {});
  if (!result.success) {
    const message = result.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ');
    throw new ControlError(400, 'invalid_body', message);
  }
  return result.data;
}
