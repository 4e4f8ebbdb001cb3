import type { ConnectionState } from '../../src/realtime/events.ts';
import {
  normalizeAlpacaAccount,
  normalizeSnapTradeAccount,
  type NormalizedAccountData,
  type NormalizedBalance,
  type NormalizedPosition,
} from '../../src/portfolio/index.ts';
import type { ProviderAccountList } from '../../src/providers/holdings-provider.ts';
import type { Envelope } from '../../streams/envelope.ts';
import { applyOrderEvent, orderEventsOf, type OrderProvider, type OrderRecord } from '../../src/trading/order-state.ts';
import { DEFAULT_BASE_CURRENCY, parseSettingsChanged, SETTINGS_CHANGED_EVENT } from '../../src/users/settings-event.ts';

/**
 * The pure fold of a user's events into their projection: connections, accounts, each
 * account's latest positions and cash, orders, and the base currency. No I/O: the user portfolio actor takes every state
 * decision from the functions here (which webhook sets which connection status, what a sync
 * failure breaks, when a sync result is stale, how a sync result is normalized), and a replay
 * folds the stream with `project` to rebuild what the actor should hold. Holdings are not folded
 * event by event: they are a function of the accounts' positions (`aggregateHoldings`), derived
 * once at the end of a rebuild.
 *
 * Everything is keyed by `provider:externalId`, never by database ids, so a projection can be
 * built, stored in a snapshot and compared without Postgres.
 */
export type Provider = 'snaptrade' | 'alpaca';

export const providerKey = (provider: string, externalId: string) => `${provider}:${externalId}`;

export interface ProjectedConnection {
  provider: Provider;
  externalId: string;
  brokerageName: string | null;
  status: ConnectionState;
}

export interface ProjectedAccount {
  provider: Provider;
  externalId: string;
  /** providerKey of the account's connection. */
  connection: string;
  name: string | null;
  institution: string;
  currency: string;
  /** asOf of the last applied sync result, null before the first. */
  positionsAsOf: string | null;
}

export interface ProjectedPositions {
  asOf: string;
  positions: NormalizedPosition[];
  balances: NormalizedBalance[];
}

export interface PortfolioProjection {
  userId: string;
  /** `user.deleted` was applied (and nothing after it brought the user back). */
  deleted: boolean;
  /** Every connection the user has had that was not deleted outright (removed ones keep their row). */
  connections: Map<string, ProjectedConnection>;
  /** Open accounts (removed accounts leave the projection). */
  accounts: Map<string, ProjectedAccount>;
  /** Account key -> its latest sync result; only for accounts in `accounts`. */
  positions: Map<string, ProjectedPositions>;
  /**
   * Sync results folded but not normalized yet, per account, oldest first: normalizing is most of
   * a fold's cost and a later result usually replaces an earlier one, so `settle` normalizes only
   * what decides the outcome (see there). Read `accounts`/`positions` only after `settle`.
   */
  pending: Map<string, PendingSync[]>;
  /**
   * Removed accounts' last positions as-of: Postgres keeps it on the removed row, so an account
   * listed again still drops a sync result older than it.
   */
  removedAsOf: Map<string, string | null>;
  /**
   * The user's orders by our order id, folded with trading's pure `applyOrderEvent` (what the
   * actor's order projection uses). An order names its account by our account row id when its
   * `order.placed` says so, else by provider key (`accountRef` maps both to a provider key).
   */
  orders: Map<string, OrderRecord>;
  /** The user's base currency: the last `settings.changed`, else the column's default. */
  baseCurrency: string;
  /** Stream id of the last event folded in (what a snapshot of this projection covers). */
  lastStreamId: string | null;
  /** Events folded since the projection was created or restored. */
  eventsFolded: number;
}

/**
 * Facts a fold needs that no event carries; the actor reads them from Postgres at apply time, a
 * replay reads the current ones. `snaptradeRegisteredAt`: when the user's current SnapTrade
 * registration was made (a USER_DELETED older than it is about an earlier registration).
 */
export interface ProjectionFacts {
  snaptradeRegisteredAt?: string | null;
}

export function emptyProjection(userId: string): PortfolioProjection {
  return { userId, deleted: false, connections: new Map(), accounts: new Map(), positions: new Map(), pending: new Map(), removedAsOf: new Map(), orders: new Map(), baseCurrency: DEFAULT_BASE_CURRENCY, lastStreamId: null, eventsFolded: 0 };
}

/**
 * A sync result waiting for `settle`: the as-of time it claims (read without normalizing), and
 * either its payload or the stream entry's text it is decoded again from. A rebuild passes the
 * text (`project`'s `source`): a kept string costs the garbage collector nothing, while decoded
 * payloads kept until the end of a partition made half a rebuild's time in garbage collection.
 */
export interface PendingSync {
  claimedAsOf: number;
  payload: PositionsSyncedPayload | null;
  /** The entry's text (a Buffer keeps it off the JavaScript heap). */
  source: string | Buffer | null;
}

function pendingPayload(pending: PendingSync): PositionsSyncedPayload {
  return pending.payload ?? (JSON.parse(pending.source!.toString()) as Envelope<PositionsSyncedPayload>).payload;
}

/** `accounts.synced`: a provider's full list of the user's connections and accounts. */
export type AccountsSyncedPayload = ProviderAccountList & { provider: Provider };

export interface PositionsSyncedPayload {
  provider: Provider;
  accountId: string;
  positions: unknown;
  balances: unknown;
  asOf: string;
  fetchedAt: string;
}

export interface SyncFailedPayload {
  provider: Provider;
  accountId?: string;
  error: string;
  status: number | null;
  code: string | null;
  retryable: boolean;
  /** SnapTrade: the registration generation whose secret was used (absent in older events). */
  registrationGeneration?: number | null;
}

export interface Webhook {
  eventType?: string;
  webhookId?: string;
  userId?: string;
  accountId?: string;
  brokerageAuthorizationId?: string;
  connectionId?: string;
  eventTimestamp?: string;
  details?: Record<string, { success?: boolean; error?: unknown } | undefined>;
}

/** What a SnapTrade webhook does to the projection (scheduling is the actor's business). */
export type WebhookTransition =
  | { kind: 'user-deleted' }
  | { kind: 'connection-status'; connection: string; status: ConnectionState; reason: string | null }
  | { kind: 'connection-removed'; connection: string }
  | { kind: 'account-removed'; account: string }
  | { kind: 'none' };

export const BROKEN_CONNECTION_REASON = 'the brokerage connection needs to be re-authenticated';

export function webhookType(event: Envelope): string {
  const hook = event.payload as Webhook;
  return hook.eventType ?? String(event.meta?.eventType ?? 'UNKNOWN');
}

export function webhookTransition(type: string, hook: Webhook): WebhookTransition {
  const authorizationId = hook.brokerageAuthorizationId ?? hook.connectionId;
  switch (type) {
    case 'USER_DELETED':
      return { kind: 'user-deleted' };
    case 'CONNECTION_ADDED':
    case 'CONNECTION_FIXED':
      return authorizationId ? { kind: 'connection-status', connection: authorizationId, status: 'active', reason: null } : { kind: 'none' };
    case 'CONNECTION_BROKEN':
      return authorizationId
        ? { kind: 'connection-status', connection: authorizationId, status: 'broken', reason: BROKEN_CONNECTION_REASON }
        : { kind: 'none' };
    case 'CONNECTION_DELETED':
      return authorizationId ? { kind: 'connection-removed', connection: authorizationId } : { kind: 'none' };
    case 'ACCOUNT_REMOVED':
      return hook.accountId ? { kind: 'account-removed', account: hook.accountId } : { kind: 'none' };
    default:
      return { kind: 'none' };
  }
}

/** SnapTrade's 401/1083: the registration's secret is refused; every SnapTrade connection needs a relink. */
export function isRegistrationRejected(payload: SyncFailedPayload): boolean {
  return payload.provider === 'snaptrade' && payload.status === 401 && payload.code === '1083';
}

/** 402/3003: the brokerage says the connection is disabled; the user must reconnect. */
export function breaksConnection(payload: SyncFailedPayload): boolean {
  return payload.code === '3003' || payload.status === 402;
}

/** A USER_DELETED older than the current registration is about an earlier one and changes nothing. */
export function isStaleUserDeleted(hook: Webhook, registeredAt: string | null | undefined): boolean {
  if (!registeredAt) return false;
  const at = hook.eventTimestamp ? Date.parse(hook.eventTimestamp) : Number.NaN;
  return Number.isFinite(at) && Date.parse(registeredAt) > at;
}

/**
 * Normalizes a `positions.synced` payload with the provider's rules. Throws a
 * PayloadValidationError on a malformed payload: the runtime then retries and finally parks the
 * event in the dead-letter stream with the reason, and the partition goes on.
 */
export function normalizeSynced(payload: PositionsSyncedPayload): NormalizedAccountData {
  if (payload.provider === 'alpaca') {
    return normalizeAlpacaAccount({ positions: payload.positions, account: payload.balances }, payload.asOf);
  }
  return normalizeSnapTradeAccount({ positions: payload.positions, balances: payload.balances });
}

/** A sync result older than the positions already applied is dropped. */
export function isStaleSync(positionsAsOf: string | null, asOf: string): boolean {
  return positionsAsOf !== null && Date.parse(asOf) < Date.parse(positionsAsOf);
}

// ---------------------------------------------------------------------------------------------
// The fold. Each step mutates `state` in place (a replay owns its state; the actor folds a copy).

function setConnectionStatus(state: PortfolioProjection, provider: Provider, externalId: string, status: ConnectionState) {
  const key = providerKey(provider, externalId);
  const known = state.connections.get(key);
  // Alpaca connections exist before any event names them (the link API creates them): a status
  // change about an unknown one has nothing to change.
  if (!known && provider === 'alpaca') return;
  state.connections.set(key, { provider, externalId, brokerageName: known?.brokerageName ?? null, status });
}

function removeAccounts(state: PortfolioProjection, keys: readonly string[]) {
  for (const key of keys) {
    const account = state.accounts.get(key);
    if (!account) continue;
    settleAccount(state, key);
    state.removedAsOf.set(key, account.positionsAsOf);
    state.accounts.delete(key);
    state.positions.delete(key);
  }
}

function removeConnection(state: PortfolioProjection, provider: Provider, externalId: string) {
  setConnectionStatus(state, provider, externalId, 'removed');
  const key = providerKey(provider, externalId);
  removeAccounts(
    state,
    [...state.accounts.entries()].filter(([, a]) => a.connection === key).map(([k]) => k),
  );
}

function applyAccountsSynced(state: PortfolioProjection, payload: AccountsSyncedPayload) {
  const provider = payload.provider;
  // Checked before anything changes: a throw leaves the state as it was.
  const named = new Set(payload.connections.map((c) => providerKey(provider, c.externalId)));
  for (const a of payload.accounts) {
    const connection = providerKey(provider, a.connectionExternalId);
    if (!named.has(connection) && !state.connections.has(connection)) {
      throw new Error(`account ${a.externalId} names unknown connection ${a.connectionExternalId}`);
    }
  }
  const listed = new Set<string>();
  for (const c of payload.connections) {
    const key = providerKey(provider, c.externalId);
    listed.add(key);
    state.connections.set(key, { provider, externalId: c.externalId, brokerageName: c.brokerageName, status: c.status });
  }
  for (const [key, c] of [...state.connections]) {
    if (c.provider === provider && !listed.has(key) && c.status !== 'removed') removeConnection(state, provider, c.externalId);
  }
  const listedAccounts = new Set<string>();
  for (const a of payload.accounts) {
    const key = providerKey(provider, a.externalId);
    listedAccounts.add(key);
    const connection = providerKey(provider, a.connectionExternalId);
    settleAccount(state, key);
    const before = state.accounts.get(key);
    state.accounts.set(key, {
      provider,
      externalId: a.externalId,
      connection,
      name: a.name,
      institution: a.institutionName,
      currency: a.currency,
      positionsAsOf: before ? before.positionsAsOf : (state.removedAsOf.get(key) ?? null),
    });
  }
  removeAccounts(
    state,
    [...state.accounts.entries()].filter(([key, a]) => a.provider === provider && !listedAccounts.has(key)).map(([key]) => key),
  );
}

function applyPositionsSynced(state: PortfolioProjection, payload: PositionsSyncedPayload, source: string | Buffer | null) {
  const key = providerKey(payload.provider, payload.accountId);
  if (!state.accounts.has(key)) return;
  const entry: PendingSync = { claimedAsOf: claimedAsOf(payload), payload: source === null ? payload : null, source };
  const pending = state.pending.get(key);
  if (pending) pending.push(entry);
  else state.pending.set(key, [entry]);
}

/** The as-of time a sync result's normalization yields, read without normalizing (NaN if absent). */
function claimedAsOf(payload: PositionsSyncedPayload): number {
  if (payload.provider === 'alpaca') return Date.parse(payload.asOf);
  const freshness = (payload.positions as { data_freshness?: { as_of?: unknown } } | null)?.data_freshness?.as_of;
  return typeof freshness === 'string' ? Date.parse(freshness) : Number.NaN;
}

/**
 * Applies an account's pending sync results as the actor applied them one by one: a result that
 * does not normalize is skipped (the actor parked it), one older than the applied positions is
 * dropped. Fast path: when the newest result normalizes and is not older than any earlier one
 * (nor the applied positions), it is the outcome whatever the others were, so only it is
 * normalized.
 */
function settleAccount(state: PortfolioProjection, key: string): void {
  const pending = state.pending.get(key);
  if (!pending) return;
  state.pending.delete(key);
  const account = state.accounts.get(key)!;
  const apply = (data: NormalizedAccountData) => {
    account.positionsAsOf = data.asOf;
    state.positions.set(key, { asOf: data.asOf, positions: data.positions, balances: data.balances });
  };
  const newest = pending[pending.length - 1]!;
  let data: NormalizedAccountData | null = null;
  try {
    data = normalizeSynced(pendingPayload(newest));
  } catch {
    data = null;
  }
  if (data) {
    const at = Date.parse(data.asOf);
    const earlier = pending.slice(0, -1).map((p) => p.claimedAsOf);
    if (account.positionsAsOf !== null) earlier.push(Date.parse(account.positionsAsOf));
    if (earlier.every((t) => Number.isFinite(t) && t <= at)) {
      apply(data);
      return;
    }
  }
  for (const entry of pending) {
    let next: NormalizedAccountData;
    try {
      next = entry === newest && data ? data : normalizeSynced(pendingPayload(entry));
    } catch {
      continue;
    }
    if (!isStaleSync(account.positionsAsOf, next.asOf)) apply(next);
  }
}

/** Normalizes every pending sync result: `accounts` and `positions` are then final. */
export function settle(state: PortfolioProjection): PortfolioProjection {
  for (const key of [...state.pending.keys()]) settleAccount(state, key);
  return state;
}

function applySyncFailed(state: PortfolioProjection, payload: SyncFailedPayload) {
  if (isRegistrationRejected(payload)) {
    // The actor marks the registration generation named by the event; a generation that is no
    // longer the current one changes nothing there (see the README's replay limits).
    if (typeof payload.registrationGeneration !== 'number') return;
    for (const c of state.connections.values()) {
      if (c.provider === 'snaptrade' && c.status !== 'removed') c.status = 'needs_relink';
    }
    return;
  }
  const account = payload.accountId ? state.accounts.get(providerKey(payload.provider, payload.accountId)) : undefined;
  if (account && breaksConnection(payload)) {
    const connection = state.connections.get(account.connection);
    if (connection) setConnectionStatus(state, connection.provider, connection.externalId, 'broken');
  }
}

function applyWebhook(state: PortfolioProjection, event: Envelope, facts: ProjectionFacts) {
  const hook = event.payload as Webhook;
  const transition = webhookTransition(webhookType(event), hook);
  switch (transition.kind) {
    case 'user-deleted': {
      if (isStaleUserDeleted(hook, facts.snaptradeRegisteredAt)) return;
      const accounts = [...state.accounts.entries()].filter(([, a]) => a.provider === 'snaptrade').map(([k]) => k);
      removeAccounts(state, accounts);
      // The connections' rows are deleted, and their accounts' rows with them (cascade).
      for (const key of [...state.removedAsOf.keys()]) if (key.startsWith('snaptrade:')) state.removedAsOf.delete(key);
      for (const [id, order] of [...state.orders]) if (order.provider === 'snaptrade') state.orders.delete(id);
      for (const [key, c] of [...state.connections]) if (c.provider === 'snaptrade') state.connections.delete(key);
      return;
    }
    case 'connection-status':
      setConnectionStatus(state, 'snaptrade', transition.connection, transition.status);
      return;
    case 'connection-removed':
      removeConnection(state, 'snaptrade', transition.connection);
      return;
    case 'account-removed':
      removeAccounts(state, [providerKey('snaptrade', transition.account)]);
      return;
    case 'none':
      return;
  }
}

const ORDER_EVENT_TYPES = new Set(['order.placed', 'order.updated', 'alpaca.trade_update', 'snaptrade.webhook']);

/**
 * Folds one event into the projection (in place) and returns it. Event types that change no
 * projected fact (trade updates, snapshots, presence, admin requests, types newer than this code)
 * only move `lastStreamId`. Throws on a malformed payload, like the actor (sync results are
 * checked when `settle` normalizes them: one that does not normalize changes nothing).
 * `source`: the stream entry's text `event` was decoded from, if the caller has it; a pending
 * sync result then keeps the text instead of the decoded payload (see `PendingSync`).
 */
export function project(
  state: PortfolioProjection,
  event: Envelope,
  streamId: string | null,
  facts: ProjectionFacts = {},
  source: string | Buffer | null = null,
): PortfolioProjection {
  if (state.deleted && event.type !== 'user.deleted') {
    // Anything after a deletion is about a user who came back (the API clears the tombstone).
    state.deleted = false;
  }
  switch (event.type) {
    case 'snaptrade.webhook':
      applyWebhook(state, event, facts);
      break;
    case 'accounts.synced':
      applyAccountsSynced(state, event.payload as AccountsSyncedPayload);
      break;
    case 'positions.synced':
      applyPositionsSynced(state, event.payload as PositionsSyncedPayload, source);
      break;
    case 'sync.failed':
      applySyncFailed(state, event.payload as SyncFailedPayload);
      break;
    case SETTINGS_CHANGED_EVENT:
      state.baseCurrency = parseSettingsChanged(event.payload).baseCurrency;
      break;
    case 'user.deleted':
      state.deleted = true;
      state.connections.clear();
      state.accounts.clear();
      state.positions.clear();
      state.pending.clear();
      state.removedAsOf.clear();
      state.orders.clear();
      // The users row goes: a user who comes back starts with the column's default.
      state.baseCurrency = DEFAULT_BASE_CURRENCY;
      break;
    default:
      break;
  }
  if (ORDER_EVENT_TYPES.has(event.type)) {
    // Orders name open accounts only, as the actor's do (its account map holds the open ones).
    const accountIdOf = (provider: OrderProvider, externalId: string) => {
      const key = providerKey(provider, externalId);
      return state.accounts.has(key) ? key : undefined;
    };
    const orders = { orders: state.orders };
    for (const orderEvent of orderEventsOf(event, accountIdOf)) applyOrderEvent(orders, state.userId, orderEvent);
  }
  state.lastStreamId = streamId ?? state.lastStreamId;
  state.eventsFolded++;
  return state;
}

// ---------------------------------------------------------------------------------------------
// Snapshots: the projection as plain JSON.

export interface ProjectionSnapshot {
  version: 1;
  userId: string;
  deleted: boolean;
  /** Stream id of the last event the snapshot covers. */
  covers: string | null;
  connections: ProjectedConnection[];
  accounts: ProjectedAccount[];
  positions: (ProjectedPositions & { account: string })[];
  /** Removed accounts' last positions as-of (absent in snapshots that had none). */
  removedAsOf?: [string, string | null][];
  /** The user's orders (absent in snapshots written before orders were folded). */
  orders?: OrderRecord[];
  /** The base currency (absent in snapshots written before settings were folded: no event had changed it). */
  baseCurrency?: string;
}

export function toSnapshot(state: PortfolioProjection): ProjectionSnapshot {
  settle(state);
  return {
    version: 1,
    userId: state.userId,
    deleted: state.deleted,
    covers: state.lastStreamId,
    connections: [...state.connections.values()],
    accounts: [...state.accounts.values()],
    positions: [...state.positions.entries()].map(([account, p]) => ({ account, ...p })),
    removedAsOf: [...state.removedAsOf.entries()],
    orders: [...state.orders.values()],
    baseCurrency: state.baseCurrency,
  };
}

export function fromSnapshot(snapshot: ProjectionSnapshot): PortfolioProjection {
  if (snapshot.version !== 1) throw new Error(`unknown snapshot version ${String(snapshot.version)}`);
  return {
    userId: snapshot.userId,
    deleted: snapshot.deleted,
    connections: new Map(snapshot.connections.map((c) => [providerKey(c.provider, c.externalId), { ...c }])),
    accounts: new Map(snapshot.accounts.map((a) => [providerKey(a.provider, a.externalId), { ...a }])),
    positions: new Map(
      snapshot.positions.map(({ account, ...p }) => [account, { asOf: p.asOf, positions: p.positions, balances: p.balances }]),
    ),
    pending: new Map(),
    removedAsOf: new Map(snapshot.removedAsOf ?? []),
    orders: new Map((snapshot.orders ?? []).map((o) => [o.id, { ...o }])),
    baseCurrency: snapshot.baseCurrency ?? DEFAULT_BASE_CURRENCY,
    lastStreamId: snapshot.covers,
    eventsFolded: 0,
  };
}
