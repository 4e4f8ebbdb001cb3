import pino, { type Logger, type LoggerOptions } from 'pino';
import { REDACTED, REDACTED_PATHS, scrubSecrets } from './redact.ts';
import { RepeatLimiter, REPEAT_WINDOW_MS } from './repeat-limiter.ts';

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

const CHINDINGS = pino.symbols.chindingsSym;

/**
 * pino appends a child's bindings to its parent's, so `log.child({ module: 'sync' })` of a logger
 * bound to `module: 'main'` would write `module` twice in every line (JSON parsers keep the last,
 * `jq` and log shippers disagree). A child's binding replaces the parent's instead: each key
 * once, where the parent had it, with the child's value.
 */
function keepLastBindings(child: Logger): void {
  const holder = child as unknown as Record<symbol, string | undefined>;
  const chindings = holder[CHINDINGS];
  if (!chindings) return;
  const bindings = JSON.parse(`{${chindings.slice(1)}}`) as Record<string, unknown>;
  const rebuilt = JSON.stringify(bindings);
  if (rebuilt === '{}') return;
  const deduped = `,${rebuilt.slice(1, -1)}`;
  if (deduped !== chindings) holder[CHINDINGS] = deduped;
}

export interface LoggerSettings {
  /** Window of the repeat limiter (`repeat-limiter.ts`): one line per module and message per window. */
  repeatWindowMs?: number;
}

export function loggerOptions(level = process.env.LOG_LEVEL ?? 'info', settings: LoggerSettings = {}): LoggerOptions {
  const repeats = new RepeatLimiter({ windowMs: settings.repeatWindowMs ?? REPEAT_WINDOW_MS });
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
      // Warnings and errors about a lost connection go through the repeat limiter: an outage
      // writes one line per module and message per window, not one per retry.
      logMethod(args, method, level) {
        const scrubbed = args.map((arg) => (typeof arg === 'string' ? scrubSecrets(arg) : arg));
        if (level >= 40 && repeats.intercept(this, method, scrubbed)) return;
        method.apply(this, scrubbed as Parameters<typeof method>);
      },
    },
    onChild: keepLastBindings,
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
