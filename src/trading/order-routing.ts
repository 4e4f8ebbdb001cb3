import type { ErrorCode } from '../http/errors.ts';
import type { TradeAccount } from './brokerage-trading.ts';
import type { OrderRouting } from './order-state.ts';

/**
 * Which account an order goes to, and why, pure: the account's provider then decides the
 * brokerage (Alpaca for internal accounts, SnapTrade for external ones). A requested account must
 * be the user's, connected and allowed to trade. Without one: an account that trades and already
 * holds the security (for a sell, one holding enough of it; the largest holding first, the
 * internal account first among equals), else the user's internal Alpaca account, else the only
 * account that trades.
 */
export interface RoutingCandidate extends TradeAccount {
  /** Quantity of the order's security the account holds (as last synced). */
  held: number;
}

export type RoutingDecision =
  | { ok: true; account: RoutingCandidate; routing: OrderRouting }
  | { ok: false; code: ErrorCode; message: string };

export interface RoutingRequest {
  accountId?: string | undefined;
  side: 'buy' | 'sell';
  /** Shares asked (null for a notional order). */
  quantity: number | null;
  /** How the security is named to the user (ticker or id). */
  security: string;
}

const ACTIVE = 'active';

function refuse(code: ErrorCode, message: string): RoutingDecision {
  return { ok: false, code, message };
}

function decided(account: RoutingCandidate, reason: string): RoutingDecision {
  return { ok: true, account, routing: { accountId: account.id, provider: account.provider, reason } };
}

/** Why this account cannot take an order, or null when it can. */
export function tradingRefusal(account: TradeAccount): { code: ErrorCode; message: string } | null {
  if (account.connectionStatus !== ACTIVE) {
    return {
      code: 'FS_CONNECTION_BROKEN',
      message: `The connection of ${account.institution} is ${account.connectionStatus.replace('_', ' ')}: reconnect it before trading.`,
    };
  }
  if (!account.tradingAllowed) {
    return {
      code: 'FS_TRADING_NOT_ALLOWED',
      message: `${account.institution} allows no trading on this account (a read-only connection, or a brokerage that does not trade through SnapTrade).`,
    };
  }
  return null;
}

export function chooseAccount(candidates: readonly RoutingCandidate[], request: RoutingRequest): RoutingDecision {
  if (request.accountId !== undefined) {
    const account = candidates.find((a) => a.id === request.accountId);
    if (!account) return refuse('FS_NOT_FOUND', `accountId: no account ${request.accountId} of yours`);
    const refusal = tradingRefusal(account);
    if (refusal) return refuse(refusal.code, refusal.message);
    return decided(account, `requested: you chose this ${account.institution} account`);
  }
  const trading = candidates.filter((a) => tradingRefusal(a) === null);
  if (trading.length === 0) {
    return refuse('FS_NO_TRADING_ACCOUNT', candidates.length === 0 ? 'You have no accounts: connect a brokerage or link an Alpaca account.' : 'None of your accounts can trade (read-only or broken connections).');
  }
  const holders = trading
    .filter((a) => a.held > 0)
    .sort((a, b) => b.held - a.held || (a.provider === 'alpaca' ? -1 : 0) - (b.provider === 'alpaca' ? -1 : 0) || a.id.localeCompare(b.id));
  if (request.side === 'sell') {
    const enough = holders.filter((a) => request.quantity === null || a.held + 1e-9 >= request.quantity);
    if (enough[0]) return decided(enough[0], `holds-security: this ${enough[0].institution} account holds ${enough[0].held} ${request.security}`);
    if (holders[0]) {
      return refuse('FS_INSUFFICIENT_POSITION', `No account that trades holds ${request.quantity} ${request.security}; the most is ${holders[0].held} at ${holders[0].institution}.`);
    }
    return refuse('FS_NO_TRADING_ACCOUNT', `None of your accounts that trade holds ${request.security}: there is nothing to sell.`);
  }
  if (holders[0]) return decided(holders[0], `holds-security: this ${holders[0].institution} account already holds ${request.security}`);
  const internal = trading.filter((a) => a.provider === 'alpaca').sort((a, b) => a.id.localeCompare(b.id))[0];
  if (internal) return decided(internal, `internal-default: no account holds ${request.security}, so your internal Alpaca account`);
  if (trading.length === 1) return decided(trading[0]!, `only-trading-account: your only account that trades`);
  return refuse(
    'FS_NO_TRADING_ACCOUNT',
    `Several of your accounts trade, none holds ${request.security} and you have no internal account: choose one (accountId).`,
  );
}
