/**
 * Alpaca's REST error registry, as the sandbox answers it: every error body is
 * `{ code, message }` with one of these stable codes (the SDK parses both into `ApiError`).
 */
export const ALPACA_ERRORS = {
  /** 400: the body is not valid JSON or a query parameter is malformed. */
  MALFORMED_REQUEST: { status: 400, code: 40010000 },
  /** 422: an order field is missing or invalid; also a duplicate `client_order_id`. */
  INVALID_ORDER: { status: 422, code: 40010001 },
  /** 401: missing or wrong `APCA-API-KEY-ID` / `APCA-API-SECRET-KEY`. */
  UNAUTHORIZED: { status: 401, code: 40110000 },
  /** 403: not enough buying power, or not enough shares to sell. */
  FORBIDDEN: { status: 403, code: 40310000 },
  /** 404: no such order, position, asset or route. */
  NOT_FOUND: { status: 404, code: 40410000 },
  /** 422: the order is already in a final state and cannot be canceled. */
  NOT_CANCELABLE: { status: 422, code: 42210000 },
  /** 429: more requests than the per-key budget for the current minute. */
  RATE_LIMITED: { status: 429, code: 42910000 },
  /** 500: internal error (also what injected 5xx faults look like). */
  INTERNAL: { status: 500, code: 50010000 },
} as const;

export type AlpacaErrorKind = keyof typeof ALPACA_ERRORS;

/** A failure a handler throws; the error middleware renders it as Alpaca's `{code, message}`. */
export class AlpacaApiError extends Error {
  readonly status: number;
  readonly code: number;

  constructor(kind: AlpacaErrorKind, message: string) {
    super(message);
    this.name = 'AlpacaApiError';
    this.status = ALPACA_ERRORS[kind].status;
    this.code = ALPACA_ERRORS[kind].code;
  }

  toJSON(): { code: number; message: string } {
    return { code: this.code, message: this.message };
  }
}
