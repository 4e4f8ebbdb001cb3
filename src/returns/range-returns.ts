import { add, dec, type Decimal, type DecimalString } from '../portfolio/decimal.ts';
import { flowsAndIncome, type ActivityForReturns, type ReturnsScope } from './external-cash-flows.ts';
import { realizedPl, type TradeForRealized } from './realized-pl.ts';
import { moneyWeightedReturn, mwrFlows, type MoneyWeightedReturn } from './money-weighted-return.ts';
import { timeWeightedReturn, type ValuePoint } from './time-weighted-return.ts';

/**
 * The return figures of one range (pure): time- and money-weighted returns, the simple return,
 * start and end values, external flows and income, and marks saying in words what the figures
 * rest on when the data is short. Returns are fractions (0.05 = 5 %) as decimal text rounded to
 * `REPORTED_RETURN_PLACES` places; money is decimal text in the base currency, summed exactly.
 */

export const REPORTED_RETURN_PLACES = 10;

export const RETURN_MARKS = [
  'fewer-than-two-points',
  'flows-unknown',
  'flows-unknown-for-some-accounts',
  'flows-between-points',
  'flows-not-valued',
  'sub-periods-without-capital',
  'twr-undefined',
  'mwr-no-solution',
  'mwr-several-rates-possible',
  'mwr-annual-rate-too-large',
  'fewer-than-two-account-points',
] as const;
export type ReturnMarkCode = (typeof RETURN_MARKS)[number];

export interface ReturnMark {
  code: ReturnMarkCode;
  message: string;
}

export interface RangeReturnsInput {
  scope: ReturnsScope;
  /** The range's value points, oldest first, the last being the value now. */
  points: readonly ValuePoint[];
  /** Where the range starts (flows and income are counted from the first point, or from here without points). */
  rangeStart: Date;
  now: Date;
  /** Every activity of the user (both legs of a transfer are needed); null when none is known at all. */
  activities: readonly ActivityForReturns[] | null;
  /** Accounts in the scope with no activity known at all (their flows are unknown), by name. */
  accountsWithoutActivities?: readonly string[];
  /** An amount of an activity in the base currency at the rate of its time (`at`); null without a rate. */
  toBase: (amount: Decimal, currency: string, at: Date) => Decimal | null;
  /** The scope's current value, when no points are given (the account scope). */
  currentValue: DecimalString;
  /** Σ unrealized P/L of the scope's current holdings with a known cost. */
  unrealizedPl: DecimalString | null;
  /** Every buy, sell, split and transfer of a security up to now (a sale's cost needs all the earlier trades); none when absent. */
  trades?: readonly TradeForRealized[];
}

export interface RangeReturns {
  start: { at: string; value: DecimalString } | null;
  end: { at: string; value: DecimalString };
  simpleReturn: DecimalString | null;
  twr: DecimalString | null;
  mwr: { annual: DecimalString | null; period: DecimalString } | null;
  flows: {
    known: boolean;
    net: DecimalString;
    inflows: DecimalString;
    outflows: DecimalString;
    count: number;
    internalTransferLegs: number;
    notValued: number;
  };
  income: { dividends: DecimalString; interest: DecimalString; total: DecimalString };
  unrealizedPl: DecimalString | null;
  realized: { pl: DecimalString; sells: number; notValued: number };
  marks: ReturnMark[];
}

const fraction = (value: Decimal | number): DecimalString =>
  (typeof value === 'number' ? dec(value) : value).round(REPORTED_RETURN_PLACES, 2).toString();

const NO_SOLUTION_WORDS: Record<Extract<MoneyWeightedReturn, { kind: 'no-solution' }>['reason'], string> = {
  'fewer-than-two-flows': 'there is no value to start from',
  'no-time-span': 'the range has no length',
  'flows-of-one-sign': 'money only went in or only came out, so no rate balances it',
  'no-rate-zeroes-the-npv': 'no rate between a total loss and an extreme gain balances the money in and out',
};

export function rangeReturns(input: RangeReturnsInput): RangeReturns {
  const marks: ReturnMark[] = [];
  const points = [...input.points].sort((a, b) => a.at.getTime() - b.at.getTime());
  const first = points[0];
  const last = points[points.length - 1];
  const end = last ?? { at: input.now, value: input.currentValue };
  const from = points.length >= 2 ? first!.at : input.rangeStart;
  const known = input.activities !== null;
  const counted = flowsAndIncome(input.activities ?? [], input.scope, { from, to: end.at }, input.toBase);
  const realized = realizedPl(input.trades ?? [], input.scope, { from, to: end.at }, input.toBase);

  if (input.scope.kind === 'account' && points.length < 2) {
    marks.push({
      code: 'fewer-than-two-account-points',
      message: "Fewer than two values of this account are recorded in this range (an account's value is recorded at each daily close, not during the day), so there is no return yet; its flows, income and unrealized P/L are shown.",
    });
  } else if (points.length < 2) {
    marks.push({
      code: 'fewer-than-two-points',
      message: 'Fewer than two values are recorded in this range, so there is no return yet (a close is recorded each trading day, and a value each minute while the dashboard is open).',
    });
  }
  if (!known) {
    marks.push({
      code: 'flows-unknown',
      message: 'No activities are known, so deposits and withdrawals are unknown: they are taken as none, and the time-weighted return equals the simple return.',
    });
  }
  const unknownAccounts = input.accountsWithoutActivities ?? [];
  if (known && unknownAccounts.length > 0) {
    marks.push({
      code: 'flows-unknown-for-some-accounts',
      message: `No activities are known for ${unknownAccounts.join(', ')}: deposits and withdrawals there are unknown and taken as none.`,
    });
  }
  if (counted.notValued > 0) {
    marks.push({
      code: 'flows-not-valued',
      message: `${counted.notValued} deposit, withdrawal, transfer or income ${counted.notValued === 1 ? 'activity was' : 'activities were'} left out: no cash amount (a transfer of securities) or no exchange rate to the base currency.`,
    });
  }

  const measurable = points.length >= 2;
  let simpleReturn: DecimalString | null = null;
  let twr: DecimalString | null = null;
  let mwr: RangeReturns['mwr'] = null;
  if (measurable) {
    const startValue = dec(first!.value);
    if (startValue.gt(0)) simpleReturn = fraction(dec(last!.value).minus(startValue).div(startValue));
    const pointTimes = new Set(points.map((point) => point.at.getTime()));
    const between = counted.flows.filter((flow) => !pointTimes.has(flow.at.getTime())).length;
    if (between > 0) {
      marks.push({
        code: 'flows-between-points',
        message: `${between} cash ${between === 1 ? 'flow falls' : 'flows fall'} between two recorded values: ${between === 1 ? 'its' : 'their'} interval's return weights each flow by the time it was invested (Modified Dietz).`,
      });
    }
    const timeWeighted = timeWeightedReturn(points, counted.flows);
    if (timeWeighted.kind === 'return') {
      twr = fraction(timeWeighted.value);
      if (timeWeighted.subPeriodsWithoutCapital > 0) {
        marks.push({
          code: 'sub-periods-without-capital',
          message: `${timeWeighted.subPeriodsWithoutCapital} of ${timeWeighted.subPeriods} intervals had nothing invested at their start and are left out (holdings that appeared without a recorded deposit, e.g. an account connected during the range).`,
        });
      }
    } else {
      marks.push({
        code: 'twr-undefined',
        message: 'Nothing was invested at the start of any interval in this range, so there is no time-weighted return.',
      });
    }
    const moneyWeighted = moneyWeightedReturn(mwrFlows(first!, counted.flows, last!));
    if (moneyWeighted.kind === 'rate') {
      mwr = { annual: moneyWeighted.annual === null ? null : fraction(moneyWeighted.annual), period: fraction(moneyWeighted.period) };
      if (moneyWeighted.annual === null) {
        marks.push({ code: 'mwr-annual-rate-too-large', message: 'The annualized money-weighted return is too large to show for a range this short; the return for the period is given.' });
      }
      if (moneyWeighted.severalRatesPossible) {
        marks.push({
          code: 'mwr-several-rates-possible',
          message: 'Money went in and out more than once, so more than one rate may balance it: the one nearest zero is shown.',
        });
      }
    } else {
      marks.push({ code: 'mwr-no-solution', message: `No money-weighted return: ${NO_SOLUTION_WORDS[moneyWeighted.reason]}.` });
    }
  }

  return {
    start: measurable ? { at: first!.at.toISOString(), value: dec(first!.value).toString() } : null,
    end: { at: end.at.toISOString(), value: dec(end.value).toString() },
    simpleReturn,
    twr,
    mwr,
    flows: {
      known,
      net: counted.netFlows.toString(),
      inflows: counted.inflows.toString(),
      outflows: counted.outflows.toString(),
      count: counted.flows.length,
      internalTransferLegs: counted.internalTransferLegs,
      notValued: counted.notValued,
    },
    income: {
      dividends: counted.dividends.toString(),
      interest: counted.interest.toString(),
      total: add(counted.dividends, counted.interest).toString(),
    },
    unrealizedPl: input.unrealizedPl,
    realized: { pl: realized.pl.toString(), sells: realized.sells, notValued: realized.notValued },
    marks,
  };
}

