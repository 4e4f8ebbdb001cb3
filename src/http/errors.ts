/**
 * Every error the HTTP API returns, defined once: a stable code clients can branch on, its
 * status, and what it means. Bodies are always `{ error: { code, message } }`.
 * README's "Errors" section lists these; a test keeps the two in step.
 */
export const ERRORS = {
  FS_VALIDATION: { status: 400, description: 'The request body or parameters failed validation.' },
  FS_MALFORMED_JSON: { status: 400, description: 'The body is not valid JSON.' },
  FS_MALFORMED_REQUEST: { status: 400, description: 'The request is not valid HTTP.' },
  FS_UNAUTHENTICATED: { status: 401, description: 'Missing, expired or invalid credentials.' },
  FS_WEBHOOK_SIGNATURE: { status: 401, description: 'Missing or wrong SnapTrade webhook Signature.' },
  FS_WEBHOOK_STALE: {
    status: 400,
    description: 'A signed webhook whose eventTimestamp is older than WEBHOOK_MAX_AGE_SECONDS (or too far ahead).',
  },
  FS_FORBIDDEN: { status: 403, description: 'Authenticated, but not allowed to do this.' },
  FS_NOT_FOUND: { status: 404, description: 'No such resource (or not yours).' },
  FS_METHOD_NOT_ALLOWED: {
    status: 405,
    description: 'The path exists but not for this method; the Allow header lists the ones it takes.',
  },
  FS_REQUEST_TIMEOUT: { status: 408, description: 'The request (its headers or body) did not arrive in time.' },
  FS_CONFLICT: { status: 409, description: 'The request conflicts with the current state.' },
  FS_IDEMPOTENCY_KEY_REUSED: {
    status: 409,
    description: 'This Idempotency-Key was used for an order with a different body; nothing was placed. Use a new key for a new order.',
  },
  FS_ORDER_IN_PROGRESS: {
    status: 409,
    description: 'An order with this Idempotency-Key is still being placed; retry with the same key to get it.',
  },
  FS_ORDER_NOT_CANCELABLE: { status: 409, description: 'The order is already final (filled, canceled, rejected or expired).' },
  FS_CONNECTION_BROKEN: {
    status: 409,
    description: "The account's brokerage connection is broken, disabled or needs re-linking; nothing was placed. Reconnect it first.",
  },
  FS_TRADING_NOT_ALLOWED: {
    status: 422,
    description: 'The account cannot trade: a read-only connection, or a brokerage that does not trade through SnapTrade. Nothing was placed.',
  },
  FS_NO_TRADING_ACCOUNT: { status: 422, description: 'No account of the user can take this order (none trades, or none holds what is sold).' },
  FS_UNKNOWN_SECURITY: { status: 422, description: 'The brokerage does not know this symbol (or security id). Nothing was placed.' },
  FS_SECURITY_NOT_TRADABLE: { status: 422, description: 'The brokerage knows the security but does not trade it (or not this way, e.g. fractions).' },
  FS_MARKET_CLOSED: {
    status: 422,
    description: 'The market is closed and this order type and time in force need it open (market, `ioc`, `fok`). Nothing was placed.',
  },
  FS_INSUFFICIENT_BUYING_POWER: { status: 422, description: "The order costs more than the account's buying power. Nothing was placed." },
  FS_INSUFFICIENT_POSITION: { status: 422, description: 'The account does not hold (or has reserved) the quantity sold. Nothing was placed.' },
  FS_ORDER_NOT_SUPPORTED: {
    status: 422,
    description: "The brokerage does not take this form of order (notional amount, time in force, fractional quantity with this type). Nothing was placed.",
  },
  FS_ORDER_REJECTED: { status: 422, description: 'The brokerage refused the order; the message says why. Nothing was placed.' },
  FS_PAYLOAD_TOO_LARGE: { status: 413, description: 'The body exceeds the configured limit.' },
  FS_UNSUPPORTED_MEDIA_TYPE: {
    status: 415,
    description: 'The body must be application/json (UTF-8); a body of another type is refused, not read as empty.',
  },
  FS_RATE_LIMITED: { status: 429, description: 'Too many requests; retry later.' },
  FS_HEADERS_TOO_LARGE: {
    status: 431,
    description: "The request line (URL) and headers together exceed the server's limit (16 KB).",
  },
  FS_INTERNAL: { status: 500, description: 'An unexpected error; it was logged.' },
  FS_UPSTREAM: { status: 502, description: 'A brokerage answered with an error.' },
  FS_BROKERAGE_UNAVAILABLE: {
    status: 503,
    description:
      'The brokerage is throttling (after retries within the shared budget) or failing. Retry with the same Idempotency-Key: an order it may have taken is found, never placed twice.',
  },
  FS_STORAGE_UNAVAILABLE: { status: 503, description: 'Redis or Postgres is unavailable; retry.' },
  FS_NOT_READY: { status: 503, description: 'The service is starting or stopping.' },
} as const satisfies Record<string, { status: number; description: string }>;

export type ErrorCode = keyof typeof ERRORS;

export interface ErrorBody {
  error: { code: ErrorCode; message: string; details?: unknown };
}

export class ApiError extends Error {
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'ApiError';
    this.status = ERRORS[code].status;
  }

  toBody(): ErrorBody {
    return {
      error: { code: this.code, message: this.message, ...(this.details === undefined ? {} : { details: this.details }) },
    };
  }
}

export function errorBody(code: ErrorCode, message: string): ErrorBody {
  return { error: { code, message } };
}
