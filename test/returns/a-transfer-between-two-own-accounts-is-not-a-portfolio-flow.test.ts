import { describe, expect, it } from 'vitest';
import { rangeReturns } from '../../src/returns/range-returns.ts';
import { activity, markCodes, point, portfolioReturns } from './return-scenarios.ts';

/*
 * A transfer between two of the user's accounts, and one from outside:
 *
 *   Mon close  30,000 (A 20,000, B 10,000)
 *   Tue 10:00  A sends 5,000 to B (A: transfer −5,000); Tue 15:00 B receives it (B: transfer +5,000)
 *   Tue close  30,600                     market +2 %
 *   Wed close  2,000 arrive in B from another brokerage at the close: 32,600
 *
 * For the portfolio the two legs pair up (another of the user's accounts, opposite amount, within
 * days) and cancel: no flow, Tuesday r = 600 / 30,000 = 0.02. The unpaired 2,000 came from outside:
 * a flow, so Wednesday r = (32,600 − 30,600 − 2,000) / 30,600 = 0. TWR = 0.02. For account A alone
 * the 5,000 left: a flow of −5,000.
 */
describe('a transfer between two of the user\'s accounts', () => {
  const points = [point('2026-03-02T21:00:00Z', '30000'), point('2026-03-03T21:00:00Z', '30600'), point('2026-03-04T21:00:00Z', '32600')];
  const activities = [
    activity('acc-a', 'transfer', '2026-03-03T10:00:00Z', '-5000'),
    activity('acc-b', 'transfer', '2026-03-03T15:00:00Z', '5000'),
    activity('acc-b', 'transfer', '2026-03-04T21:00:00Z', '2000'),
  ];

  it('is not a flow of the portfolio; a transfer from outside is', () => {
    const returns = portfolioReturns(points, activities);
    expect(returns.twr).toBe('0.02');
    expect(returns.flows).toMatchObject({ net: '2000', inflows: '2000', outflows: '0', count: 1, internalTransferLegs: 2 });
    expect(markCodes(returns)).toEqual([]);
  });

  it('is a flow of the account it left', () => {
    const account = rangeReturns({
      scope: { kind: 'account', accountId: 'acc-a' },
      points: [],
      rangeStart: points[0]!.at,
      now: points[2]!.at,
      activities,
      toBase: (amount) => amount,
      currentValue: '15300',
      unrealizedPl: '300',
    });
    expect(account.flows).toMatchObject({ net: '-5000', inflows: '0', outflows: '-5000', count: 1, internalTransferLegs: 0 });
    expect(account.end).toEqual({ at: '2026-03-04T21:00:00.000Z', value: '15300' });
    expect(account.twr).toBeNull();
    // No value of the account recorded in the range: no return, said so.
    expect(markCodes(account)).toEqual(['fewer-than-two-account-points']);
  });
});
