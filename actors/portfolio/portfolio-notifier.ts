import type { ConnectionState } from '../../src/realtime/events.ts';
import type { Holding, PortfolioTotals } from '../../src/portfolio/index.ts';
import type { OrderRecord } from '../../src/trading/order-state.ts';
import type { ActivityView } from '../../src/activities/activity.ts';

/**
 * What the user actor tells the outside world after a commit: browser pushes and the symbol
 * collector. Optional: the actor works without (tests, replay).
 */
export interface PortfolioNotifier {
  /** `baseCurrency`: set when the change puts the portfolio in a new base (`settings.changed`). */
  holdingsChanged(
    userId: string,
    change: { upserted: readonly Holding[]; removed: readonly string[]; totals: PortfolioTotals; baseCurrency?: string },
  ): void;
  syncStatus(userId: string, status: { state: 'syncing' | 'idle' | 'failed'; accountId?: string; message?: string }): void;
  connectionStatus(
    userId: string,
    status: { connectionId: string; brokerage: string | null; status: ConnectionState; message?: string },
  ): void;
  /** A connection attempt in the brokerage's portal ended (`connection:attempt`). Optional: tests and replay do without. */
  connectionAttempt?(userId: string, attempt: { result: string; succeeded: boolean; brokerageId: string | null }): void;
  /** One of the user's orders changed (`order:update`). Optional: tests and replay do without. */
  orderUpdate?(userId: string, order: OrderRecord): void;
  /** Activities of one account were stored or changed (`activities:update`). Optional: tests and replay do without. */
  activitiesUpdate?(userId: string, update: { accountId: string; activities: readonly ActivityView[] }): void;
  /** The user's settings changed (the base currency): their open tabs get a full snapshot. Optional: tests and replay do without. */
  settingsChanged?(userId: string, settings: { baseCurrency: string }): void;
  /** The user's Alpaca-quotable tickers after this batch (idempotent: the same set changes nothing). */
  heldSymbols(userId: string, symbols: readonly string[]): Promise<void> | void;
  /**
   * The user (scope `all`: deleted here; their sockets are told and closed) or SnapTrade's copy of
   * them (scope `snaptrade`) is gone: their events in `partition` up to `upToId` are purged.
   */
  userPurged(userId: string, purge: { scope: 'all' | 'snaptrade'; partition: number; upToId: string | null }): Promise<void> | void;
}

/** Sync scheduling the actor needs (BullMQ in production). */
export interface SyncRequests {
  scheduleAccountSync(userId: string, provider: 'snaptrade' | 'alpaca', accountId: string, reason: string): Promise<unknown>;
  scheduleUserSync(userId: string, reason: string): Promise<unknown>;
  /** Fetch the account's activities (debounced). */
  scheduleActivitiesSync(userId: string, provider: 'snaptrade' | 'alpaca', accountId: string, reason: string): Promise<unknown>;
}
