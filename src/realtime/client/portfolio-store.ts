import type { Socket } from 'socket.io-client';
import {
  applyRepricing,
  repricingOf,
  type AccountSummary,
  type ClientToServerEvents,
  type ConnectionAttempt,
  type ConnectionState,
  type ConnectionStatus,
  type ConnectionSummary,
  type SessionEnded,
  type HandshakeErrorData,
  type HoldingView,
  type PortfolioDelta,
  type PortfolioSnapshot,
  type PortfolioTotals,
  type ServerToClientEvents,
  type SnapshotRequestResult,
  type SyncStatus,
} from '../events.ts';

/**
 * The browser's copy of one user's portfolio, kept in sync from `portfolio:snapshot` and
 * `portfolio:delta`. Runs in the browser (no Node APIs) and in Node tests alike.
 *
 * Sequence rules:
 * - a snapshot with `seq = S` includes every delta `<= S`: it replaces the state, and buffered
 *   deltas `> S` are applied on top, in order;
 * - a delta `<= last` is stale and ignored; `last + 1` is applied; anything later is a gap: it is
 *   buffered and a snapshot is requested (once at a time, retried while the gap lasts);
 * - after a (re)connect the server sends a snapshot; deltas arriving before it are buffered;
 * - a repricing that does not fit the local holding (unknown id, other accounts) means the copy
 *   diverged: it is dropped, later deltas are buffered and a snapshot is requested.
 *
 * Connections, accounts and syncs are one model (`brokerages()`): the snapshot's lists, moved by
 * `connection:status` and `sync:status`. When an event names a connection or an account the model
 * does not have (a brokerage just connected), or the user-wide sync has listed the accounts anew,
 * a snapshot is requested, so the model never needs a reload to catch up.
 */
export type PortfolioSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

export interface PortfolioState {
  seq: number;
  asOf: string;
  baseCurrency: string;
  totals: PortfolioTotals;
  holdings: ReadonlyMap<string, HoldingView>;
  accounts: readonly AccountSummary[];
  connections: readonly ConnectionSummary[];
}

/** An account in the model: the snapshot's summary and its latest sync. */
export interface AccountModel extends AccountSummary {
  /** The account's latest sync status (`null`: none since the page loaded). */
  sync: SyncStatus | null;
  /** When it last synced: its last finished sync, else its connection's last sync (`null`: never). */
  syncedAt: string | null;
}

/** A brokerage connection in the model, with its accounts. */
export interface ConnectionModel {
  id: string;
  provider: ConnectionSummary['provider'] | null;
  /** The brokerage's id (`reconnect` takes it); `null` until a snapshot names the connection. */
  externalId: string | null;
  brokerage: string | null;
  status: ConnectionState;
  /** Why it is not active, in words. */
  reason: string | null;
  lastSyncedAt: string | null;
  accounts: AccountModel[];
}

export interface BrokerageModel {
  /** Connections that are not removed, by brokerage name. */
  connections: ConnectionModel[];
  /** The latest user-wide sync status (a webhook's sync of every account, a refresh). */
  userSync: SyncStatus | null;
  /** The latest connection attempt in the portal. */
  lastAttempt: ConnectionAttempt | null;
}

export type StoreEvent =
  | { type: 'snapshot'; seq: number }
  | { type: 'delta'; seq: number; upserted: string[]; repriced: string[]; removed: string[] }
  | { type: 'gap'; expected: number; received: number }
  | { type: 'sync'; status: SyncStatus }
  | { type: 'connection'; status: ConnectionStatus }
  | { type: 'attempt'; attempt: ConnectionAttempt }
  /** The server ended the session for good (the account was deleted); it will not reconnect. */
  | { type: 'ended'; ended: SessionEnded }
  | { type: 'socket'; connected: boolean; error?: { code: string | undefined; message: string } };

export interface StoreStats {
  snapshots: number;
  deltasApplied: number;
  /** Deltas dropped because the state already included them. */
  deltasStale: number;
  gaps: number;
  /** Repricings that did not fit the local holding (the copy had diverged): a snapshot was requested. */
  mismatches: number;
  snapshotRequests: number;
}

export interface PortfolioStore {
  /** The current portfolio, `null` until the first snapshot. */
  readonly state: PortfolioState | null;
  /** Holdings sorted by symbol. */
  holdings(): HoldingView[];
  totals(): PortfolioTotals | null;
  /** Latest sync status per account (key `''` for user-wide ones). */
  syncStatuses(): SyncStatus[];
  /** Latest status of each brokerage connection. */
  connections(): ConnectionStatus[];
  /** Connections, their accounts and syncs, as one model. */
  brokerages(): BrokerageModel;
  stats(): StoreStats;
  /** Calls `listener` after every change; returns the unsubscribe function. */
  subscribe(listener: (event: StoreEvent) => void): () => void;
  /** Asks the server for a fresh snapshot (one request at a time). */
  requestSnapshot(): Promise<SnapshotRequestResult>;
  /** Stops listening to the socket (does not close it). */
  dispose(): void;
}

export interface PortfolioStoreOptions {
  /**
   * Deltas held while waiting for a snapshot; the oldest are dropped beyond it.
   * @default 512
   */
  maxBufferedDeltas?: number;
  /**
   * How long to wait for a snapshot (after connecting, or for an ack) before asking again.
   * @default 5000
   */
  snapshotTimeoutMs?: number;
}

/**
 * Create it before the socket connects (synchronously after `io(...)`, or with `autoConnect:
 * false`) so the connect-time snapshot is not missed; on an already connected socket it requests
 * one.
 */
export function createPortfolioStore(socket: PortfolioSocket, options: PortfolioStoreOptions = {}): PortfolioStore {
  const maxBuffered = options.maxBufferedDeltas ?? 512;
  const snapshotTimeoutMs = options.snapshotTimeoutMs ?? 5_000;
  const listeners = new Set<(event: StoreEvent) => void>();
  const buffer = new Map<number, PortfolioDelta>();
  const syncStatuses = new Map<string, SyncStatus>();
  const connections = new Map<string, ConnectionStatus>();
  let lastAttempt: ConnectionAttempt | null = null;
  /** Snapshots the model asked for (a new connection or account), and how many were answered. */
  let modelWanted = 0;
  let modelServed = 0;
  const stats: StoreStats = { snapshots: 0, deltasApplied: 0, deltasStale: 0, gaps: 0, mismatches: 0, snapshotRequests: 0 };
  let state: (PortfolioState & { holdings: Map<string, HoldingView> }) | null = null;
  /** True from (re)connect until a snapshot arrives: that snapshot is taken whatever its seq. */
  let resync = true;
  let inFlight: Promise<SnapshotRequestResult> | undefined;
  let watchdog: ReturnType<typeof setTimeout> | undefined;
  let disposed = false;

  const notify = (event: StoreEvent) => {
    for (const listener of listeners) listener(event);
  };

  /** While a snapshot is owed (connect or gap), ask again if none arrives in time. */
  function armWatchdog(): void {
    if (watchdog) clearTimeout(watchdog);
    watchdog = setTimeout(() => {
      watchdog = undefined;
      if (!disposed && socket.connected && (resync || buffer.size > 0)) void store.requestSnapshot();
    }, snapshotTimeoutMs);
  }

  function onConnect(): void {
    resync = true;
    notify({ type: 'socket', connected: true });
    armWatchdog();
  }

  function onDisconnect(): void {
    notify({ type: 'socket', connected: false });
  }

  function onConnectError(err: Error & { data?: Partial<HandshakeErrorData> }): void {
    notify({ type: 'socket', connected: false, error: { code: err.data?.code, message: err.message } });
  }

  function onSnapshot(snapshot: PortfolioSnapshot): void {
    if (!resync && state && snapshot.seq < state.seq) {
      // Built before deltas we already applied: its holdings would roll them back, but its lists
      // of accounts and connections are the newest there are.
      state = { ...state, accounts: snapshot.accounts, connections: snapshot.connections };
      notify({ type: 'snapshot', seq: state.seq });
      drain();
      return;
    }
    resync = false;
    state = {
      seq: snapshot.seq,
      asOf: snapshot.asOf,
      baseCurrency: snapshot.baseCurrency,
      totals: snapshot.totals,
      holdings: new Map(snapshot.holdings.map((h) => [h.id, h])),
      accounts: snapshot.accounts,
      connections: snapshot.connections,
    };
    // The snapshot is newer than the statuses before it: what they said is in its lists now.
    for (const [id, status] of [...connections]) if (snapshot.connections.some((c) => c.id === id) || status.status === 'removed') connections.delete(id);
    stats.snapshots += 1;
    notify({ type: 'snapshot', seq: snapshot.seq });
    drain();
  }

  function onDelta(delta: PortfolioDelta): void {
    if (state && !resync && delta.seq <= state.seq) {
      stats.deltasStale += 1;
      return;
    }
    buffer.set(delta.seq, delta);
    if (buffer.size > maxBuffered) buffer.delete(Math.min(...buffer.keys()));
    if (state && !resync) drain();
  }

  /** Applies the buffered deltas that follow the state; a remaining one means a gap. */
  function drain(): void {
    if (!state) return;
    for (const seq of buffer.keys()) {
      if (seq <= state.seq) {
        buffer.delete(seq);
        stats.deltasStale += 1;
      }
    }
    let next = buffer.get(state.seq + 1);
    while (next && !resync) {
      buffer.delete(next.seq);
      apply(state, next);
      next = buffer.get(state.seq + 1);
    }
    if (buffer.size > 0 && !resync) {
      stats.gaps += 1;
      notify({ type: 'gap', expected: state.seq + 1, received: Math.min(...buffer.keys()) });
      void store.requestSnapshot();
    }
  }

  function apply(current: PortfolioState & { holdings: Map<string, HoldingView> }, delta: PortfolioDelta): void {
    let fits = true;
    let unknownAccount = false;
    for (const holding of delta.upserted) {
      current.holdings.set(holding.id, holding);
      if (holding.accounts.some((a) => !current.accounts.some((known) => known.id === a.accountId))) unknownAccount = true;
    }
    for (const tuple of delta.repriced) {
      // An array of no known form is a repricing this page cannot apply: like one that does not fit.
      const repricing = repricingOf(tuple);
      const holding = repricing ? current.holdings.get(repricing.id) : undefined;
      const repriced = holding ? applyRepricing(holding, repricing!) : null;
      if (repriced) current.holdings.set(repriced.id, repriced);
      else fits = false;
    }
    for (const id of delta.removed) current.holdings.delete(id);
    // A new base currency comes with every holding and the totals in it (the user changed it).
    if (delta.baseCurrency !== undefined) current.baseCurrency = delta.baseCurrency;
    current.totals = delta.totals;
    current.asOf = delta.asOf;
    current.seq = delta.seq;
    stats.deltasApplied += 1;
    if (listeners.size > 0) {
      notify({
        type: 'delta',
        seq: delta.seq,
        upserted: delta.upserted.map((h) => h.id),
        repriced: delta.repriced.map((r) => r[0]),
        removed: [...delta.removed],
      });
    }
    if (!fits) {
      // The server priced a holding this copy does not have as it does: start over from a snapshot.
      stats.mismatches += 1;
      resync = true;
      void store.requestSnapshot();
    } else if (unknownAccount) {
      // A holding in an account the model has not listed: the snapshot lists it.
      requestModel();
    }
  }

  function onSyncStatus(status: SyncStatus): void {
    syncStatuses.set(status.accountId ?? '', status);
    notify({ type: 'sync', status });
    if (status.state !== 'idle') return;
    // A user-wide sync that ended has listed the accounts anew, an account's moved its connection's
    // last sync and its cash (and may be of an account not in the model yet): the snapshot has the
    // lists. Also before the first snapshot: that one may have read the accounts before the sync.
    requestModel();
  }

  function onConnectionStatus(status: ConnectionStatus): void {
    connections.set(status.connectionId, status);
    if (state) {
      const known = state.connections.some((c) => c.id === status.connectionId);
      // The accounts of that connection follow it (a removed connection takes them along).
      state = {
        ...state,
        accounts: state.accounts
          .filter((a) => !(a.connectionId === status.connectionId && status.status === 'removed'))
          .map((a) => (a.connectionId === status.connectionId ? { ...a, connectionStatus: status.status } : a)),
        connections: state.connections
          .filter((c) => !(c.id === status.connectionId && status.status === 'removed'))
          .map((c) =>
            c.id === status.connectionId
              ? { ...c, status: status.status, statusReason: status.status === 'active' ? null : (status.message ?? c.statusReason), brokerage: status.brokerage ?? c.brokerage }
              : c,
          ),
      };
      if (!known && status.status !== 'removed') requestModel();
    }
    notify({ type: 'connection', status });
  }

  /**
   * The model needs the snapshot's lists: asks for a snapshot built after now. One already in
   * flight may have been built before, so this waits for it and asks again while asks are owed.
   */
  function requestModel(): void {
    modelWanted += 1;
    void (async () => {
      while (inFlight) await inFlight;
      if (disposed || modelServed >= modelWanted) return;
      const asked = modelWanted;
      const result = await store.requestSnapshot();
      if (result.ok) modelServed = Math.max(modelServed, asked);
      else if (!disposed) setTimeout(() => modelServed < modelWanted && requestModel(), snapshotTimeoutMs);
    })();
  }

  function onConnectionAttempt(attempt: ConnectionAttempt): void {
    lastAttempt = attempt;
    notify({ type: 'attempt', attempt });
  }

  function brokerages(): BrokerageModel {
    const later = (a: string | null, b: string | null | undefined) => (!b ? a : !a || Date.parse(b) > Date.parse(a) ? b : a);
    const accountModel = (a: AccountSummary, connectionSynced: string | null): AccountModel => {
      const sync = syncStatuses.get(a.id) ?? null;
      return { ...a, sync, syncedAt: later(connectionSynced, sync?.state === 'idle' ? sync.at : null) };
    };
    const listed: ConnectionModel[] = (state?.connections ?? []).map((c) => ({
      id: c.id,
      provider: c.provider,
      externalId: c.externalId,
      brokerage: c.brokerage,
      status: c.status,
      reason: c.status === 'active' ? null : c.statusReason,
      lastSyncedAt: c.lastSyncedAt,
      accounts: (state?.accounts ?? []).filter((a) => a.connectionId === c.id).map((a) => accountModel(a, c.lastSyncedAt)),
    }));
    // Connections only an event has named so far (the snapshot that lists them is on its way).
    for (const status of connections.values()) {
      if (status.status === 'removed' || listed.some((c) => c.id === status.connectionId)) continue;
      listed.push({
        id: status.connectionId,
        provider: null,
        externalId: null,
        brokerage: status.brokerage,
        status: status.status,
        reason: status.status === 'active' ? null : (status.message ?? null),
        lastSyncedAt: null,
        accounts: [],
      });
    }
    listed.sort((a, b) => (a.brokerage ?? '').localeCompare(b.brokerage ?? '') || a.id.localeCompare(b.id));
    return { connections: listed, userSync: syncStatuses.get('') ?? null, lastAttempt };
  }

  function onSessionEnded(ended: SessionEnded): void {
    state = null;
    buffer.clear();
    syncStatuses.clear();
    connections.clear();
    notify({ type: 'ended', ended });
  }

  /** Attaches or detaches every handler: one list, so `dispose` removes exactly what was added. */
  function wire(method: 'on' | 'off'): void {
    socket[method]('connect', onConnect);
    socket[method]('disconnect', onDisconnect);
    socket[method]('connect_error', onConnectError);
    socket[method]('portfolio:snapshot', onSnapshot);
    socket[method]('portfolio:delta', onDelta);
    socket[method]('sync:status', onSyncStatus);
    socket[method]('connection:status', onConnectionStatus);
    socket[method]('connection:attempt', onConnectionAttempt);
    socket[method]('session:ended', onSessionEnded);
  }
  wire('on');

  const store: PortfolioStore = {
    get state() {
      return state;
    },
    holdings: () =>
      state ? [...state.holdings.values()].sort((a, b) => a.symbol.localeCompare(b.symbol) || a.id.localeCompare(b.id)) : [],
    totals: () => state?.totals ?? null,
    syncStatuses: () => [...syncStatuses.values()],
    connections: () => [...connections.values()],
    brokerages,
    stats: () => ({ ...stats }),
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    requestSnapshot() {
      inFlight ??= new Promise<SnapshotRequestResult>((resolve) => {
        stats.snapshotRequests += 1;
        socket.timeout(snapshotTimeoutMs).emit('portfolio:request-snapshot', (err, result) => {
          inFlight = undefined;
          const outcome: SnapshotRequestResult = err
            ? { ok: false, error: { code: 'FS_RT_SNAPSHOT_UNAVAILABLE', message: 'no answer from the server' } }
            : result;
          // Still owed a snapshot (failed, or the one that came was older than a delta): ask again later.
          if (!outcome.ok || resync || buffer.size > 0) armWatchdog();
          resolve(outcome);
        });
      });
      return inFlight;
    },
    dispose() {
      disposed = true;
      if (watchdog) clearTimeout(watchdog);
      wire('off');
      listeners.clear();
    },
  };

  if (socket.connected) {
    resync = true;
    void store.requestSnapshot();
  }
  return store;
}
