import type { ActivityType } from '../../src/activities/activity.ts';
import type { ActivityForReturns } from '../../src/returns/external-cash-flows.ts';
import { rangeReturns, type RangeReturns } from '../../src/returns/range-returns.ts';
import type { ValuePoint } from '../../src/returns/time-weighted-return.ts';
import type { ReturnsScope } from '../../src/returns/external-cash-flows.ts';
import type { TradeForRealized } from '../../src/returns/realized-pl.ts';
import type { Decimal } from '../../src/portfolio/decimal.ts';

/** Helpers of the golden return scenarios: a USD portfolio, daily closes at 21:00 UTC. */

export const at = (iso: string): Date => new Date(iso);

export const point = (iso: string, value: string): ValuePoint => ({ at: at(iso), value });

export function activity(accountId: string, type: ActivityType, iso: string, amount: string | null): ActivityForReturns {
  return { accountId, type, amount, currency: 'USD', at: at(iso) };
}

export function portfolioReturns(points: ValuePoint[], activities: ActivityForReturns[]): RangeReturns {
  return rangeReturns({
    scope: { kind: 'portfolio' },
    points,
    rangeStart: points[0]!.at,
    now: points[points.length - 1]!.at,
    activities,
    toBase: (amount, currency) => (currency === 'USD' ? amount : null),
    currentValue: points[points.length - 1]!.value,
    unrealizedPl: null,
  });
}

export const markCodes = (returns: RangeReturns): string[] => returns.marks.map((mark) => mark.code);

/** A trade of `accountId` in `security`, in USD unless said; its id orders trades at the same time. */
export function trade(
  accountId: string,
  type: 'buy' | 'sell' | 'split' | 'transfer',
  security: string,
  iso: string,
  units: string | null,
  price: string | null,
  currency = 'USD',
): TradeForRealized {
  return { accountId, security, type, units, price, currency, at: at(iso), id: `${accountId}-${type}-${iso}` };
}

/** The realized P/L of the range `(from, to]` as the returns answer it (no value points: the range is from..to). */
export function realizedIn(
  trades: TradeForRealized[],
  range: { from: string; to: string },
  options: { scope?: ReturnsScope; toBase?: (amount: Decimal, currency: string, at: Date) => Decimal | null } = {},
): RangeReturns['realized'] {
  return rangeReturns({
    scope: options.scope ?? { kind: 'portfolio' },
    points: [],
    rangeStart: at(range.from),
    now: at(range.to),
    activities: null,
    toBase: options.toBase ?? ((amount, currency) => (currency === 'USD' ? amount : null)),
    currentValue: '0',
    unrealizedPl: null,
    trades,
  }).realized;
}
