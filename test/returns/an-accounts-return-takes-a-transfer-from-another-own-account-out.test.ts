import { describe, expect, it } from 'vitest';
import { rangeReturns } from '../../src/returns/range-returns.ts';
import { activity, markCodes, point } from './return-scenarios.ts';

/*
 * Per-account returns from the accounts' daily closes. Two accounts, A and B; at Tuesday's close
 * A sends 5,000 to B (both legs at the close). The market makes +2 % on Tuesday, +1 % on Wednesday.
 *
 *              A                          B
 *   Mon close  20,000                     10,000
 *   Tue close  20,000 x 1.02 - 5,000      10,000 x 1.02 + 5,000
 *              = 15,400                   = 15,200
 *   Wed close  15,400 x 1.01 = 15,554     15,200 x 1.01 = 15,352
 *
 * For each account the transfer is a flow (for the portfolio it is not): Tuesday r = 0.02,
 * Wednesday r = 0.01, TWR = 1.02 x 1.01 - 1 = 0.0302 for both, while B's simple return,
 * 15,352 / 10,000 - 1 = 0.5352, counts the 5,000 received as gain.
 */
describe("an account's return takes a transfer from another own account out", () => {
  const activities = [activity('acc-a', 'transfer', '2026-03-03T21:00:00Z', '-5000'), activity('acc-b', 'transfer', '2026-03-03T21:00:00Z', '5000')];
  const accountReturns = (accountId: string, values: [string, string, string]) =>
    rangeReturns({
      scope: { kind: 'account', accountId },
      points: [point('2026-03-02T21:00:00Z', values[0]), point('2026-03-03T21:00:00Z', values[1]), point('2026-03-04T21:00:00Z', values[2])],
      rangeStart: new Date('2026-03-02T21:00:00Z'),
      now: new Date('2026-03-04T21:00:00Z'),
      activities,
      toBase: (amount) => amount,
      currentValue: values[2],
      unrealizedPl: null,
    });

  it('is 3.02 % for the account that received it, not its 53.52 % simple return', () => {
    const b = accountReturns('acc-b', ['10000', '15200', '15352']);
    expect(b.twr).toBe('0.0302');
    expect(b.simpleReturn).toBe('0.5352');
    expect(b.flows).toMatchObject({ net: '5000', inflows: '5000', count: 1, internalTransferLegs: 0 });
    expect(b.start).toEqual({ at: '2026-03-02T21:00:00.000Z', value: '10000' });
    expect(markCodes(b)).toEqual([]);
  });

  it('is 3.02 % for the account that sent it too', () => {
    const a = accountReturns('acc-a', ['20000', '15400', '15554']);
    expect(a.twr).toBe('0.0302');
    expect(a.flows).toMatchObject({ net: '-5000', outflows: '-5000', count: 1 });
  });
});
