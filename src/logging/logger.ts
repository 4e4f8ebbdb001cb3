import pino, { type Logger, type LoggerOptions } from 'pino';
import { REDACTED, REDACTED_PATHS, scrubSecrets } from './redact.ts';

export type { Logger } from 'pino';

function serializeError(err: unknown): Record<string, unknown> {
  const base = pino.stdSerializers.err(err as Error) as unknown as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(base)) {
    // Errors from HTTP clients carry the request (URL with userSecret, auth headers): keep only
    // what helps debugging, and scrub strings that may echo secrets.
    if (key === 'config' || key === 'request' || key === 'response' || key === 'headers') continue;
    out[key] = typeof value === 'string' ? scrubSecrets(value) : value;
  }
  return out;
}

export function loggerOptions(level = process.env.LOG_LEVEL ?? 'info'): LoggerOptions {
  return {
    level,
    base: { service: 'foliostream' },
    redact: { paths: REDACTED_PATHS, censor: REDACTED },
    serializers: {
      err: serializeError,
      error: serializeError,
      url: (url: unknown) => (typeof url === 'string' ? scrubSecrets(url) : url),
    },
    hooks: {
      // Message strings are scrubbed too: a URL pasted into a message must not leak a secret.
      logMethod(args, method) {
        const scrubbed = args.map((arg) => (typeof arg === 'string' ? scrubSecrets(arg) : arg));
        method.apply(this, scrubbed as Parameters<typeof method>);
      },
    },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
}

let root: Logger | undefined;

/** The process-wide root logger; created on first use with LOG_LEVEL. */
export function rootLogger(): Logger {
  root ??= pino(loggerOptions());
  return root;
}

/** Replace the root logger (tests capture output; entry points set the level from config). */
export function setRootLogger(logger: Logger): void {
  root = logger;
}

/** A child logger named for the module that owns it: `createLogger('webhook-ingest')`. */
export function createLogger(module: string): Logger {
  return rootLogger().child({ module });
}
