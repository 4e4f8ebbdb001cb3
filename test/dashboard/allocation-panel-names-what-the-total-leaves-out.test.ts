import { describe, expect, it } from 'vitest';
import type { Allocation } from '../../src/realtime/client/allocation.ts';
import { leftOut, share } from '../../src/realtime/dashboard/browser/allocation-panel.ts';

/** The allocation panel's words: a part's share, and what the total leaves out and why. */

const allocation = (fields: Partial<Allocation>): Allocation => ({ dimension: 'assetClass', baseCurrency: 'USD', total: '100', parts: [], unpriced: [], cashUnknown: false, ...fields });

describe('the allocation panel says what the total leaves out', () => {
  it('names each unpriced holding with why, and the cash when it is unknown', () => {
    const text = leftOut(
      allocation({
        unpriced: [
          { id: 'a', symbol: 'SAP', reason: 'no-fx-rate' },
          { id: 'b', symbol: 'XYZ', reason: 'no-price' },
        ],
        cashUnknown: true,
      }),
    );
    expect(text).toBe('Not in the total, unpriced: SAP (no rate to USD), XYZ (no price yet), cash (no balance valued yet).');
  });

  it('says nothing when everything is in the total', () => {
    expect(leftOut(allocation({}))).toBe('');
  });

  it('shows a share to a tenth of a percent, and a dash without a total', () => {
    expect(share('0.07984063553656867176')).toBe('8.0%');
    expect(share('0.6654')).toBe('66.5%');
    expect(share(null)).toBe('—');
  });
});
