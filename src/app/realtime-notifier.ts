import type { PortfolioNotifier } from '../../actors/portfolio/portfolio-notifier.ts';
import { readPortfolio } from '../../actors/portfolio/portfolio-read-model.ts';
import type { Knex } from '../db/knex.ts';
import type { PortfolioSequence } from '../realtime/portfolio-sequence.ts';
import { holdingView, totalsView } from '../../actors/portfolio/portfolio-views.ts';
import type { RedisClient as Redis } from '../runtime/redis-client.ts';
import type { StreamKeys } from '../../streams/keys.ts';
import { purgeUserEntries } from '../../streams/purge-user.ts';
import type { Logger } from '../logging/logger.ts';
import type { SymbolCollector } from '../market/symbol-collector.ts';
import type { DeltaCoalescer } from '../realtime/delta-coalescer.ts';
import type { RoomEmitter } from '../realtime/room-emitter.ts';

/**
 * The user actor's window on the outside: holdings changes go to the browser through the delta
 * coalescer, statuses straight to the user's room, held tickers to the symbol collector (which
 * drives the market-data subscription). A change of settings (the base currency) sends every open
 * tab of the user a full snapshot, read after the commit with the seq read before it (the
 * gateway's rule, `portfolio-sequence.ts`).
 */
export function realtimeNotifier(deps: {
  coalescer: DeltaCoalescer;
  emitter: RoomEmitter;
  collector: SymbolCollector;
  redis: Redis;
  keys: StreamKeys;
  log: Logger;
  db: Knex;
  /** The seq counters the coalescer numbers deltas with. */
  sequence: PortfolioSequence;
}): PortfolioNotifier {
  const warn = (what: string) => (err: unknown) => deps.log.warn({ err }, `${what} failed`);
  return {
    holdingsChanged(userId, change) {
      deps.coalescer.push(userId, {
        totals: totalsView(change.totals),
        // Without purchaseFx: the actor does not read activities (the snapshot at the sync's end has it).
        upserted: change.upserted.map((h) => holdingView(h)),
        removed: change.removed,
        ...(change.baseCurrency !== undefined ? { baseCurrency: change.baseCurrency } : {}),
      });
    },
    settingsChanged(userId) {
      void (async () => {
        const seq = await deps.sequence.current(userId);
        const { snapshot } = await readPortfolio(deps.db, deps.redis, deps.keys, userId);
        await deps.emitter.snapshot(userId, { ...snapshot, seq });
      })().catch(warn('settings snapshot push'));
    },
    syncStatus(userId, status) {
      deps.emitter.syncStatus(userId, { ...status, at: new Date().toISOString() }).catch(warn('sync status push'));
    },
    connectionStatus(userId, status) {
      deps.emitter.connectionStatus(userId, { ...status, at: new Date().toISOString() }).catch(warn('connection status push'));
    },
    connectionAttempt(userId, attempt) {
      deps.emitter.connectionAttempt(userId, { ...attempt, at: new Date().toISOString() }).catch(warn('connection attempt push'));
    },
    orderUpdate(userId, order) {
      deps.emitter.orderUpdate(userId, order).catch(warn('order update push'));
    },
    activitiesUpdate(userId, update) {
      deps.emitter
        .activitiesUpdate(userId, { accountId: update.accountId, activities: [...update.activities], at: new Date().toISOString() })
        .catch(warn('activities push'));
    },
    async heldSymbols(userId, symbols) {
      await deps.collector.setUserSymbols(userId, symbols).catch(warn('symbol collector update'));
    },
    async userPurged(userId, purge) {
      if (purge.scope === 'all') {
        await deps.collector.removeUser(userId).catch(warn('symbol collector removal'));
        await deps.emitter
          .endSessions(userId, { reason: 'account_deleted', message: 'This account was deleted.', at: new Date().toISOString() })
          .catch(warn('session end push'));
      }
      if (purge.upToId) {
        const deleted = await purgeUserEntries(deps.redis, deps.keys, purge.partition, userId, purge.upToId, purge.scope).catch(
          (err: unknown) => {
            warn('stream purge')(err);
            return 0;
          },
        );
        deps.log.info({ scope: purge.scope, partition: purge.partition, entries: deleted }, 'deleted user events purged from the stream');
      }
    },
  };
}
