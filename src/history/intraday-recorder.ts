import type { UserPortfolioState } from '../../actors/portfolio/user-portfolio-behavior.ts';
import type { Knex } from '../db/knex.ts';
import type { Logger } from '../logging/logger.ts';
import { liveTotals, type PortfolioTotals } from '../portfolio/index.ts';
import type { HistoryPointUpdate } from '../realtime/events.ts';
import type { PresenceView } from '../realtime/presence.ts';
import { writeIntradayPoints, type ValueRow } from './value-history-store.ts';

/**
 * Intraday points, on the workers: every `everyMs` (a minute), each watched user whose actor runs
 * on this worker gives one point, its live totals as the ticks left them (exact, the same numbers
 * its deltas carry), written to `portfolio_snapshots` in one insert and pushed to the user's
 * browsers as `portfolio:history` (today's moving point). Only watched portfolios move with the
 * ticks (price-revaluation.ts), so they are the ones whose value moves within the day; the daily
 * close covers everyone. Kept outside the actor's projection: a point is an observation, not a fact
 * of the stream.
 */
export interface IntradayRecorderOptions {
  db: Knex;
  runtime: { tell(userId: string, task: (state: UserPortfolioState) => void): boolean };
  presence: Pick<PresenceView, 'users'>;
  push: (userId: string, point: HistoryPointUpdate) => Promise<unknown>;
  everyMs: number;
  log: Logger;
  /** @default Date.now */
  clock?: () => number;
}

export interface IntradayRecorder {
  /** Takes one round of points now (the timer calls it); resolves with the points written. */
  record(): Promise<number>;
  stop(): void;
}

export function pointUpdate(at: Date, totals: PortfolioTotals): HistoryPointUpdate {
  return {
    at: at.toISOString(),
    baseCurrency: totals.baseCurrency,
    totalValue: totals.totalValue,
    invested: totals.investedValue,
    cash: totals.cash,
    costBasis: totals.costBasis,
    unrealizedPl: totals.unrealizedPnl,
    dayChange: totals.dayChange,
  };
}

export function startIntradayRecorder(options: IntradayRecorderOptions): IntradayRecorder {
  const { db, runtime, presence, push, log } = options;
  const clock = options.clock ?? Date.now;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;

  async function record(): Promise<number> {
    const at = new Date(Math.floor(clock() / 60_000) * 60_000);
    const asked: Array<Promise<ValueRow | undefined>> = [];
    for (const userId of presence.users()) {
      asked.push(
        new Promise<ValueRow | undefined>((resolve) => {
          // An actor that is passivated before running the task never answers: give up on it.
          const giveUp = setTimeout(() => resolve(undefined), 5_000);
          const told = runtime.tell(userId, (state) => {
            clearTimeout(giveUp);
            resolve({ userId, at, totals: liveTotals(state.portfolio) });
          });
          if (!told) {
            clearTimeout(giveUp);
            resolve(undefined);
          }
        }),
      );
    }
    const rows = (await Promise.all(asked)).filter((row): row is ValueRow => row !== undefined);
    try {
      await writeIntradayPoints(db, rows);
    } catch (err) {
      // One bad row (a user deleted meanwhile) must not cost everyone their point: one by one.
      log.warn({ err, points: rows.length }, 'writing intraday points failed; writing them one by one');
      for (const row of rows) await writeIntradayPoints(db, [row]).catch(() => undefined);
    }
    await Promise.all(rows.map((row) => push(row.userId, pointUpdate(row.at, row.totals)).catch(() => undefined)));
    return rows.length;
  }

  const loop = () => {
    if (stopped) return;
    record()
      .catch((err: unknown) => log.warn({ err }, 'recording intraday points failed'))
      .finally(() => {
        if (stopped) return;
        timer = setTimeout(loop, options.everyMs);
        timer.unref();
      });
  };
  timer = setTimeout(loop, options.everyMs);
  timer.unref();
  return {
    record,
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
