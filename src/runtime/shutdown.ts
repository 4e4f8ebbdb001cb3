import type { Logger } from '../logging/logger.ts';

/**
 * Runs `stop` once on SIGINT/SIGTERM; a second signal, or `stop` taking longer than `graceMs`,
 * exits at once. Exit code 0 after a clean stop.
 *
 * Ctrl-C in a terminal signals the whole process group, and `npm run` relays the signal to its
 * child as well, so one keypress arrives twice within milliseconds: a repeat inside
 * `repeatWindowMs` is that echo, not an impatient second Ctrl-C.
 */
export function installShutdownHandlers(
  stop: () => Promise<void>,
  log: Logger,
  graceMs = 30_000,
  repeatWindowMs = 1_000,
): void {
  let stopping = false;
  let firstSignalAt = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      if (Date.now() - firstSignalAt < repeatWindowMs) return;
      log.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    stopping = true;
    firstSignalAt = Date.now();
    log.info({ signal }, 'shutting down');
    const timer = setTimeout(() => {
      log.error({ graceMs }, 'shutdown took too long: exiting');
      process.exit(1);
    }, graceMs);
    timer.unref();
    stop().then(
      () => {
        log.info('stopped');
        process.exit(0);
      },
      (err: unknown) => {
        log.error({ err }, 'error while stopping');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}
