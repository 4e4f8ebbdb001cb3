import type { DecimalString } from '../portfolio/decimal.ts';

/**
 * Activities: what happened in a brokerage account (trades, dividends, interest, fees, cash in
 * and out, transfers, splits), normalised from SnapTrade's `AccountUniversalActivity` and
 * Alpaca's account activities by the pure modules beside this file. The user's actor stores them
 * in the `activities` table (one row per account and provider id); `GET /api/activities` reads it.
 *
 * Sign convention (SnapTrade's, applied to Alpaca too): `amount` is the activity's effect on the
 * account's cash in `currency`: positive when cash comes in (sell, dividend, interest, deposit),
 * negative when it goes out (buy, fee, withdrawal). A deposit or withdrawal is a cash flow into
 * or out of the account; a `transfer` moves cash or securities between accounts (possibly two of
 * the user's own), so whether it is a flow of the whole portfolio depends on both sides.
 */
export const ACTIVITY_TYPES = [
  'buy',
  'sell',
  'dividend',
  'interest',
  'fee',
  'deposit',
  'withdrawal',
  'transfer',
  'split',
  /** Anything else the provider reports (option events, adjustments, reorganisations, unknown types); `providerType` says what. */
  'other',
] as const;

export type ActivityType = (typeof ACTIVITY_TYPES)[number];

/** One activity of one account, provider-neutral. Plain JSON (decimal strings, ISO dates). */
export interface NormalizedActivity {
  /** The provider's id of the activity (SnapTrade's activity id, Alpaca's activity id); unique within the account. */
  providerActivityId: string;
  type: ActivityType;
  /** The provider's own type, as reported (SnapTrade `type`, Alpaca `activity_type`, e.g. `REI`, `DIVNRA`). */
  providerType: string;
  /** Effect on the account's cash in `currency` (see the sign convention above); null when the provider gives none. */
  amount: DecimalString | null;
  /**
   * ISO 4217 code of `amount`, `price` and `fee`. Null only when they are denominated in a
   * security instead (SnapTrade's `currency_universal_symbol`, crypto): then `amountSymbol` names it.
   */
  currency: string | null;
  /** The security `amount` is denominated in when `currency` is null. */
  amountSymbol: string | null;
  /** Units of the security (shares bought or sold, shares a dividend was paid on); null when none. */
  units: DecimalString | null;
  /** Price per unit in `currency` (a dividend's amount per share); null when none. */
  price: DecimalString | null;
  /** Fee charged with the activity, as a positive number, when the provider reports it separately. */
  fee: DecimalString | null;
  /** Ticker of the security the activity is about; null for cash activities. */
  symbol: string | null;
  /** SnapTrade's universal symbol id of that security, when the provider gives it. */
  universalSymbolId: string | null;
  /** When it happened (ISO 8601, UTC). Providers that only know the day give its midnight UTC. */
  tradeDate: string;
  /** Settlement day (`YYYY-MM-DD`), when the provider gives one. */
  settlementDate: string | null;
  /** The brokerage's description, as given. */
  description: string | null;
  /** The brokerage's reference grouping related activities (the order id of a fill). */
  externalReferenceId: string | null;
}

/** What normalising one fetched batch yields: the activities, and the items that could not be read (with why). */
export interface ActivityBatch {
  activities: NormalizedActivity[];
  /** Items left out: their index in the batch, the provider's id when readable, and every problem found. */
  rejected: { index: number; providerActivityId: string | null; problems: string[] }[];
}

/**
 * One stored activity as the API and the socket.io `activities:update` event carry it (the row
 * of `activities`, camel-cased). Types only: the browser imports it too.
 */
export interface ActivityView {
  /** Our account id. */
  accountId: string;
  provider: 'snaptrade' | 'alpaca';
  providerActivityId: string;
  type: ActivityType;
  providerType: string;
  /** ISO 8601, UTC. */
  tradeDate: string;
  /** `YYYY-MM-DD`. */
  settlementDate: string | null;
  symbol: string | null;
  universalSymbolId: string | null;
  units: string | null;
  price: string | null;
  amount: string | null;
  fee: string | null;
  currency: string | null;
  amountSymbol: string | null;
  description: string | null;
  externalReferenceId: string | null;
}

/** `activities:update`: activities of one account that were stored or changed by one commit, newest first. */
export interface ActivitiesUpdate {
  accountId: string;
  activities: ActivityView[];
  at: string;
}
