import type { ActivityType } from '../activities/activity.ts';
import { add, dec, ZERO, type Decimal, type DecimalString } from '../portfolio/decimal.ts';
import type { CashFlow } from './time-weighted-return.ts';

/**
 * Which activities are cash flows of the portfolio (or of one account), and which are income
 * (pure). A return measures what the money inside did, so only money crossing the boundary is a
 * flow:
 *
 * - `deposit` in, `withdrawal` out: flows of the account and of the portfolio.
 * - `transfer`: a flow of its account. For the portfolio, a transfer between two of the user's own
 *   accounts moves nothing across the boundary: a leg is internal when another account of the user
 *   has the opposite leg (same currency, opposite amount) within `TRANSFER_MATCH_DAYS`; each leg
 *   pairs at most once. An unpaired leg came from or went to the outside (another brokerage) and
 *   is a flow.
 * - `dividend`, `interest`: income. It stays inside (as cash) and is part of the return; it leaves
 *   only by a withdrawal, which is the flow.
 * - `buy`, `sell`, `fee`, `split`, `other`: inside the portfolio; a fee lowers the return, a split
 *   changes units, not value.
 *
 * Amounts are summed in decimal, converted to the base currency by `toBase` at the rate of the
 * activity's time (the caller's `convertAtDayRate`: the rate of its UTC day). A flow whose amount
 * is missing (a transfer of securities) or cannot be converted is left out and counted.
 */

export interface ActivityForReturns {
  accountId: string;
  type: ActivityType;
  /** Effect on the account's cash in `currency`, positive in, negative out. */
  amount: DecimalString | null;
  currency: string | null;
  at: Date;
}

export type ReturnsScope = { kind: 'portfolio' } | { kind: 'account'; accountId: string };

export interface FlowsAndIncome {
  /** External flows in the base currency, into the scope positive. */
  flows: CashFlow[];
  /** Money brought in (deposits, transfers in). */
  inflows: Decimal;
  /** Money taken out (withdrawals, transfers out), as a negative number. */
  outflows: Decimal;
  netFlows: Decimal;
  dividends: Decimal;
  interest: Decimal;
  /** Transfer legs left out as moves between two of the user's accounts (portfolio scope). */
  internalTransferLegs: number;
  /** Flows or income left out: no amount, or no rate to the base currency. */
  notValued: number;
}

/** How far apart the two legs of a transfer between the user's own accounts may be dated. */
export const TRANSFER_MATCH_DAYS = 5;

const FLOW_TYPES: ReadonlySet<ActivityType> = new Set(['deposit', 'withdrawal', 'transfer']);

/** Indexes of transfer legs that pair with an opposite leg in another of the user's accounts. */
function internalTransferLegs(activities: readonly ActivityForReturns[]): Set<number> {
  const legs = activities
    .map((activity, index) => ({ activity, index }))
    .filter(({ activity }) => activity.type === 'transfer' && activity.amount !== null && activity.currency !== null && !dec(activity.amount).eq(0))
    .sort((a, b) => a.activity.at.getTime() - b.activity.at.getTime());
  const paired = new Set<number>();
  const window = TRANSFER_MATCH_DAYS * 86_400_000;
  for (const out of legs) {
    if (paired.has(out.index) || dec(out.activity.amount!).gte(0)) continue;
    const wanted = dec(out.activity.amount!).neg();
    let best: { index: number; distance: number } | undefined;
    for (const into of legs) {
      if (paired.has(into.index) || into.activity.accountId === out.activity.accountId) continue;
      if (into.activity.currency !== out.activity.currency || !dec(into.activity.amount!).eq(wanted)) continue;
      const distance = Math.abs(into.activity.at.getTime() - out.activity.at.getTime());
      if (distance <= window && (!best || distance < best.distance)) best = { index: into.index, distance };
    }
    if (best) {
      paired.add(out.index);
      paired.add(best.index);
    }
  }
  return paired;
}

/**
 * The scope's flows and income among `activities` (every activity of the user: the portfolio scope
 * needs both legs of a transfer), counting those dated in `(from, to]`.
 */
export function flowsAndIncome(
  activities: readonly ActivityForReturns[],
  scope: ReturnsScope,
  window: { from: Date; to: Date },
  toBase: (amount: Decimal, currency: string, at: Date) => Decimal | null,
): FlowsAndIncome {
  const internal = scope.kind === 'portfolio' ? internalTransferLegs(activities) : new Set<number>();
  const result: FlowsAndIncome = {
    flows: [],
    inflows: ZERO,
    outflows: ZERO,
    netFlows: ZERO,
    dividends: ZERO,
    interest: ZERO,
    internalTransferLegs: 0,
    notValued: 0,
  };
  activities.forEach((activity, index) => {
    const t = activity.at.getTime();
    if (t <= window.from.getTime() || t > window.to.getTime()) return;
    if (scope.kind === 'account' && activity.accountId !== scope.accountId) return;
    const isFlow = FLOW_TYPES.has(activity.type);
    const isIncome = activity.type === 'dividend' || activity.type === 'interest';
    if (!isFlow && !isIncome) return;
    if (internal.has(index)) {
      result.internalTransferLegs++;
      return;
    }
    const amount = activity.amount === null || activity.currency === null ? null : toBase(dec(activity.amount), activity.currency, activity.at);
    if (amount === null) {
      result.notValued++;
      return;
    }
    if (activity.type === 'dividend') result.dividends = add(result.dividends, amount);
    else if (activity.type === 'interest') result.interest = add(result.interest, amount);
    else {
      // The type decides the direction of a deposit or withdrawal, whatever sign a provider gave.
      const flow = activity.type === 'deposit' ? amount.abs() : activity.type === 'withdrawal' ? amount.abs().neg() : amount;
      if (flow.eq(0)) return;
      result.flows.push({ at: activity.at, amount: flow.toString() });
      if (flow.gt(0)) result.inflows = add(result.inflows, flow);
      else result.outflows = add(result.outflows, flow);
      result.netFlows = add(result.netFlows, flow);
    }
  });
  return result;
}
