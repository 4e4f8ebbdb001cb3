/**
 * The socket.io contract between the realtime gateway and the browser: event names, payloads and
 * the handshake's error codes, defined once and imported by both sides (server, workers through
 * the room emitter, and the browser bundle). No Node imports here: this module is bundled for the
 * browser.
 *
 * Numbers that are money or quantities travel as decimal strings so they stay exact.
 */

import type { AssetClass } from '../portfolio/asset-class.ts';
import type { DayChangeMissing } from '../portfolio/holding.ts';
import type { OrderRecord } from '../trading/order-types.ts';
import type { ActivitiesUpdate } from '../activities/activity.ts';
import { purchaseFxAt, type PurchaseFxView } from './purchase-fx.ts';
import type { RespWriter } from '../runtime/resp-command.ts';

export type { PurchaseFxView } from './purchase-fx.ts';

export type { ActivitiesUpdate } from '../activities/activity.ts';

export type { AssetClass, DayChangeMissing };

/** Portfolio totals in the base currency; `null` when unknown (e.g. a missing FX rate). */
export interface PortfolioTotals {
  totalValue: string | null;
  cash: string | null;
  invested: string | null;
  costBasis: string | null;
  unrealizedPl: string | null;
  /** Σ day change of the holdings that have one (`dayChangeHoldings` of `holdingsCount`). */
  dayChange: string | null;
  holdingsCount: number;
  /** Holdings counted in `dayChange`; the others are marked with `dayChangeMissing`. */
  dayChangeHoldings: number;
}

/** Where a holding's price comes from: the live market feed, or the brokerage's last report. */
export type PriceSource = 'market' | 'brokerage';

/** One account's share of a holding. */
export interface HoldingAccountShare {
  accountId: string;
  institution: string;
  quantity: string;
  /** In the holding's listing currency. */
  marketValue: string | null;
  /** `marketValue` in the portfolio's base currency (`null` without a price or an FX rate). */
  marketValueBase: string | null;
}

/** One security held across the user's accounts. */
export interface HoldingView {
  /** The security identity key: the same security at two brokerages is one holding. */
  id: string;
  symbol: string;
  description: string | null;
  /** The security's trading currency (`price`, `marketValue` and `costBasis` are in it). */
  currency: string;
  /** Equity, ETF, fund, bond... (`assetClassOf`, from the brokerage's security type). */
  assetClass: AssetClass;
  quantity: string;
  price: string | null;
  priceAsOf: string | null;
  priceSource: PriceSource | null;
  /** No live feed for this security (not a US listing): the price is the brokerage's last report, as of `priceAsOf`. */
  priceStale: boolean;
  marketValue: string | null;
  /** Market value converted to the portfolio's base currency (`null` without an FX rate). */
  marketValueBase: string | null;
  costBasis: string | null;
  unrealizedPl: string | null;
  dayChange: string | null;
  /**
   * `unrealizedPl` in the base currency at today's rate (`null` without a cost, a price or an FX
   * rate): the price gain. `purchaseFx` adds the currency gain of a cost converted at the rates of
   * the purchase days.
   */
  unrealizedPlBase: string | null;
  /** `dayChange` in the base currency (what the totals count; `null` as `dayChangeMissing` says). */
  dayChangeBase: string | null;
  /** Why `dayChange` (or its base-currency value, counted in the totals) is missing; `null` when it is not. */
  dayChangeMissing: DayChangeMissing | null;
  /** When the positions behind this holding were last synced. */
  positionsAsOf: string | null;
  accounts: HoldingAccountShare[];
  /**
   * The cost at the purchase days' rates and the split of the P/L into price and currency gain;
   * null when no account's cost is known. In snapshots and `GET /api/portfolio`; absent from a
   * delta's upserted holding (the actor does not read activities, and a sync may have changed the
   * cost): the store's snapshot at the sync's end brings it. A repricing moves it (`purchaseFxAt`).
   */
  purchaseFx?: PurchaseFxView | null;
}

/**
 * What a price tick changes in a holding: its price and the figures that move with it, all
 * absolute. Everything else of the holding (quantities, cost, accounts) is as the client already
 * has it; a price-only change travels in this form, at about half the size of a `HoldingView`.
 */
export interface HoldingRepricing {
  id: string;
  price: string | null;
  priceAsOf: string | null;
  marketValue: string | null;
  marketValueBase: string | null;
  unrealizedPl: string | null;
  dayChange: string | null;
  unrealizedPlBase: string | null;
  dayChangeBase: string | null;
  dayChangeMissing: DayChangeMissing | null;
  /** Each account's market value, in the order of the holding's `accounts`. */
  accountValues: (string | null)[];
  /** The same in the base currency. */
  accountValuesBase: (string | null)[];
}

/**
 * A repricing as a delta carries it: the fields of `HoldingRepricing` in a fixed order, without
 * their names. About half the bytes of the object form, and every delta of a live portfolio is
 * mostly repricings, serialized by the worker and carried by Redis, the web node and the browser.
 */
export type FullRepricingTuple = [
  id: string,
  price: string | null,
  priceAsOf: string | null,
  marketValue: string | null,
  marketValueBase: string | null,
  unrealizedPl: string | null,
  dayChange: string | null,
  unrealizedPlBase: string | null,
  dayChangeBase: string | null,
  dayChangeMissing: DayChangeMissing | null,
  accountValues: (string | null)[],
  accountValuesBase: (string | null)[],
];

/** One account holds it all and every base figure equals the listing one (`accountValues` = `[marketValue]`). */
export type SoleAccountRepricingTuple = [
  id: string,
  price: string | null,
  priceAsOf: string | null,
  marketValue: string | null,
  unrealizedPl: string | null,
  dayChange: string | null,
  dayChangeMissing: DayChangeMissing | null,
];

/** Every base figure equals the listing one (`marketValueBase` = `marketValue`, each account's base value = its value, ...). */
export type SameInBaseRepricingTuple = [...SoleAccountRepricingTuple, accountValues: (string | null)[]];

/**
 * The wire's repricing, told apart by its length (12, 8 or 7). Most holdings are listed in the base
 * currency and held in one account: their base figures and their account's value are the very
 * figures already in the array, so the shorter forms leave them out instead of repeating each two
 * to four times.
 */
export type RepricingTuple = FullRepricingTuple | SameInBaseRepricingTuple | SoleAccountRepricingTuple;

/** Every field, whatever repeats (the form before the shorter ones, and any repricing's fallback). */
export function fullRepricingTuple(r: HoldingRepricing): FullRepricingTuple {
  return [r.id, r.price, r.priceAsOf, r.marketValue, r.marketValueBase, r.unrealizedPl, r.dayChange, r.unrealizedPlBase, r.dayChangeBase, r.dayChangeMissing, r.accountValues, r.accountValuesBase];
}

function sameInBase(r: HoldingRepricing): boolean {
  if (r.marketValueBase !== r.marketValue || r.unrealizedPlBase !== r.unrealizedPl || r.dayChangeBase !== r.dayChange) return false;
  const values = r.accountValues;
  const base = r.accountValuesBase;
  if (values.length !== base.length) return false;
  for (let i = 0; i < values.length; i++) if (values[i] !== base[i]) return false;
  return true;
}

/** The shortest form that says all of `r` (`repricingOf` reads it back equal). */
export function repricingTuple(r: HoldingRepricing): RepricingTuple {
  if (!sameInBase(r)) return fullRepricingTuple(r);
  if (r.accountValues.length === 1 && r.accountValues[0] === r.marketValue) return [r.id, r.price, r.priceAsOf, r.marketValue, r.unrealizedPl, r.dayChange, r.dayChangeMissing];
  return [r.id, r.price, r.priceAsOf, r.marketValue, r.unrealizedPl, r.dayChange, r.dayChangeMissing, r.accountValues];
}

/** The repricing an array of any of the three forms says; `null` when it is of none of them. */
export function repricingOf(t: RepricingTuple): HoldingRepricing | null {
  if (t.length === 12) {
    return {
      id: t[0],
      price: t[1],
      priceAsOf: t[2],
      marketValue: t[3],
      marketValueBase: t[4],
      unrealizedPl: t[5],
      dayChange: t[6],
      unrealizedPlBase: t[7],
      dayChangeBase: t[8],
      dayChangeMissing: t[9],
      accountValues: t[10],
      accountValuesBase: t[11],
    };
  }
  if (t.length !== 7 && t.length !== 8) return null;
  const accountValues = t.length === 8 ? t[7] : [t[3]];
  return {
    id: t[0],
    price: t[1],
    priceAsOf: t[2],
    marketValue: t[3],
    marketValueBase: t[3],
    unrealizedPl: t[4],
    dayChange: t[5],
    unrealizedPlBase: t[4],
    dayChangeBase: t[5],
    dayChangeMissing: t[6],
    accountValues,
    accountValuesBase: accountValues,
  };
}

/**
 * A repricing that writes its own wire form (`json`, equal to `JSON.stringify(repricingTuple(r))`):
 * what the tick path pushes to the delta coalescer. A pending repricing waits up to a window, and
 * in a busy worker past a scavenge or two, so it is kept small: written text (`of`), a third of the
 * bytes of the objects it replaces (the holding's price text, its view, their account arrays), or
 * the usual holding's figures as numbers, printed when the delta is written
 * (`preparedRepricing`, actors/portfolio/portfolio-views.ts). A sender writes each one into the
 * call's bytes (`writeJson`) rather than serializing the objects.
 */
export abstract class PreparedRepricing {
  abstract readonly id: string;
  abstract readonly json: string;

  static of(r: HoldingRepricing): PreparedRepricing {
    return new WrittenRepricing(r.id, JSON.stringify(repricingTuple(r)));
  }

  /** Its text written into a call being encoded (a form that keeps numbers writes their digits there). */
  writeJson(out: RespWriter): void {
    out.text(this.json);
  }

  /** The repricing it says (read back from its text: when it must be folded into an upserted holding). */
  repricing(): HoldingRepricing {
    const json = this.json;
    const repricing = repricingOf(JSON.parse(json) as RepricingTuple);
    if (repricing === null) throw new Error(`not a repricing: ${json}`);
    return repricing;
  }
}

class WrittenRepricing extends PreparedRepricing {
  constructor(
    readonly id: string,
    readonly json: string,
  ) {
    super();
  }
}

/** A repricing as a change carries it: as an object, or with its wire form written. */
export type ChangedPrice = HoldingRepricing | PreparedRepricing;

/**
 * `holding` with `repricing` applied; `null` when the repricing does not fit it (another id, or
 * another number of accounts), i.e. the holder's copy is not the one the server priced.
 */
export function applyRepricing(holding: HoldingView, repricing: HoldingRepricing): HoldingView | null {
  const { accounts } = holding;
  if (holding.id !== repricing.id || accounts.length !== repricing.accountValues.length || accounts.length !== repricing.accountValuesBase.length) return null;
  // Literals rather than spreads: one shape for every holding made here (a store applies many).
  const repriced: HoldingAccountShare[] = [];
  for (let i = 0; i < accounts.length; i++) {
    const account = accounts[i]!;
    repriced.push({
      accountId: account.accountId,
      institution: account.institution,
      quantity: account.quantity,
      marketValue: repricing.accountValues[i]!,
      marketValueBase: repricing.accountValuesBase[i]!,
    });
  }
  return {
    id: holding.id,
    symbol: holding.symbol,
    description: holding.description,
    currency: holding.currency,
    assetClass: holding.assetClass,
    quantity: holding.quantity,
    price: repricing.price,
    priceAsOf: repricing.priceAsOf,
    // A repricing comes from a market-data tick.
    priceSource: 'market',
    priceStale: false,
    marketValue: repricing.marketValue,
    marketValueBase: repricing.marketValueBase,
    costBasis: holding.costBasis,
    unrealizedPl: repricing.unrealizedPl,
    dayChange: repricing.dayChange,
    unrealizedPlBase: repricing.unrealizedPlBase,
    dayChangeBase: repricing.dayChangeBase,
    dayChangeMissing: repricing.dayChangeMissing,
    positionsAsOf: holding.positionsAsOf,
    accounts: repriced,
    purchaseFx: holding.purchaseFx ? purchaseFxAt(holding.purchaseFx, repricing.unrealizedPlBase) : holding.purchaseFx,
  };
}

export interface AccountSummary {
  id: string;
  institution: string;
  name: string;
  provider: string;
  status: string;
  /** The brokerage connection the account hangs off (`connection:status` names it). */
  connectionId: string;
  connectionStatus: string;
  /** The account's cash in the base currency (`null`: no balance reported yet, or one without an FX rate). */
  cashBase: string | null;
}

/** One of the user's brokerage connections as the snapshot carries it (removed ones are left out). */
export interface ConnectionSummary {
  /** Our id (`connection:status` names it). */
  id: string;
  provider: 'snaptrade' | 'alpaca';
  /** The brokerage's id of it: SnapTrade's authorization id (what `reconnect` takes), Alpaca's account id. */
  externalId: string;
  brokerage: string | null;
  status: ConnectionState;
  /** Why it is not active, in words (`null` when active). */
  statusReason: string | null;
  /** When a listing of its accounts last came back from the brokerage. */
  lastSyncedAt: string | null;
}

/**
 * The whole portfolio. `seq` is the per-user sequence number of the last delta whose changes the
 * snapshot is guaranteed to include: a client drops deltas with `seq <= snapshot.seq`.
 */
export interface PortfolioSnapshot {
  seq: number;
  asOf: string;
  baseCurrency: string;
  totals: PortfolioTotals;
  holdings: HoldingView[];
  accounts: AccountSummary[];
  connections: ConnectionSummary[];
}

/** A snapshot as its builder produces it; the gateway stamps the `seq`. */
export type PortfolioSnapshotBody = Omit<PortfolioSnapshot, 'seq'>;

/**
 * What changed since the previous delta (`seq - 1`). Holdings carry ABSOLUTE values, never
 * increments, so applying a delta twice, or over a snapshot that already includes it, is harmless.
 * An id appears in at most one of `upserted`, `repriced` and `removed`.
 */
export interface PortfolioDelta {
  seq: number;
  asOf: string;
  /**
   * Set when the portfolio moved to a new base currency (the user changed it): the totals and
   * every holding (all upserted) are in it, and so is every later delta.
   */
  baseCurrency?: string;
  totals: PortfolioTotals;
  upserted: HoldingView[];
  /** Holdings whose price moved and nothing else: apply each (`repricingOf`) to the holding of its id. */
  repriced: RepricingTuple[];
  /** Holding ids no longer held. */
  removed: string[];
}

export interface SyncStatus {
  state: 'syncing' | 'idle' | 'failed';
  accountId?: string;
  message?: string;
  at: string;
}

/**
 * A brokerage connection's state. `broken`: the brokerage wants the user to log in again (the
 * portal repairs it); `needs_relink`: SnapTrade no longer accepts the user's registration, so the
 * connection is gone there and must be connected anew.
 */
export type ConnectionState = 'active' | 'broken' | 'disabled' | 'removed' | 'needs_relink';

export interface ConnectionStatus {
  connectionId: string;
  brokerage: string | null;
  status: ConnectionState;
  message?: string;
  at: string;
}

/**
 * The outcome of a connection attempt in the brokerage's portal (SnapTrade's CONNECTION_ATTEMPTED):
 * `result` is SnapTrade's code (`SUCCESS`, `INVALID_CREDENTIALS`, `INVALID_MFA_CODE`...).
 */
export interface ConnectionAttempt {
  result: string;
  succeeded: boolean;
  /** SnapTrade's brokerage id, when the webhook named one. */
  brokerageId: string | null;
  at: string;
}

/** The answer to `portfolio:request-snapshot`; on success the snapshot itself arrives as `portfolio:snapshot` first. */
export type SnapshotRequestResult =
  | { ok: true; seq: number }
  | { ok: false; error: { code: RealtimeErrorCode; message: string } };

/** An order as `GET /api/orders/:id` answers it (the projection's type, `src/trading/order-types.ts`). */
export type OrderUpdate = OrderRecord;

/** Events the server (a web node, or a worker through the room emitter) sends to a browser. */
export interface ServerToClientEvents {
  'portfolio:snapshot': (snapshot: PortfolioSnapshot) => void;
  'portfolio:delta': (delta: PortfolioDelta) => void;
  'sync:status': (status: SyncStatus) => void;
  'connection:status': (status: ConnectionStatus) => void;
  /** A connection attempt in the portal ended (successful or not, with SnapTrade's result code). */
  'connection:attempt': (attempt: ConnectionAttempt) => void;
  /** One of the user's orders changed: placed, (partially) filled, canceled, rejected... (the whole order). */
  'order:update': (order: OrderUpdate) => void;
  /** The user's session is over (their account was deleted); the server closes the socket next. */
  'session:ended': (ended: SessionEnded) => void;
  /** Today's moving point of the value history (one a minute while the user is watched). */
  'portfolio:history': (point: HistoryPointUpdate) => void;
  /** Activities of one account were stored or changed (new ones fetched after a transactions webhook, say). */
  'activities:update': (update: ActivitiesUpdate) => void;
}

/** One intraday point of the value history, in the base currency (`GET /api/portfolio/history`'s point). */
export interface HistoryPointUpdate {
  at: string;
  baseCurrency: string;
  totalValue: string;
  invested: string;
  cash: string;
  costBasis: string | null;
  unrealizedPl: string | null;
  dayChange: string | null;
}

export interface SessionEnded {
  reason: 'account_deleted';
  message: string;
  at: string;
}

/** Events a browser sends. */
export interface ClientToServerEvents {
  /** Ask for a fresh `portfolio:snapshot` (after a gap in `seq`, or at will). */
  'portfolio:request-snapshot': (ack: (result: SnapshotRequestResult) => void) => void;
}

/** Web nodes do not talk to each other directly; everything goes through rooms. */
export type InterServerEvents = Record<string, never>;

/** What the handshake leaves on `socket.data`. */
export interface SocketData {
  /** The token's subject. */
  userId: string;
  /** The token's expiry (epoch ms); the server disconnects the socket then. */
  tokenExpiresAt: number;
}

/**
 * Stable codes of realtime errors: `connect_error`'s `err.data.code` when the handshake is
 * refused, and `error.code` of a failed snapshot request.
 */
export const REALTIME_ERRORS = {
  FS_RT_TOKEN_MISSING: 'No token in the handshake (`auth.token`).',
  FS_RT_TOKEN_EXPIRED: 'The token has expired: get a new one and reconnect.',
  FS_RT_TOKEN_INVALID: 'The token is malformed, forged, or lacks a subject or expiry.',
  FS_RT_SNAPSHOT_UNAVAILABLE: 'The snapshot could not be built; retry later.',
} as const;

export type RealtimeErrorCode = keyof typeof REALTIME_ERRORS;

/** `err.data` of a refused handshake (`socket.on('connect_error', err => err.data)`). */
export interface HandshakeErrorData {
  code: RealtimeErrorCode;
}

/** The room every socket of one user joins; deltas and statuses are emitted to it. */
export function userRoom(userId: string): string {
  return `user:${userId}`;
}
