import { scrubSecrets } from '../logging/redact.ts';

export type ProviderName = 'snaptrade' | 'alpaca';

/**
 * A brokerage call that failed, classified once so every caller agrees on what to do:
 * `retryable` for throttling (429), data still populating (425), server errors (5xx) and network
 * failures; final for everything else (401, 403, 404, 410, other 4xx), where retrying cannot help.
 * The message never carries secrets (request URLs hold `userSecret`).
 */
export class ProviderError extends Error {
  /** For a SnapTrade user call: the registration generation whose secret was used. */
  registrationGeneration: number | undefined;

  constructor(
    readonly provider: ProviderName,
    readonly operation: string,
    readonly status: number | undefined,
    readonly code: string | undefined,
    message: string,
    readonly retryable: boolean,
  ) {
    super(scrubSecrets(message));
    this.name = 'ProviderError';
  }

  toJSON(): Record<string, unknown> {
    return {
      provider: this.provider,
      operation: this.operation,
      status: this.status,
      code: this.code,
      message: this.message,
      retryable: this.retryable,
      ...(this.registrationGeneration === undefined ? {} : { registrationGeneration: this.registrationGeneration }),
    };
  }
}

/**
 * SnapTrade's 401 "Invalid userID or userSecret provided" (code 1083): SnapTrade no longer accepts
 * the user's registration (the user was deleted there, its secret reset, or the data is from
 * another SnapTrade environment). Only a new registration helps.
 */
export function isInvalidSnapTradeUser(err: unknown): err is ProviderError {
  return (
    err instanceof ProviderError &&
    err.provider === 'snaptrade' &&
    err.status === 401 &&
    (err.code === '1083' || /invalid userid or usersecret/i.test(err.message))
  );
}

/** What the user is told when SnapTrade no longer accepts their registration. */
export const INVALID_REGISTRATION_MESSAGE =
  'SnapTrade no longer accepts your registration (it was reset or deleted there): connect your brokerages again.';

export function isRetryableStatus(status: number): boolean {
  return status === 429 || status === 425 || status === 408 || status >= 500;
}

/** Classifies a thrown value that is not an HTTP answer (DNS, refused, reset, timeout). */
export function networkError(provider: ProviderName, operation: string, err: unknown): ProviderError {
  const code = (err as { code?: string }).code;
  const message = err instanceof Error ? err.message : String(err);
  return new ProviderError(provider, operation, undefined, code, `${operation}: ${message}`, true);
}
