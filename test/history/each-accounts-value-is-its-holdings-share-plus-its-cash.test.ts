import { describe, expect, it } from 'vitest';
import { accountValues } from '../../src/history/account-values.ts';
import type { AccountSummary, HoldingView } from '../../src/realtime/events.ts';

/*
 * What the daily close records per account (USD base):
 *   TFSA    SHOP share 8,432.10 + AAPL share 1,000.05 + cash 800   = 10,232.15
 *   Margin  AAPL share 500.1 + cash 0.1                              = 500.2 (exact, not 500.20000000000005)
 *   RRSP    cash 40, but its XIU share has no value (no rate)        = none: a point short of a holding would read as a loss
 *   Empty   no balance reported, nothing held                       = none
 */
const share = (accountId: string, marketValueBase: string | null) => ({ accountId, institution: 'x', quantity: '1', marketValue: marketValueBase, marketValueBase });
const holding = (id: string, accounts: ReturnType<typeof share>[]) => ({ id, accounts }) as unknown as HoldingView;
const account = (id: string, cashBase: string | null) => ({ id, cashBase }) as AccountSummary;

describe("each account's value is its holdings' share plus its cash", () => {
  it('sums exactly, and gives none for an account with a part it could not value', () => {
    const values = accountValues({
      holdings: [
        holding('shop', [share('tfsa', '8432.10')]),
        holding('aapl', [share('tfsa', '1000.05'), share('margin', '500.1')]),
        holding('xiu', [share('rrsp', null)]),
      ],
      accounts: [account('tfsa', '800'), account('margin', '0.1'), account('rrsp', '40'), account('empty', null)],
    });
    expect(Object.fromEntries(values)).toEqual({ tfsa: '10232.15', margin: '500.2', rrsp: null, empty: null });
  });
});
