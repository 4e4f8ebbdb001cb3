import { add, dec, str, ZERO, type Decimal, type DecimalString } from '../portfolio/decimal.ts';
import type { PortfolioSnapshotBody } from '../realtime/events.ts';

/**
 * Each account's value in the base currency, from a portfolio read (pure): its share of every
 * holding (`accounts[].marketValueBase`) plus its cash (`cashBase`). An account with a part that
 * could not be valued (no price, no rate) has none: a point short of a holding would read as a loss.
 */
export function accountValues(snapshot: Pick<PortfolioSnapshotBody, 'holdings' | 'accounts'>): Map<string, DecimalString | null> {
  const values = new Map<string, Decimal | null>();
  for (const account of snapshot.accounts) values.set(account.id, account.cashBase === null ? null : dec(account.cashBase));
  for (const holding of snapshot.holdings) {
    for (const share of holding.accounts) {
      const sofar = values.has(share.accountId) ? values.get(share.accountId)! : ZERO;
      values.set(share.accountId, sofar === null || share.marketValueBase === null ? null : add(sofar, dec(share.marketValueBase)));
    }
  }
  return new Map([...values].map(([id, value]) => [id, value === null ? null : str(value)]));
}
