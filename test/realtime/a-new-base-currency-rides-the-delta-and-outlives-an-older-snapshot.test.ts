import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPortfolioStore } from '../../src/realtime/client/portfolio-store.ts';
import type { PortfolioDelta } from '../../src/realtime/events.ts';
import { mergeChange, mergePending, toDelta } from '../../src/realtime/pending-delta.ts';
import { connected, createRealtimeHarness, deltaTextAfterSeq, holding, totalsOf, uniqueUser, until, type RealtimeHarness, type WebNode, oneHoldingTotals } from './realtime-harness.ts';

/**
 * When a user changes their base currency, the actor's change carries the new base with every
 * holding and the totals in it. Coalesced with price moves before or after it, the delta still
 * carries the base (also when it is put back under newer changes after a failed send); a delta of
 * price moves alone carries none. In the browser's store the base comes from that delta, so a
 * snapshot built before the change (in the old base) that arrives after it cannot put the old base
 * back: it is older than the state and only replaces the lists.
 */
const T0 = '2026-06-02T14:30:00.000Z';
const T1 = '2026-06-02T14:30:00.050Z';
const T2 = '2026-06-02T14:30:00.090Z';
const totals = oneHoldingTotals;

let h: RealtimeHarness;
let node: WebNode;

beforeAll(async () => {
  h = await createRealtimeHarness();
  node = await h.startWebNode();
});
afterAll(async () => {
  await h.close();
});

describe('a new base currency', () => {
  it('rides the coalesced delta, whatever is merged around it', () => {
    const user = 'coalesce-base';
    const tick = mergeChange(undefined, { totals: totals('1900.00'), upserted: [holding(user, 'AAPL', '190.00')] }, T0);
    expect('baseCurrency' in toDelta(tick, 1)).toBe(false);

    const switched = mergeChange(tick, { totals: totals('2603.00'), upserted: [holding(user, 'AAPL', '260.30')], baseCurrency: 'CAD' }, T1);
    const later = mergeChange(switched, { totals: totals('2604.00'), upserted: [holding(user, 'AAPL', '260.40')] }, T2);
    expect(toDelta(later, 2)).toMatchObject({ seq: 2, baseCurrency: 'CAD', totals: totals('2604.00') });
    // The text a sender writes carries it too, where JSON.stringify puts it.
    expect(`{"seq":2${deltaTextAfterSeq(later)}`).toBe(JSON.stringify(toDelta(later, 2)));

    // A send that failed is put back under the changes that came meanwhile: the base stays.
    const meanwhile = mergeChange(undefined, { totals: totals('2605.00'), upserted: [holding(user, 'AAPL', '260.50')] }, T2);
    expect(toDelta(mergePending(switched, meanwhile), 3)).toMatchObject({ baseCurrency: 'CAD', totals: totals('2605.00') });
    // ... and a later base change wins over an earlier one.
    const back = mergeChange(undefined, { totals: totals('1901.00'), upserted: [holding(user, 'AAPL', '190.10')], baseCurrency: 'USD' }, T2);
    expect(toDelta(mergePending(switched, back), 4).baseCurrency).toBe('USD');
  });

  it("is the store's from its delta on, and an older snapshot in the old base does not take it back", async () => {
    const user = uniqueUser('store-base');
    const usd = [holding(user, 'AAPL', '190.00')];
    h.book.set(user, usd);
    const socket = h.connect(node, { token: await h.token(user) });
    try {
      const store = createPortfolioStore(socket);
      await connected(socket);
      await until(() => store.state !== null, 'the first snapshot');
      expect(store.state?.baseCurrency).toBe('USD');
      const before = store.state!.seq;

      // The change: every holding and the totals in CAD, with the base.
      const cad = [holding(user, 'AAPL', '260.30')];
      const delta: PortfolioDelta = { seq: await h.worker.sequence.next(user), asOf: T1, baseCurrency: 'CAD', totals: totalsOf(cad), upserted: cad, repriced: [], removed: [] };
      await h.worker.emitter.delta(user, delta);
      await until(() => store.state?.seq === delta.seq, 'the delta');
      expect(store.state).toMatchObject({ baseCurrency: 'CAD', totals: totalsOf(cad) });

      // A snapshot read before the change (seq and base from then) arrives after it.
      await h.worker.emitter.snapshot(user, { seq: before, asOf: T0, baseCurrency: 'USD', totals: totalsOf(usd), holdings: usd, accounts: [], connections: [] });
      await until(() => store.state?.accounts.length === 0, 'the older snapshot (its lists replace the model)');
      expect(store.state).toMatchObject({ seq: delta.seq, baseCurrency: 'CAD', totals: totalsOf(cad) });
    } finally {
      socket.disconnect();
    }
  });
});
