import { convert, currencyCode, type FxTable } from './currency.ts';
import { dec, isZero, strOrNull } from './decimal.ts';
import { accountShare, computeHolding, quotesFor, type Holding, type PriceQuote, type ValuationContext } from './holding.ts';
import { internKeys, internString } from './intern.ts';
import { isoTimestamp, type NormalizedBalance, type NormalizedPosition } from './normalized.ts';
import {
  cashContribution,
  combine,
  computeTotals,
  holdingContribution,
  sumsOf,
  totalsFrom,
  type CashLine,
  type PortfolioTotals,
} from './portfolio-totals.ts';
import { SecurityIndex } from './security-identity.ts';

/**
 * Aggregation: all of a user's accounts -> one holding per security, cash per account and
 * currency, and totals. Pure: the inputs are never mutated; the result is a new state.
 *
 * Cash rule: a cash-equivalent position (money-market fund, SnapTrade `cash_equivalent: true`)
 * is a holding, valued like any other and counted in invested value; it is never added to
 * cash. Cash is the balances, which the normalisers give net of those positions (SnapTrade's
 * `Balance.cash` includes them). So each dollar is counted exactly once.
 *
 * Incremental path: `reaggregateSymbols` replaces some accounts and recomputes only the
 * holdings whose inputs can have changed; it equals `aggregateHoldings` over the new accounts
 * (property-tested). Identity resolution (`SecurityIndex`) is rebuilt over all positions, an
 * O(positions) pass of string work, because adding or removing one account can merge or split
 * securities held elsewhere; the decimal work is done only for the affected securities.
 */

/** One account's latest synced data (what `positions.synced` carries, plus account facts). */
export interface AccountPositions {
  institution: string;
  /** The account's own currency (informational). */
  currency: string;
  /** When these positions were fetched from the brokerage (ISO 8601). */
  asOf: string;
  positions: readonly NormalizedPosition[];
  balances?: readonly NormalizedBalance[];
}

export type AccountsById = ReadonlyMap<string, AccountPositions>;

export interface AggregationContext extends ValuationContext {
  /** Price book: identity key (any facet) -> latest quote. */
  prices?: ReadonlyMap<string, PriceQuote>;
}

/**
 * A user's portfolio. Owned by one actor. Everything is replaced by the pure functions here,
 * except `holdings`, `prices` and `totals`, which `applyPrice` (valuation.ts) updates in place
 * so that a tick costs O(1) in the size of the portfolio.
 */
export interface PortfolioState {
  baseCurrency: string;
  fx: FxTable;
  accounts: AccountsById;
  prices: Map<string, PriceQuote>;
  /** Canonical identity key -> holding. */
  holdings: Map<string, Holding>;
  /** Account id -> its cash lines (sorted by currency). */
  cash: ReadonlyMap<string, readonly CashLine[]>;
  totals: PortfolioTotals;
  /** Every identity facet of every held security -> its canonical key. */
  keyByFacet: ReadonlyMap<string, string>;
}

/** What changed between two states, for persisting and for the socket delta. */
export interface HoldingsChange {
  upserted: Holding[];
  removed: string[];
}

const byId = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

function heldPositions(account: AccountPositions): NormalizedPosition[] {
  return account.positions.filter((p) => !isZero(dec(p.quantity)));
}

function buildIndex(accounts: AccountsById): { index: SecurityIndex; keyByFacet: Map<string, string> } {
  const index = new SecurityIndex();
  for (const account of accounts.values()) for (const position of heldPositions(account)) index.add(position.security);
  const keyByFacet = new Map<string, string>();
  for (const security of index.securities()) {
    for (const facet of index.facets(security.identityKey)) keyByFacet.set(facet, security.identityKey);
  }
  return { index, keyByFacet };
}

/** Positions grouped by canonical key, then by account id (only keys in `only`, when given). */
function groupPositions(
  accounts: AccountsById,
  keyByFacet: ReadonlyMap<string, string>,
  only?: ReadonlySet<string>,
): Map<string, Map<string, NormalizedPosition[]>> {
  const groups = new Map<string, Map<string, NormalizedPosition[]>>();
  for (const [accountId, account] of accounts) {
    for (const position of heldPositions(account)) {
      const key = keyByFacet.get(position.security.identityKey)!;
      if (only !== undefined && !only.has(key)) continue;
      let byAccount = groups.get(key);
      if (byAccount === undefined) groups.set(key, (byAccount = new Map()));
      const list = byAccount.get(accountId);
      if (list === undefined) byAccount.set(accountId, [position]);
      else list.push(position);
    }
  }
  return groups;
}

function buildHolding(
  key: string,
  byAccount: ReadonlyMap<string, NormalizedPosition[]>,
  accounts: AccountsById,
  index: SecurityIndex,
  prices: ReadonlyMap<string, PriceQuote>,
  context: ValuationContext,
): Holding {
  const security = index.lookup(key)!;
  const facets = internKeys(index.facets(key));
  const shares = [...byAccount.keys()].sort(byId).map((accountId) => {
    const account = accounts.get(accountId)!;
    const info = { institution: account.institution, asOf: internString(isoTimestamp(account.asOf)) };
    return accountShare(accountId, info, byAccount.get(accountId)!, security.currency, context.fx);
  });
  return computeHolding(security, facets, shares, quotesFor(facets, prices), context);
}

function cashLines(accountId: string, account: AccountPositions, context: ValuationContext): CashLine[] {
  return (account.balances ?? [])
    .map((balance) => {
      const currency = currencyCode(balance.currency);
      const amount = dec(balance.cash);
      return {
        accountId,
        currency,
        amount: balance.cash,
        baseAmount: strOrNull(convert(context.fx, amount, currency, context.baseCurrency).value),
        buyingPower: balance.buyingPower ?? null,
      };
    })
    .sort((a, b) => byId(a.currency, b.currency));
}

/** Full aggregation of every account. */
export function aggregateHoldings(accounts: AccountsById, context: AggregationContext): PortfolioState {
  const baseCurrency = currencyCode(context.baseCurrency);
  const valuation: ValuationContext = { baseCurrency, fx: context.fx };
  const prices = new Map(context.prices ?? []);
  const { index, keyByFacet } = buildIndex(accounts);
  const holdings = new Map<string, Holding>();
  for (const [key, byAccount] of groupPositions(accounts, keyByFacet)) {
    holdings.set(key, buildHolding(key, byAccount, accounts, index, prices, valuation));
  }
  const cash = new Map<string, CashLine[]>();
  for (const [accountId, account] of accounts) cash.set(accountId, cashLines(accountId, account, valuation));
  return {
    baseCurrency,
    fx: context.fx,
    accounts: new Map(accounts),
    prices,
    holdings,
    cash,
    totals: computeTotals(baseCurrency, holdings.values(), cash.values()),
    keyByFacet,
  };
}

/**
 * Replace some accounts (`null` removes one) and recompute only the affected holdings.
 *
 * Affected canonical keys: those given by the caller, those of the replaced accounts' old and
 * new positions, and both the old and the new canonical key of every identity facet whose
 * canonical key changed (a merge or a split). Every other holding is carried over unchanged,
 * and the totals are updated by the difference of the affected contributions. The result
 * equals `aggregateHoldings` over the new set of accounts with the same prices.
 */
export function reaggregateSymbols(
  previous: PortfolioState,
  changedAccountPositions: ReadonlyMap<string, AccountPositions | null>,
  affectedIdentityKeys: Iterable<string> = [],
): { state: PortfolioState; changes: HoldingsChange } {
  const valuation: ValuationContext = { baseCurrency: previous.baseCurrency, fx: previous.fx };
  const accounts = new Map(previous.accounts);
  for (const [accountId, account] of changedAccountPositions) {
    if (account === null) accounts.delete(accountId);
    else accounts.set(accountId, account);
  }
  const { index, keyByFacet } = buildIndex(accounts);

  const affected = new Set<string>();
  const mark = (key: string | undefined): void => {
    if (key !== undefined) affected.add(key);
  };
  for (const key of affectedIdentityKeys) {
    mark(previous.keyByFacet.get(key) ?? key);
    mark(keyByFacet.get(key) ?? key);
  }
  for (const accountId of changedAccountPositions.keys()) {
    const before = previous.accounts.get(accountId);
    if (before) for (const p of heldPositions(before)) mark(previous.keyByFacet.get(p.security.identityKey));
    const after = accounts.get(accountId);
    if (after) for (const p of heldPositions(after)) mark(keyByFacet.get(p.security.identityKey));
  }
  for (const [facet, key] of previous.keyByFacet) {
    const now = keyByFacet.get(facet);
    if (now !== key) {
      mark(key);
      mark(now);
    }
  }
  for (const [facet, key] of keyByFacet) if (!previous.keyByFacet.has(facet)) mark(key);

  const holdings = new Map(previous.holdings);
  let sums = sumsOf(previous.totals);
  const removed: string[] = [];
  const upserted: Holding[] = [];
  for (const key of affected) {
    const old = holdings.get(key);
    if (old !== undefined) {
      sums = combine(sums, holdingContribution(old), -1);
      holdings.delete(key);
    }
  }
  const groups = groupPositions(accounts, keyByFacet, affected);
  for (const key of [...affected].sort(byId)) {
    const byAccount = groups.get(key);
    if (byAccount === undefined) {
      if (previous.holdings.has(key)) removed.push(key);
      continue;
    }
    const holding = buildHolding(key, byAccount, accounts, index, previous.prices, valuation);
    holdings.set(key, holding);
    sums = combine(sums, holdingContribution(holding));
    upserted.push(holding);
  }

  const cash = new Map(previous.cash);
  for (const accountId of changedAccountPositions.keys()) {
    for (const line of previous.cash.get(accountId) ?? []) sums = combine(sums, cashContribution(line), -1);
    const account = accounts.get(accountId);
    if (account === undefined) {
      cash.delete(accountId);
      continue;
    }
    const lines = cashLines(accountId, account, valuation);
    cash.set(accountId, lines);
    for (const line of lines) sums = combine(sums, cashContribution(line));
  }

  return {
    state: {
      baseCurrency: previous.baseCurrency,
      fx: previous.fx,
      accounts,
      prices: new Map(previous.prices),
      holdings,
      cash,
      totals: totalsFrom(previous.baseCurrency, sums),
      keyByFacet,
    },
    changes: { upserted, removed },
  };
}
