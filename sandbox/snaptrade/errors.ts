/**
 * Every error the SnapTrade sandbox answers, defined once. Bodies have SnapTrade's shape
 * `{detail, status_code, code}` (codes are strings, as the real service sends them).
 *
 * Codes SnapTrade documents or is known to send: 1076 (signature), 1083 (userId/userSecret),
 * 1011 (not found), 3002 (brokerage error), 3003 (connection disabled), 3011 (already disabled),
 * 3012 (still populating), `throttled` (429). The others are the sandbox's own choice for cases
 * whose real code is undocumented; they are marked `sandboxCode: true` so nobody builds on them.
 */
export interface SnaptradeErrorSpec {
  status: number;
  code: string;
  detail: string;
  sandboxCode?: boolean;
}

export const SNAPTRADE_ERRORS = {
  BAD_SIGNATURE: { status: 401, code: '1076', detail: 'Unable to verify signature sent' },
  INVALID_USER: { status: 401, code: '1083', detail: 'Invalid userID or userSecret provided' },
  INVALID_CLIENT_ID: { status: 401, code: '1001', detail: 'Invalid clientId provided', sandboxCode: true },
  STALE_TIMESTAMP: {
    status: 401,
    code: '1077',
    detail: 'Request timestamp is missing or too far from the server time',
    sandboxCode: true,
  },
  NOT_FOUND: { status: 404, code: '1011', detail: 'The requested resource does not exist.' },
  USER_EXISTS: { status: 400, code: '1010', detail: 'User already exist', sandboxCode: true },
  INVALID_REQUEST: { status: 400, code: '1099', detail: 'Invalid request', sandboxCode: true },
  TRADE_REJECTED: { status: 400, code: '1063', detail: 'Trade could not be placed', sandboxCode: true },
  CONNECTION_DISABLED: {
    status: 402,
    code: '3003',
    detail: 'Unable to sync with brokerage account because the connection is disabled.',
  },
  ALREADY_DISABLED: { status: 402, code: '3011', detail: 'This connection is already disabled.' },
  GONE: {
    status: 410,
    code: '1141',
    detail: 'This endpoint is no longer available. Use GET /accounts/{accountId}/positions/all instead.',
    sandboxCode: true,
  },
  POPULATING: { status: 425, code: '3012', detail: 'The resource is currently being populated. Please try again later.' },
  RATE_LIMITED: { status: 429, code: 'throttled', detail: 'Request was throttled.' },
  REFRESH_TOO_SOON: {
    status: 429,
    code: 'throttled',
    detail: 'Connection refreshed too recently. Please try again later.',
  },
  BROKERAGE_ERROR: {
    status: 503,
    code: '3002',
    detail: 'Unable to sync with brokerage account. Invalid response from Brokerage API.',
  },
  NOT_IMPLEMENTED: {
    status: 501,
    code: '1501',
    detail: 'This endpoint is not emulated by the SnapTrade sandbox.',
    sandboxCode: true,
  },
  INTERNAL: { status: 500, code: '1500', detail: 'Unexpected error', sandboxCode: true },
} as const satisfies Record<string, SnaptradeErrorSpec>;

export type SnaptradeErrorName = keyof typeof SNAPTRADE_ERRORS;

export interface SnaptradeErrorBody {
  detail: string;
  status_code: number;
  code: string;
}

/** Thrown by handlers; the server turns it into the status and body of the named error. */
export class SnaptradeApiError extends Error {
  readonly status: number;
  readonly body: SnaptradeErrorBody;

  constructor(
    readonly errorName: SnaptradeErrorName,
    detail?: string,
  ) {
    const spec: SnaptradeErrorSpec = SNAPTRADE_ERRORS[errorName];
    super(detail ?? spec.detail);
    this.name = 'SnaptradeApiError';
    this.status = spec.status;
    this.body = { detail: detail ?? spec.detail, status_code: spec.status, code: spec.code };
  }
}

/** The body of an error given its status alone (fault injection of arbitrary 5xx/4xx). */
export function errorBodyForStatus(status: number): SnaptradeErrorBody {
  const named = Object.values(SNAPTRADE_ERRORS).find((e: SnaptradeErrorSpec) => e.status === status);
  if (named) return { detail: named.detail, status_code: status, code: named.code };
  return { detail: `Injected error ${status}`, status_code: status, code: String(status) };
}
