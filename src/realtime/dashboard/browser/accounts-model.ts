import type { AccountModel, ConnectionModel } from '../../client/portfolio-store.ts';
import type { HoldingView } from '../../events.ts';
import { addScaled, formatScaled, parseScaled, SCALED_ZERO, type Scaled } from '../../../portfolio/scaled-decimal.ts';

/**
 * The Accounts view's pure part: each account of the store's model with its value, cash and
 * holdings, from the holdings' per-account shares. Sums are exact (scaled integers over the
 * server's decimal strings), so an account's figures add up digit for digit.
 */

/** One holding as one account holds it. */
export interface AccountHoldingLine {
  holdingId: string;
  symbol: string;
  description: string | null;
  quantity: string;
  /** The holding's listing currency, and the share's value in it. */
  currency: string;
  marketValue: string | null;
  /** The share's value in the base currency (`null` without a price or an FX rate). */
  marketValueBase: string | null;
}

export interface AccountView {
  account: AccountModel;
  connection: ConnectionModel;
  /** Its holdings, largest value (base currency) first. */
  holdings: AccountHoldingLine[];
  /** Σ holdings' base values (those known). */
  holdingsValue: string;
  /** Cash in the base currency (`null`: none reported yet, or without an FX rate). */
  cash: string | null;
  /** Holdings value + cash. */
  value: string;
  /** Something in `value` is unknown (a holding without a price or FX rate, or the cash): it is a lower bound. */
  incomplete: boolean;
}

export function accountViews(connections: readonly ConnectionModel[], holdings: readonly HoldingView[]): AccountView[] {
  const lines = new Map<string, AccountHoldingLine[]>();
  for (const h of holdings) {
    for (const share of h.accounts) {
      let list = lines.get(share.accountId);
      if (!list) lines.set(share.accountId, (list = []));
      list.push({
        holdingId: h.id,
        symbol: h.symbol,
        description: h.description,
        quantity: share.quantity,
        currency: h.currency,
        marketValue: share.marketValue,
        marketValueBase: share.marketValueBase,
      });
    }
  }
  const views: AccountView[] = [];
  for (const connection of connections) {
    for (const account of connection.accounts) {
      const held = (lines.get(account.id) ?? []).sort(
        (a, b) => Number(b.marketValueBase ?? -Infinity) - Number(a.marketValueBase ?? -Infinity) || a.symbol.localeCompare(b.symbol),
      );
      let sum: Scaled = SCALED_ZERO;
      let incomplete = account.cashBase === null;
      for (const line of held) {
        if (line.marketValueBase === null) incomplete = true;
        else sum = addScaled(sum, parseScaled(line.marketValueBase));
      }
      const value = account.cashBase === null ? sum : addScaled(sum, parseScaled(account.cashBase));
      views.push({ account, connection, holdings: held, holdingsValue: formatScaled(sum), cash: account.cashBase, value: formatScaled(value), incomplete });
    }
  }
  return views;
}
