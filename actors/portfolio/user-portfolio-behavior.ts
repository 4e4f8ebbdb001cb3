import type { ConnectionState } from '../../src/realtime/events.ts';
import type { Knex } from '../../src/db/knex.ts';
import {
  aggregateHoldings,
  applyQuote,
  quoteAt,
  settlePrices,
  reaggregateSymbols,
  type AccountPositions,
  type Holding,
  type LiveSlot,
  type PortfolioState,
  type PortfolioTotals,
  type PriceQuote,
} from '../../src/portfolio/index.ts';
import type { Envelope } from '../../streams/envelope.ts';
import type { ActorBehavior, ApplyContext } from '../actor-behavior.ts';
import type { PortfolioNotifier, SyncRequests } from './portfolio-notifier.ts';
import {
  loadPortfolio,
  providerKey,
  replaceAccountHoldings,
  registerSecurities,
  upsertSecurities,
  writeHoldings,
  type AccountRow,
  type ConnectionRow,
  type Provider,
} from './portfolio-repository.ts';
import type { TickerHolders } from './ticker-holders.ts';
import { INVALID_REGISTRATION_MESSAGE } from '../../src/providers/provider-error.ts';
import { userHash } from '../../src/users/user-hash.ts';
import { alpacaTicker } from './us-listings.ts';
import {
  breaksConnection,
  isRegistrationRejected,
  isStaleSync,
  isStaleUserDeleted,
  normalizeSynced,
  webhookTransition,
  webhookType,
  type AccountsSyncedPayload,
  type PositionsSyncedPayload,
  type SyncFailedPayload,
  type Webhook,
} from './portfolio-projection.ts';
import { ADMIN_REPLAY_EVENT, type AdminReplayPayload, type AdminReplayRunner } from '../../src/replay/admin-replay-event.ts';
import { applyOrderEventInTx } from './order-projection.ts';
import { orderEventsOf, type OrderProvider, type OrderRecord } from '../../src/trading/order-state.ts';
import type { ActivityView } from '../../src/activities/activity.ts';
import type { ActivitiesSyncedPayload } from '../../src/activities/normalize-activities.ts';
import { applyActivitiesSynced } from './activity-projection.ts';
import { DEFAULT_BASE_CURRENCY, parseSettingsChanged, SETTINGS_CHANGED_EVENT } from '../../src/users/settings-event.ts';
import { applySettingsChanged } from './settings-projection.ts';

type Notification =
  /** `baseCurrency`: the holdings and totals are in a new base from here on (`settings.changed`). */
  | { kind: 'holdings'; upserted: Holding[]; removed: string[]; totals: PortfolioTotals; baseCurrency?: string }
  /** The user's settings changed (`settings.changed`): every open tab gets a full snapshot. */
  | { kind: 'settings'; baseCurrency: string }
  /** An order changed (placed, filled, canceled...): pushed as `order:update`. */
  | { kind: 'order'; order: OrderRecord }
  | { kind: 'sync'; state: 'syncing' | 'idle' | 'failed'; accountId?: string; message?: string }
  | {
      kind: 'connection';
      connectionId: string;
      brokerage: string | null;
      status: ConnectionState;
      message?: string;
    }
  /** A connection attempt in the portal ended (CONNECTION_ATTEMPTED): pushed as `connection:attempt`. */
  | { kind: 'attempt'; result: string; succeeded: boolean; brokerageId: string | null }
  /** Activities of an account were stored or changed: pushed as `activities:update`. */
  | { kind: 'activities'; accountId: string; activities: ActivityView[] }
  /** The user was deleted here: sockets are told why and closed, events purged up to `upToId`. */
  | { kind: 'purged'; partition: number; upToId: string | null }
  /** SnapTrade's copy of the user is gone: their SnapTrade events are purged up to `upToId`. */
  | { kind: 'purge-snaptrade'; partition: number; upToId: string | null };

/** One user's portfolio, owned by its actor. */
export interface UserPortfolioState {
  userId: string;
  userExists: boolean;
  baseCurrency: string;
  /** provider:externalId -> connection. */
  connections: Map<string, ConnectionRow>;
  /** provider:externalId -> account (not removed). */
  accounts: Map<string, AccountRow>;
  portfolio: PortfolioState;
  /** Market-data ticker -> canonical identity key of the holding it prices. */
  tickers: Map<string, string>;
  /**
   * Where each ticker's live ticks land (`liveSlot`), found on its first tick; valid while
   * `portfolio` and `tickers` are the objects they were found in.
   */
  liveSlots?: LiveSlotsByTicker;
  /** Filled by `apply`, drained by `afterCommit`. */
  outbox: Notification[];
  /** True once the user is known to have been deleted here (no row, a tombstone). */
  tombstoned?: boolean;
  /**
   * SnapTrade deleted the user while this actor was active (USER_DELETED applied): a SnapTrade
   * sync result appended after it raced the deletion. Not stored: after a restart such a late
   * entry is applied as any other and left to the stream's trimming.
   */
  snaptradeDeleted?: boolean;
  /** Partition and stream id of the event being applied (for purges after the commit). */
  partition?: number;
  lastStreamId?: string | null;
}

export interface LiveSlotsByTicker {
  portfolio: PortfolioState;
  tickers: ReadonlyMap<string, string>;
  slots: Map<string, LiveSlot | null>;
}

export interface UserPortfolioBehaviorDeps {
  sync: SyncRequests;
  notifier?: PortfolioNotifier;
  /** Latest market prices by ticker: a loaded portfolio starts valued like the read model. */
  lastPrices?: (tickers: readonly string[]) => Promise<ReadonlyMap<string, { price: number; at: number; previousClose?: number }>>;
  /** This worker's ticker -> active users index, kept current on load and commit. */
  holders?: TickerHolders;
  /** Runs `admin.replay` events (rebuild, diff, repair in the commit); without it they are no-ops. */
  replays?: AdminReplayRunner;
}

/** Market-data ticker -> identity key of the holding it prices (US listings only). */
export function tickersOf(holdings: Iterable<Holding>): Map<string, string> {
  const out = new Map<string, string>();
  for (const h of holdings) {
    const ticker = alpacaTicker(h);
    if (ticker) out.set(ticker, h.identityKey);
  }
  return out;
}

export { normalizeSynced } from './portfolio-projection.ts';

/**
 * The user portfolio actor: applies webhooks and sync results to the user's projection
 * (connections, accounts, positions, cash, aggregated holdings) inside the runtime's commit
 * transaction, schedules the syncs the events call for, and after the commit tells the browser
 * and the symbol collector what changed.
 */
/** A sync job's result for a SnapTrade account or user (fetched positions, accounts or activities, or its failure). */
function isSnapTradeSyncResult(event: Envelope): boolean {
  return (
    (event.type === 'positions.synced' || event.type === 'accounts.synced' || event.type === 'activities.synced' || event.type === 'sync.failed') &&
    (event.payload as { provider?: string }).provider === 'snaptrade'
  );
}

/** Identity keys this process registered (or found) already: most syncs bring no new security. */
const KNOWN_SECURITIES_CAP = 100_000;

/** A last price as `lastPrices` gives it, and the quote made of it. */
interface LoadedQuote {
  price: number;
  at: number;
  previousClose: number | undefined;
  quote: PriceQuote;
}

export class UserPortfolioBehavior implements ActorBehavior<UserPortfolioState> {
  readonly name = 'user-portfolio';
  private readonly knownSecurities = new Set<string>();
  /**
   * The quote of each ticker's last price, shared by the portfolios loaded with the same price
   * (quotes are never mutated): a quote per holding per user was about 5 KB of heap per
   * portfolio of 25 holdings. One entry per ticker, replaced when its price moves.
   */
  private readonly loadedQuotes = new Map<string, LoadedQuote>();

  constructor(private readonly deps: UserPortfolioBehaviorDeps) {}

  /** Securities the batch's synced positions name, stored before the commit (registerSecurities). */
  async prepare(db: Knex, events: readonly Envelope[]): Promise<void> {
    const refs = events
      .filter((event) => event.type === 'positions.synced')
      .flatMap((event) => normalizeSynced(event.payload as PositionsSyncedPayload).positions.map((p) => p.security))
      .filter((ref) => !this.knownSecurities.has(ref.identityKey));
    if (refs.length === 0) return;
    await registerSecurities(db, refs);
    if (this.knownSecurities.size + refs.length > KNOWN_SECURITIES_CAP) this.knownSecurities.clear();
    for (const ref of refs) this.knownSecurities.add(ref.identityKey);
  }

  async load(db: Knex, userId: string): Promise<UserPortfolioState> {
    const loaded = await loadPortfolio(db, userId);
    const tickers = tickersOf(loaded.portfolio.holdings.values());
    if (this.deps.lastPrices && tickers.size) {
      const prices = await this.deps.lastPrices([...tickers.keys()]);
      for (const [ticker, price] of prices) {
        applyQuote(loaded.portfolio, tickers.get(ticker)!, this.loadedQuote(ticker, price));
      }
    }
    this.deps.holders?.set(userId, tickers.keys());
    return {
      userId,
      userExists: loaded.userExists,
      baseCurrency: loaded.baseCurrency,
      connections: new Map(loaded.connections.map((c) => [providerKey(c.provider, c.externalId), c])),
      accounts: new Map(loaded.accounts.map((a) => [providerKey(a.provider, a.externalId), a])),
      portfolio: loaded.portfolio,
      tickers,
      outbox: [],
    };
  }

  private loadedQuote(ticker: string, last: { price: number; at: number; previousClose?: number }): PriceQuote {
    const known = this.loadedQuotes.get(ticker);
    if (known && known.price === last.price && known.at === last.at && known.previousClose === last.previousClose) return known.quote;
    if (!known && this.loadedQuotes.size >= KNOWN_SECURITIES_CAP) this.loadedQuotes.clear();
    const quote = quoteAt(last.price, last.at, last.previousClose);
    this.loadedQuotes.set(ticker, { price: last.price, at: last.at, previousClose: last.previousClose, quote });
    return quote;
  }

  async apply(
    tx: Knex.Transaction,
    state: UserPortfolioState,
    events: readonly Envelope[],
    context: ApplyContext,
  ): Promise<UserPortfolioState> {
    // Price ticks moved numbers only (applyLiveQuote): build the objects the events will read.
    settlePrices(state.portfolio);
    const schedules: (() => Promise<unknown>)[] = [];
    for (let i = 0; i < events.length; i++) {
      const event = events[i]!;
      state.partition = context.partition;
      state.lastStreamId = context.streamIds[i] ?? null;
      if (state.snaptradeDeleted && isSnapTradeSyncResult(event) && (await this.snaptradeRegistrationGone(tx, state))) {
        // A sync that fetched (or failed) while SnapTrade was deleting the user, appended after
        // USER_DELETED: it changes nothing, and what came from SnapTrade goes, this too.
        state.outbox.push({ kind: 'purge-snaptrade', partition: context.partition, upToId: context.streamIds[i] ?? null });
        continue;
      }
      switch (event.type) {
        case 'snaptrade.webhook':
          await this.applyWebhook(tx, state, event, context.streamIds[i] ?? null, context.partition, schedules);
          break;
        case 'accounts.synced': {
          if (!(await this.ensureUser(tx, state))) break;
          const known = new Set(state.accounts.keys());
          await this.applyAccountsSynced(tx, state, event.payload as AccountsSyncedPayload);
          // A new Alpaca account's history (SnapTrade sends ACCOUNT_TRANSACTIONS_INITIAL_UPDATE).
          for (const [key, a] of state.accounts) {
            if (a.provider === 'alpaca' && !known.has(key)) schedules.push(() => this.deps.sync.scheduleActivitiesSync(state.userId, 'alpaca', a.externalId, 'account-added'));
          }
          // The user-wide sync a webhook started (CONNECTION_ADDED...) has listed the accounts: it
          // ends here; each account's own sync ends with its positions.
          state.outbox.push({ kind: 'sync', state: 'idle' });
          break;
        }
        case 'activities.synced':
          if (!(await this.ensureUser(tx, state))) break;
          await this.applyActivities(tx, state, event.payload as ActivitiesSyncedPayload, schedules);
          break;
        case 'positions.synced':
          if (!(await this.ensureUser(tx, state))) break;
          await this.applyPositionsSynced(tx, state, event.payload as PositionsSyncedPayload, schedules);
          break;
        case 'sync.failed':
          if (!(await this.userIsLive(tx, state))) break;
          await this.applySyncFailed(tx, state, event.payload as SyncFailedPayload);
          break;
        case 'user.deleted':
          await this.deleteUser(tx, state, context.partition, context.streamIds[i] ?? null);
          break;
        case SETTINGS_CHANGED_EVENT: {
          // Checked first: a malformed payload is retried and parked, whoever the user is.
          const settings = parseSettingsChanged(event.payload);
          if (!(await this.ensureUser(tx, state))) break;
          state.portfolio = await applySettingsChanged(tx, state.userId, state.portfolio, settings);
          state.baseCurrency = settings.baseCurrency;
          // Every holding and the totals, in the new base: the delta carries the base with them.
          const { holdings, totals } = state.portfolio;
          state.outbox.push({ kind: 'holdings', upserted: [...holdings.values()], removed: [], totals, baseCurrency: settings.baseCurrency });
          state.outbox.push({ kind: 'settings', baseCurrency: settings.baseCurrency });
          break;
        }
        case ADMIN_REPLAY_EVENT:
          state = await this.adminReplay(tx, state, event as Envelope<AdminReplayPayload>, context.streamIds[i] ?? null);
          break;
        case 'alpaca.trade_update': {
          const payload = event.payload as { accountId?: string; event?: string };
          // Every trade update moves its order; fills (events before orders were recorded were
          // all fills) also sync the account, so holdings follow.
          if (payload.accountId && (payload.event === undefined || payload.event === 'fill' || payload.event === 'partial_fill')) {
            schedules.push(() => this.deps.sync.scheduleAccountSync(state.userId, 'alpaca', payload.accountId!, 'alpaca-fill'));
            schedules.push(() => this.deps.sync.scheduleActivitiesSync(state.userId, 'alpaca', payload.accountId!, 'alpaca-fill'));
          }
          if (await this.userIsLive(tx, state)) await this.applyOrders(tx, state, event);
          break;
        }
        case 'order.placed':
        case 'order.updated':
          if (!(await this.ensureUser(tx, state))) break;
          await this.applyOrders(tx, state, event);
          break;
        default:
          // Snapshots and event types newer than this code: nothing to apply.
          break;
      }
    }
    // Before the commit: a schedule that ran for a batch that then rolled back only causes an
    // extra sync (debounced, idempotent); one lost after a commit would leave data stale.
    for (const schedule of schedules) await schedule();
    return state;
  }

  /**
   * An operator's replay of this user, in order with their live events: the runner rebuilds the
   * user from the stream up to this event and, when it rewrote their rows, the state is loaded
   * again from the transaction (what was queued for the browser stays queued) and the browser
   * gets the repaired holdings.
   */
  private async adminReplay(
    tx: Knex.Transaction,
    state: UserPortfolioState,
    event: Envelope<AdminReplayPayload>,
    streamId: string | null,
  ): Promise<UserPortfolioState> {
    if (!this.deps.replays || !streamId) return state;
    const { repaired } = await this.deps.replays.run(tx, state.userId, streamId, event.payload);
    if (!repaired) return state;
    const next = await this.load(tx, state.userId);
    next.outbox = state.outbox;
    next.partition = state.partition;
    next.lastStreamId = state.lastStreamId;
    const held = new Set(next.portfolio.holdings.keys());
    next.outbox.push({
      kind: 'holdings',
      upserted: [...next.portfolio.holdings.values()],
      removed: [...state.portfolio.holdings.keys()].filter((key) => !held.has(key)),
      totals: next.portfolio.totals,
    });
    return next;
  }

  /** Folds the order facts of `event` into the `orders` table (`order-projection.ts`). */
  private async applyOrders(tx: Knex.Transaction, state: UserPortfolioState, event: Envelope): Promise<void> {
    const accountIdOf = (provider: OrderProvider, externalId: string) => state.accounts.get(providerKey(provider, externalId))?.id;
    for (const orderEvent of orderEventsOf(event, accountIdOf)) {
      for (const order of await applyOrderEventInTx(tx, state.userId, orderEvent)) state.outbox.push({ kind: 'order', order });
    }
  }

  /** A passivated user is revalued by no tick until its actor loads again (and re-indexes it). */
  passivated(userId: string): void {
    this.deps.holders?.remove(userId);
  }

  afterCommit(state: UserPortfolioState): Promise<void> | void {
    if (state.userExists) this.deps.holders?.set(state.userId, state.tickers.keys());
    else this.deps.holders?.remove(state.userId);
    const notifier = this.deps.notifier;
    const outbox = state.outbox.splice(0);
    if (!notifier || outbox.length === 0) return;
    let symbolsChanged = false;
    // One purge per scope is enough: the last one reaches furthest.
    const purges = new Map<'all' | 'snaptrade', () => Promise<void> | void>();
    for (const item of outbox) {
      if (item.kind === 'holdings') {
        notifier.holdingsChanged(state.userId, item);
        symbolsChanged = true;
      } else if (item.kind === 'sync') {
        notifier.syncStatus(state.userId, item);
      } else if (item.kind === 'connection') {
        notifier.connectionStatus(state.userId, item);
      } else if (item.kind === 'order') {
        notifier.orderUpdate?.(state.userId, item.order);
      } else if (item.kind === 'activities') {
        notifier.activitiesUpdate?.(state.userId, item);
      } else if (item.kind === 'attempt') {
        notifier.connectionAttempt?.(state.userId, item);
      } else if (item.kind === 'settings') {
        notifier.settingsChanged?.(state.userId, item);
      } else if (item.kind === 'purge-snaptrade') {
        purges.set('snaptrade', () => notifier.userPurged(state.userId, { scope: 'snaptrade', partition: item.partition, upToId: item.upToId }));
      } else {
        purges.set('all', () => notifier.userPurged(state.userId, { scope: 'all', partition: item.partition, upToId: item.upToId }));
      }
    }
    return (async () => {
      if (symbolsChanged) await notifier.heldSymbols(state.userId, [...state.tickers.keys()].sort());
      for (const purge of purges.values()) await purge();
    })();
  }

  /**
   * Makes sure the user's row exists before an event writes under it. False for a user deleted
   * here (a tombstone and no row): a late webhook or sync result must not bring them back; the
   * event is dropped and purged. The API clears the tombstone when the user comes back.
   */
  private async ensureUser(tx: Knex.Transaction, state: UserPortfolioState): Promise<boolean> {
    if (await this.userIsLive(tx, state)) return true;
    if (state.tombstoned) return false;
    await tx('users').insert({ id: state.userId }).onConflict('id').ignore();
    state.userExists = true;
    return true;
  }

  /**
   * Whether the user, deleted at SnapTrade, still has no SnapTrade registration nor connection (a
   * sync job only runs for a registered user, so a sync result now raced the deletion). A new
   * registration ends it.
   */
  private async snaptradeRegistrationGone(tx: Knex.Transaction, state: UserPortfolioState): Promise<boolean> {
    const gone =
      ![...state.connections.values()].some((c) => c.provider === 'snaptrade') &&
      !(await tx('snaptrade_users').where({ user_id: state.userId }).first('user_id'));
    if (!gone) state.snaptradeDeleted = false;
    return gone;
  }

  /** Whether the user's row exists (it may have been created by the API since this actor loaded). */
  private async userIsLive(tx: Knex.Transaction, state: UserPortfolioState): Promise<boolean> {
    if (state.userExists) return true;
    const [row] = await tx.raw<{ rows: { live: boolean; tombstoned: boolean }[] }>(
      `SELECT EXISTS (SELECT 1 FROM users WHERE id = ?) AS live,
              EXISTS (SELECT 1 FROM deleted_users WHERE user_hash = ?) AS tombstoned`,
      [state.userId, userHash(state.userId)],
    ).then((r) => r.rows);
    state.userExists = Boolean(row?.live);
    state.tombstoned = !state.userExists && Boolean(row?.tombstoned);
    if (state.tombstoned) state.outbox.push({ kind: 'purged', partition: state.partition ?? 0, upToId: state.lastStreamId ?? null });
    return state.userExists;
  }

  private async applyWebhook(
    tx: Knex.Transaction,
    state: UserPortfolioState,
    event: Envelope,
    streamId: string | null,
    partition: number,
    schedules: (() => Promise<unknown>)[],
  ): Promise<void> {
    const hook = event.payload as Webhook;
    const type = webhookType(event);
    const userId = state.userId;
    // What the webhook does to the projection is decided by the pure fold's rule (replay uses
    // the same); the writes and the syncs it calls for are the actor's.
    const transition = webhookTransition(type, hook);
    if (transition.kind === 'user-deleted') {
      await this.snaptradeUserDeleted(tx, state, hook, partition, streamId);
      return;
    }
    if (!(await this.ensureUser(tx, state))) return;
    await tx('webhook_inbox')
      .insert({
        webhook_id: hook.webhookId ?? event.id,
        event_type: type,
        snaptrade_user_id: hook.userId ?? null,
        partition,
        stream_id: streamId,
        event_timestamp: hook.eventTimestamp && !Number.isNaN(Date.parse(hook.eventTimestamp)) ? hook.eventTimestamp : null,
        applied_at: tx.fn.now(),
        payload: JSON.stringify(hook),
      })
      .onConflict('webhook_id')
      .ignore();
    switch (transition.kind) {
      case 'connection-status':
        await this.setConnectionStatus(tx, state, 'snaptrade', transition.connection, transition.status, transition.reason);
        break;
      case 'connection-removed':
        await this.removeConnection(tx, state, 'snaptrade', transition.connection);
        break;
      case 'account-removed':
        await this.removeAccounts(tx, state, [providerKey('snaptrade', transition.account)]);
        break;
      case 'none':
        break;
    }
    switch (type) {
      case 'CONNECTION_ADDED':
      case 'CONNECTION_FIXED':
      case 'CONNECTION_UPDATED':
      case 'NEW_ACCOUNT_AVAILABLE':
        state.outbox.push({ kind: 'sync', state: 'syncing', message: type });
        schedules.push(() => this.deps.sync.scheduleUserSync(userId, type.toLowerCase()));
        break;
      case 'ACCOUNT_HOLDINGS_UPDATED': {
        const failed = Object.entries(hook.details ?? {}).filter(([, d]) => d && d.success === false);
        if (failed.length) {
          state.outbox.push({
            kind: 'sync',
            state: 'failed',
            ...(hook.accountId ? { accountId: hook.accountId } : {}),
            message: `brokerage sync reported failures: ${failed.map(([k]) => k).join(', ')}`,
          });
        }
        if (hook.accountId) {
          schedules.push(() => this.deps.sync.scheduleAccountSync(userId, 'snaptrade', hook.accountId!, 'holdings-updated'));
        }
        break;
      }
      case 'TRADE_DETECTION':
      case 'TRADE_UPDATE':
        // The webhook carries the orders' records: their statuses land on our orders.
        await this.applyOrders(tx, state, event);
        if (hook.accountId) {
          schedules.push(() => this.deps.sync.scheduleAccountSync(userId, 'snaptrade', hook.accountId!, type.toLowerCase()));
        }
        break;
      case 'ACCOUNT_TRANSACTIONS_INITIAL_UPDATE':
      case 'ACCOUNT_TRANSACTIONS_UPDATED':
        if (hook.accountId) schedules.push(() => this.deps.sync.scheduleActivitiesSync(userId, 'snaptrade', hook.accountId!, type.toLowerCase()));
        break;
      case 'CONNECTION_ATTEMPTED': {
        // The portal's outcome, success or the brokerage's reason: the browser shows it.
        const attempt = hook as Webhook & { connectionAttemptedResult?: string; brokerageId?: string };
        const result = attempt.connectionAttemptedResult ?? 'UNKNOWN';
        state.outbox.push({ kind: 'attempt', result, succeeded: result === 'SUCCESS', brokerageId: attempt.brokerageId ?? null });
        break;
      }
      default:
        // CONNECTION_FAILED (its CONNECTION_ATTEMPTED carries the reason), transactions, unknown
        // types: recorded in the inbox only.
        break;
    }
  }

  private async setConnectionStatus(
    tx: Knex.Transaction,
    state: UserPortfolioState,
    provider: Provider,
    externalId: string,
    status: ConnectionRow['status'],
    reason: string | null,
  ): Promise<void> {
    const key = providerKey(provider, externalId);
    const known = state.connections.get(key);
    if (known?.status === status) return;
    const changes = { status, status_reason: reason, status_changed_at: tx.fn.now(), updated_at: tx.fn.now() };
    // Alpaca rows exist before any event names them (the link API creates them with their keys).
    const [row] =
      provider === 'alpaca'
        ? await tx('brokerage_connections')
            .where({ provider, external_id: externalId, user_id: state.userId })
            .update(changes)
            .returning(['id', 'brokerage_name', 'user_id'])
        : await tx('brokerage_connections')
            .insert({ user_id: state.userId, provider, external_id: externalId, status, status_reason: reason })
            .onConflict(['provider', 'external_id'])
            .merge(changes)
            .returning(['id', 'brokerage_name', 'user_id']);
    if (!row) return;
    if (row.user_id !== state.userId) throw new Error(`connection ${externalId} belongs to another user`);
    state.connections.set(key, { id: row.id, provider, externalId, brokerageName: row.brokerage_name, status });
    state.outbox.push({
      kind: 'connection',
      connectionId: row.id,
      brokerage: row.brokerage_name,
      status,
      ...(reason ? { message: reason } : {}),
    });
  }

  private async removeConnection(tx: Knex.Transaction, state: UserPortfolioState, provider: Provider, externalId: string) {
    const connection = state.connections.get(providerKey(provider, externalId));
    await this.setConnectionStatus(tx, state, provider, externalId, 'removed', null);
    const id = connection?.id ?? state.connections.get(providerKey(provider, externalId))?.id;
    const keys = [...state.accounts.entries()].filter(([, a]) => a.connectionId === id).map(([k]) => k);
    await this.removeAccounts(tx, state, keys);
  }

  /** Marks accounts removed, deletes their positions and cash, re-aggregates what they held. */
  private async removeAccounts(tx: Knex.Transaction, state: UserPortfolioState, keys: readonly string[]) {
    const removed = keys.map((k) => state.accounts.get(k)).filter((a): a is AccountRow => a !== undefined);
    if (removed.length === 0) return;
    const ids = removed.map((a) => a.id);
    await tx('accounts').whereIn('id', ids).update({ status: 'removed', updated_at: tx.fn.now() });
    await tx('account_positions').whereIn('account_id', ids).delete();
    await tx('cash_balances').whereIn('account_id', ids).delete();
    for (const key of keys) state.accounts.delete(key);
    await this.reaggregate(tx, state, new Map(ids.map((id) => [id, null])));
  }

  private async reaggregate(tx: Knex.Transaction, state: UserPortfolioState, changed: Map<string, AccountPositions | null>) {
    const { state: next, changes } = reaggregateSymbols(state.portfolio, changed);
    state.portfolio = next;
    await writeHoldings(tx, state.userId, state.baseCurrency, changes.upserted, changes.removed);
    if (changes.upserted.length || changes.removed.length || changed.size) {
      state.tickers = tickersOf(next.holdings.values());
      state.outbox.push({ kind: 'holdings', upserted: changes.upserted, removed: changes.removed, totals: next.totals });
    }
  }

  private async applyAccountsSynced(tx: Knex.Transaction, state: UserPortfolioState, payload: AccountsSyncedPayload) {
    const provider = payload.provider;
    const listed = new Set<string>();
    for (const c of payload.connections) {
      listed.add(providerKey(provider, c.externalId));
      const key = providerKey(provider, c.externalId);
      const before = state.connections.get(key);
      const status = c.status;
      if (provider === 'alpaca') {
        // Alpaca links are created by the link API with their sealed keys (the schema requires
        // them); a listing only refreshes them.
        const [row] = await tx('brokerage_connections')
          .where({ provider, external_id: c.externalId, user_id: state.userId })
          .update({ status, last_synced_at: tx.fn.now(), updated_at: tx.fn.now() })
          .returning(['id']);
        if (!row) continue;
        state.connections.set(key, { id: row.id, provider, externalId: c.externalId, brokerageName: c.brokerageName, status });
        if (before?.status !== status) state.outbox.push({ kind: 'connection', connectionId: row.id, brokerage: c.brokerageName, status });
        continue;
      }
      const [row] = await tx('brokerage_connections')
        .insert({
          user_id: state.userId,
          provider,
          external_id: c.externalId,
          brokerage_slug: c.brokerageSlug,
          brokerage_name: c.brokerageName,
          status,
          // Alpaca rows are created by the link API with their sealed keys; never here.
        })
        .onConflict(['provider', 'external_id'])
        .merge({
          brokerage_slug: c.brokerageSlug,
          brokerage_name: c.brokerageName,
          status,
          last_synced_at: tx.fn.now(),
          updated_at: tx.fn.now(),
        })
        .returning(['id', 'user_id']);
      if (row.user_id !== state.userId) throw new Error(`connection ${c.externalId} belongs to another user`);
      state.connections.set(key, { id: row.id, provider, externalId: c.externalId, brokerageName: c.brokerageName, status });
      if (before?.status !== status) {
        state.outbox.push({ kind: 'connection', connectionId: row.id, brokerage: c.brokerageName, status });
      }
    }
    for (const [key, c] of state.connections) {
      if (c.provider === provider && !listed.has(key) && c.status !== 'removed') {
        await this.removeConnection(tx, state, provider, c.externalId);
      }
    }
    const listedAccounts = new Set<string>();
    for (const a of payload.accounts) {
      const key = providerKey(provider, a.externalId);
      listedAccounts.add(key);
      const connection = state.connections.get(providerKey(provider, a.connectionExternalId));
      if (!connection) throw new Error(`account ${a.externalId} names unknown connection ${a.connectionExternalId}`);
      const [row] = await tx('accounts')
        .insert({
          user_id: state.userId,
          connection_id: connection.id,
          provider,
          external_id: a.externalId,
          name: a.name,
          number_masked: a.numberMasked,
          institution_name: a.institutionName,
          currency: a.currency,
          trading_allowed: a.tradingAllowed,
          status: 'open',
        })
        .onConflict(['provider', 'external_id'])
        .merge({
          connection_id: connection.id,
          name: a.name,
          number_masked: a.numberMasked,
          institution_name: a.institutionName,
          currency: a.currency,
          trading_allowed: a.tradingAllowed,
          status: 'open',
          updated_at: tx.fn.now(),
        })
        .returning(['id', 'user_id', 'positions_as_of']);
      if (row.user_id !== state.userId) throw new Error(`account ${a.externalId} belongs to another user`);
      state.accounts.set(key, {
        id: row.id,
        connectionId: connection.id,
        provider,
        externalId: a.externalId,
        institution: a.institutionName,
        name: a.name,
        currency: a.currency,
        status: 'open',
        positionsAsOf: row.positions_as_of ? row.positions_as_of.toISOString() : null,
      });
    }
    const gone = [...state.accounts.entries()]
      .filter(([key, a]) => a.provider === provider && !listedAccounts.has(key))
      .map(([key]) => key);
    await this.removeAccounts(tx, state, gone);
  }

  private async applyPositionsSynced(
    tx: Knex.Transaction,
    state: UserPortfolioState,
    payload: PositionsSyncedPayload,
    schedules: (() => Promise<unknown>)[],
  ) {
    const account = state.accounts.get(providerKey(payload.provider, payload.accountId));
    if (!account) {
      // Positions of an account we have not listed yet (a webhook raced the account list):
      // list the user's accounts, which syncs this one again.
      schedules.push(() => this.deps.sync.scheduleUserSync(state.userId, 'unknown-account'));
      return;
    }
    const data = normalizeSynced(payload);
    if (isStaleSync(account.positionsAsOf, data.asOf)) return;
    const securityIds = await upsertSecurities(tx, data.positions.map((p) => p.security));
    await replaceAccountHoldings(tx, state.userId, account.id, data, securityIds);
    await tx('accounts')
      .where({ id: account.id })
      .update({ positions_as_of: data.asOf, last_synced_at: tx.fn.now(), updated_at: tx.fn.now() });
    await tx('brokerage_connections').where({ id: account.connectionId }).update({ last_synced_at: tx.fn.now() });
    account.positionsAsOf = data.asOf;
    await this.reaggregate(
      tx,
      state,
      new Map([
        [
          account.id,
          {
            institution: account.institution,
            currency: account.currency,
            asOf: data.asOf,
            positions: data.positions,
            balances: data.balances,
          },
        ],
      ]),
    );
    state.outbox.push({ kind: 'sync', state: 'idle', accountId: account.id });
  }

  /** `activities.synced`: stored by `activity-projection.ts`; the new or changed ones go to the browser. */
  private async applyActivities(
    tx: Knex.Transaction,
    state: UserPortfolioState,
    payload: ActivitiesSyncedPayload,
    schedules: (() => Promise<unknown>)[],
  ) {
    const account = state.accounts.get(providerKey(payload.provider, payload.accountId));
    if (!account) {
      // An account not listed yet: list them, then fetch its activities again.
      schedules.push(() => this.deps.sync.scheduleUserSync(state.userId, 'unknown-account'));
      schedules.push(() => this.deps.sync.scheduleActivitiesSync(state.userId, payload.provider, payload.accountId, 'unknown-account'));
      return;
    }
    const activities = await applyActivitiesSynced(tx, state.userId, account, payload);
    if (activities.length) state.outbox.push({ kind: 'activities', accountId: account.id, activities });
  }

  private async applySyncFailed(tx: Knex.Transaction, state: UserPortfolioState, payload: SyncFailedPayload) {
    if (isRegistrationRejected(payload)) {
      await this.registrationRejected(tx, state, payload);
      return;
    }
    const account = payload.accountId ? state.accounts.get(providerKey(payload.provider, payload.accountId)) : undefined;
    if (account && breaksConnection(payload)) {
      const connection = [...state.connections.values()].find((c) => c.id === account.connectionId);
      if (connection) {
        await this.setConnectionStatus(tx, state, connection.provider, connection.externalId, 'broken', payload.error);
      }
    }
    state.outbox.push({
      kind: 'sync',
      state: 'failed',
      ...(account ? { accountId: account.id } : {}),
      message: payload.error,
    });
  }

  /**
   * SnapTrade answered 401 "Invalid userID or userSecret" for the user's registration: it is
   * marked invalid (only the generation that failed: a newer one is left alone) and every SnapTrade
   * connection of the user needs to be connected again. The browser is told.
   */
  private async registrationRejected(tx: Knex.Transaction, state: UserPortfolioState, payload: SyncFailedPayload) {
    const generation = payload.registrationGeneration;
    if (typeof generation !== 'number') return;
    const marked = await tx('snaptrade_users')
      .where({ user_id: state.userId, generation })
      .update({
        invalid_since: tx.raw('COALESCE(invalid_since, now())'),
        invalid_reason: tx.raw('COALESCE(invalid_reason, ?)', [payload.error]),
        updated_at: tx.fn.now(),
      });
    if (marked === 0) return;
    for (const connection of [...state.connections.values()]) {
      if (connection.provider !== 'snaptrade' || connection.status === 'removed') continue;
      await this.setConnectionStatus(tx, state, 'snaptrade', connection.externalId, 'needs_relink', INVALID_REGISTRATION_MESSAGE);
    }
    state.outbox.push({ kind: 'sync', state: 'failed', message: INVALID_REGISTRATION_MESSAGE });
  }

  /**
   * SnapTrade deleted its user (USER_DELETED): everything that came from SnapTrade goes (the
   * registration, connections, accounts, positions, received webhooks, and after the commit the
   * SnapTrade events in the stream); the user and their Alpaca accounts stay. A USER_DELETED older
   * than the current registration is about an earlier one and changes nothing.
   */
  private async snaptradeUserDeleted(
    tx: Knex.Transaction,
    state: UserPortfolioState,
    hook: Webhook,
    partition: number,
    streamId: string | null,
  ): Promise<void> {
    if (!(await this.userIsLive(tx, state))) return;
    // A re-registration in progress (the API deleted the old user at SnapTrade, which sent this)
    // holds this lock until its new registration is committed: wait for it, then compare.
    await tx.raw('SELECT pg_advisory_xact_lock(hashtext(?))', [`snaptrade-register:${state.userId}`]);
    const registration = await tx('snaptrade_users').where({ user_id: state.userId }).first('registered_at');
    if (isStaleUserDeleted(hook, registration ? (registration.registered_at as Date).toISOString() : null)) return;
    await tx('snaptrade_users').where({ user_id: state.userId }).delete();
    const snaptradeConnections = [...state.connections.values()].filter((c) => c.provider === 'snaptrade');
    const accountKeys = [...state.accounts.entries()].filter(([, a]) => a.provider === 'snaptrade').map(([k]) => k);
    await this.removeAccounts(tx, state, accountKeys);
    await tx('brokerage_connections').where({ user_id: state.userId, provider: 'snaptrade' }).delete();
    await tx('webhook_inbox').where({ snaptrade_user_id: state.userId }).delete();
    for (const connection of snaptradeConnections) {
      state.connections.delete(providerKey('snaptrade', connection.externalId));
      if (connection.status === 'removed') continue;
      state.outbox.push({
        kind: 'connection',
        connectionId: connection.id,
        brokerage: connection.brokerageName,
        status: 'removed',
        message: 'SnapTrade deleted your registration, and with it this connection.',
      });
    }
    state.outbox.push({ kind: 'purge-snaptrade', partition, upToId: streamId });
    state.snaptradeDeleted = true;
  }

  /**
   * The user is deleted here (`user.deleted`, appended by the delete API once SnapTrade's copy is
   * gone): every row they own goes (the users row cascades), with the webhooks received for them,
   * and a tombstone (a hash of the id) is left so late events cannot bring them back. After the
   * commit their sockets are told and closed, and their events purged from the stream.
   */
  private async deleteUser(tx: Knex.Transaction, state: UserPortfolioState, partition: number, streamId: string | null) {
    await tx('users').where({ id: state.userId }).delete();
    await tx('webhook_inbox').where({ snaptrade_user_id: state.userId }).delete();
    await tx('deleted_users')
      .insert({ user_hash: userHash(state.userId) })
      .onConflict('user_hash')
      .merge({ deleted_at: tx.fn.now() });
    state.userExists = false;
    state.tombstoned = true;
    state.connections.clear();
    state.accounts.clear();
    // The users row is gone: a user who comes back has the column's default base, as in the fold.
    state.baseCurrency = DEFAULT_BASE_CURRENCY;
    // Exchange rates are market data, not the user's: a user who comes back while this actor is in
    // memory is valued with the rates it holds (the FX reload only moves them when new ones arrive).
    state.portfolio = aggregateHoldings(new Map(), { baseCurrency: state.baseCurrency, fx: state.portfolio.fx });
    state.tickers.clear();
    state.outbox.push({ kind: 'purged', partition, upToId: streamId });
  }
}
