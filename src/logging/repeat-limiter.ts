import type { LogFn, Logger } from 'pino';

/**
 * Rate limit for log lines that repeat while a dependency is down. A Redis or Postgres outage
 * makes every client, queue and retry loop report the same failure over and over (each reconnect
 * attempt, each poll): written as they come, that is hundreds of lines a minute saying one thing.
 *
 * A warning or error whose `err` is a lost connection (see `isConnectionError`), or whose object
 * carries `[REPEATABLE]: true`, is written at most once per `windowMs` per module and message:
 * the first occurrence at once; later ones within the window are held back and counted, and at
 * the end of the window one line repeats the latest of them with `suppressed` (how many were
 * held back). Other lines are never held back.
 */

/** Marks a log object as a repeating failure (a symbol key: never written to the line itself). */
export const REPEATABLE: unique symbol = Symbol.for('foliostream.log.repeatable');

/** Default window: at most one line per module and message per 10 seconds. */
export const REPEAT_WINDOW_MS = 10_000;

const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  // Postgres: admin/crash shutdown, cannot connect now, connection exceptions.
  '57P01',
  '57P02',
  '57P03',
  '08000',
  '08001',
  '08003',
  '08004',
  '08006',
]);

const CONNECTION_ERROR_NAMES = new Set(['MaxRetriesPerRequestError', 'KnexTimeoutError', 'ConnectionClosedError']);

const CONNECTION_MESSAGES = [
  /^Connection is closed\.?$/,
  /Stream isn't writeable and enableOfflineQueue options is false/,
  /Connection terminated( unexpectedly| due to connection timeout)?/,
  /Connection ended unexpectedly/,
  /Timeout acquiring a connection/,
  /timeout exceeded when trying to connect/,
  /^connect E[A-Z]+ /,
];

/**
 * Whether `err` says a connection to a server is lost or cannot be made (Redis, Postgres, any
 * socket): the kind of failure that repeats for as long as the server is away. Follows `cause`
 * and the errors of an AggregateError.
 */
export function isConnectionError(err: unknown, depth = 0): boolean {
  if (!err || typeof err !== 'object' || depth > 3) return false;
  const e = err as { code?: unknown; name?: unknown; message?: unknown; cause?: unknown; errors?: unknown };
  if (typeof e.code === 'string' && CONNECTION_CODES.has(e.code)) return true;
  if (typeof e.name === 'string' && CONNECTION_ERROR_NAMES.has(e.name)) return true;
  if (typeof e.message === 'string' && CONNECTION_MESSAGES.some((pattern) => pattern.test(e.message as string))) return true;
  if (e.cause !== undefined && isConnectionError(e.cause, depth + 1)) return true;
  if (Array.isArray(e.errors) && e.errors.length > 0) return e.errors.every((inner) => isConnectionError(inner, depth + 1));
  return false;
}

interface Held {
  logger: Logger;
  method: LogFn;
  args: unknown[];
}

interface Entry {
  writtenAt: number;
  suppressed: number;
  latest: Held | undefined;
  timer: NodeJS.Timeout | undefined;
}

export interface RepeatLimiterOptions {
  windowMs?: number;
  now?: () => number;
}

export class RepeatLimiter {
  private readonly entries = new Map<string, Entry>();
  private readonly modules = new WeakMap<Logger, string>();
  private readonly windowMs: number;
  private readonly now: () => number;

  constructor(options: RepeatLimiterOptions = {}) {
    this.windowMs = options.windowMs ?? REPEAT_WINDOW_MS;
    this.now = options.now ?? Date.now;
  }

  /**
   * Called from pino's `logMethod` hook for warnings and errors. Returns false when the call is
   * to be written now as it is; otherwise the limiter has taken care of it (held it back, or
   * written it with the count of those held back before it).
   */
  intercept(logger: Logger, method: LogFn, args: unknown[]): boolean {
    const record = args[0];
    if (!record || typeof record !== 'object') return false;
    // `log.warn(err, msg)` logs the error as `err`, as pino does.
    const fields = (record instanceof Error ? { err: record } : record) as Record<string | symbol, unknown>;
    if (fields[REPEATABLE] !== true && !isConnectionError(fields.err ?? fields.error)) return false;

    const key = `${this.moduleOf(logger)}\u0000${typeof args[1] === 'string' ? args[1] : ''}`;
    const now = this.now();
    const entry = this.entries.get(key);
    if (!entry || now - entry.writtenAt >= this.windowMs) {
      const heldBack = entry?.suppressed ?? 0;
      if (entry?.timer) clearTimeout(entry.timer);
      this.entries.set(key, { writtenAt: now, suppressed: 0, latest: undefined, timer: undefined });
      method.apply(logger, (heldBack > 0 ? [{ ...fields, suppressed: heldBack }, ...args.slice(1)] : args) as Parameters<LogFn>);
      return true;
    }
    entry.suppressed += 1;
    entry.latest = { logger, method, args: [fields, ...args.slice(1)] };
    if (!entry.timer) {
      entry.timer = setTimeout(() => this.flush(key), Math.max(0, entry.writtenAt + this.windowMs - now));
      entry.timer.unref();
    }
    return true;
  }

  /** End of a window: one line repeating the latest held-back call, with the count. */
  private flush(key: string): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    entry.timer = undefined;
    const latest = entry.latest;
    if (!latest || entry.suppressed === 0) {
      this.entries.delete(key);
      return;
    }
    const suppressed = entry.suppressed;
    entry.suppressed = 0;
    entry.latest = undefined;
    entry.writtenAt = this.now();
    const [record, ...rest] = latest.args;
    latest.method.apply(latest.logger, [{ ...(record as object), suppressed }, ...rest] as Parameters<LogFn>);
  }

  private moduleOf(logger: Logger): string {
    let module = this.modules.get(logger);
    if (module === undefined) {
      const bound = (logger.bindings() as { module?: unknown }).module;
      module = typeof bound === 'string' ? bound : '';
      this.modules.set(logger, module);
    }
    return module;
  }
}
