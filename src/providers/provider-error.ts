import { scrubSecrets } from '../logging/redact.ts';

export type ProviderName = 'snaptrade' | 'alpaca';

/**
 * A brokerage call that failed, classified once so every caller agrees on what to do:
 * `retryable` for throttling (429), data still populating (425), server errors (5xx) and network
 * failures; final for everything else (401, 403, 404, 410, other 4xx), where retrying cannot help.
 * The message never carries secrets (request URLs hold `userSecret`).
 */
export class ProviderError extends Error {
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
    };
  }
}

export function isRetryableStatus(status: number): boolean {
  return status === 429 || status === 425 || status === 408 || status >= 500;
}

/** Classifies a thrown value that is not an HTTP answer (DNS, refused, reset, timeout). */
export function networkError(provider: ProviderName, operation: string, err: unknown): ProviderError {
  const code = (err as { code?: string }).code;
  const message = err instanceof Error ? err.message : String(err);
  return new ProviderError(provider, operation, undefined, code, `${operation}: ${message}`, true);
}
