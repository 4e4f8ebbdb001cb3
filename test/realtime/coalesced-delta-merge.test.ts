import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { applyRepricing, fullRepricingTuple, PreparedRepricing, repricingOf, repricingTuple, type HoldingRepricing, type HoldingView, type PortfolioTotals, type RepricingTuple } from '../../src/realtime/events.ts';
import { mergeChange, mergePending, toDelta, type PortfolioChange } from '../../src/realtime/pending-delta.ts';
import { deltaTextAfterSeq, holding, oneHoldingTotals } from './realtime-harness.ts';
import { RespWriter } from '../../src/runtime/resp-command.ts';
import { preparedRepricing, repricingView } from '../../actors/portfolio/portfolio-views.ts';
import { holdingPriceTextOf, SoleAccountPriceText, type HoldingPriceText } from '../../src/portfolio/reprice.ts';
import { formatScaled, parseScaled } from '../../src/portfolio/scaled-decimal.ts';

const scaledOrNull = (v: string | null) => (v === null ? null : parseScaled(v));

const T0 = '2026-06-02T14:30:00.000Z';
const totals = oneHoldingTotals;

/** A price move of the harness holding `id` (two accounts of 6 and 4 shares). */
function repricing(id: string, price: string): HoldingRepricing {
  const value = (Number(price) * 10).toFixed(2);
  return {
    id,
    price,
    priceAsOf: T0,
    marketValue: value,
    marketValueBase: value,
    unrealizedPl: (Number(value) - 1000).toFixed(2),
    dayChange: '1.50',
    unrealizedPlBase: (Number(value) - 1000).toFixed(2),
    dayChangeBase: '1.50',
    dayChangeMissing: null,
    accountValues: [(Number(price) * 6).toFixed(2), (Number(price) * 4).toFixed(2)],
    accountValuesBase: [(Number(price) * 6).toFixed(2), (Number(price) * 4).toFixed(2)],
  };
}

function mergeAll(changes: PortfolioChange[]) {
  let pending;
  for (const change of changes) pending = mergeChange(pending, change, T0);
  if (!pending) throw new Error('no changes');
  return pending;
}

describe('coalescing changes into one delta', () => {
  it('keeps the last value of each holding and the latest totals', () => {
    const pending = mergeAll([
      { totals: totals('1'), upserted: [holding('u', 'AAPL', '190'), holding('u', 'MSFT', '400')] },
      { totals: totals('2'), upserted: [holding('u', 'AAPL', '191')] },
      { totals: totals('3'), upserted: [holding('u', 'AAPL', '192')], asOf: '2026-06-02T14:30:01.000Z' },
    ]);
    const delta = toDelta(pending, 7);
    expect(delta.seq).toBe(7);
    expect(delta.totals.totalValue).toBe('3');
    expect(delta.asOf).toBe('2026-06-02T14:30:01.000Z');
    expect(delta.removed).toEqual([]);
    expect(delta.upserted.map((h) => [h.id, h.price])).toEqual([
      ['u/MSFT', '400'],
      ['u/AAPL', '192'],
    ]);
    expect(pending.changes).toBe(3);
  });

  it('price ticks travel as repricings; one after an upsert is folded into it, one after a removal is dropped', () => {
    const repricedOnly = toDelta(
      mergeAll([
        { totals: totals('1'), repriced: [repricing('u/AAPL', '190'), repricing('u/MSFT', '400')] },
        { totals: totals('2'), repriced: [repricing('u/AAPL', '191')] },
      ]),
      1,
    );
    expect(repricedOnly.upserted).toEqual([]);
    expect(repricedOnly.repriced.map((r) => [r[0], r[1]])).toEqual([
      ['u/MSFT', '400'],
      ['u/AAPL', '191'],
    ]);

    const folded = toDelta(
      mergeAll([
        { totals: totals('1'), upserted: [holding('u', 'AAPL', '190')] },
        { totals: totals('2'), repriced: [repricing('u/AAPL', '195')] },
        { totals: totals('0'), removed: ['u/MSFT'] },
        { totals: totals('0'), repriced: [repricing('u/MSFT', '401')] },
      ]),
      2,
    );
    expect(folded.repriced).toEqual([]);
    expect(folded.removed).toEqual(['u/MSFT']);
    expect(folded.upserted).toHaveLength(1);
    expect(folded.upserted[0]).toMatchObject({ id: 'u/AAPL', price: '195', marketValue: '1950.00', description: 'AAPL Inc.' });
    expect(folded.upserted[0]!.accounts.map((a) => [a.quantity, a.marketValue])).toEqual([
      ['6', '1170.00'],
      ['4', '780.00'],
    ]);

    // An upsert after a repricing replaces it.
    const replaced = toDelta(
      mergeAll([
        { totals: totals('1'), repriced: [repricing('u/AAPL', '190')] },
        { totals: totals('2'), upserted: [holding('u', 'AAPL', '200', '12')] },
      ]),
      3,
    );
    expect(replaced.repriced).toEqual([]);
    expect(replaced.upserted.map((h) => [h.price, h.quantity])).toEqual([['200', '12']]);
  });

  it('a change that reprices one holding twice (two of its tickers ticked) sends it once, at its last price', () => {
    const twice = mergeAll([{ totals: totals('1'), repriced: [repricing('u/AAPL', '190'), repricing('u/MSFT', '400'), repricing('u/AAPL', '191')] }]);
    const delta = toDelta(twice, 1);
    expect(delta.repriced.map((r) => [r[0], r[1]])).toEqual([
      ['u/MSFT', '400'],
      ['u/AAPL', '191'],
    ]);
    expect(deltaTextAfterSeq(twice)).toBe(JSON.stringify(delta).slice(`{"seq":1`.length));
  });

  it("a tick-only delta that could not be sent keeps its repricings under the next change's", () => {
    const failed = mergeAll([{ totals: totals('1'), repriced: [repricing('u/AAPL', '190'), repricing('u/MSFT', '400')] }]);
    const meanwhile = mergeAll([{ totals: totals('2'), repriced: [repricing('u/AAPL', '191')] }]);
    const merged = mergePending(failed, meanwhile);
    expect(toDelta(merged, 2).repriced.map((r) => [r[0], r[1]])).toEqual([
      ['u/MSFT', '400'],
      ['u/AAPL', '191'],
    ]);
    // The failed delta is unchanged by the merge (the coalescer may still hold it).
    expect(toDelta(failed, 1).repriced.map((r) => [r[0], r[1]])).toEqual([
      ['u/AAPL', '190'],
      ['u/MSFT', '400'],
    ]);
  });

  it('a removal after an upsert removes the holding; an upsert after a removal brings it back', () => {
    const removedLast = toDelta(
      mergeAll([
        { totals: totals('1'), upserted: [holding('u', 'AAPL', '190')] },
        { totals: totals('0'), removed: ['u/AAPL'] },
      ]),
      1,
    );
    expect(removedLast.upserted).toEqual([]);
    expect(removedLast.removed).toEqual(['u/AAPL']);

    const upsertedLast = toDelta(
      mergeAll([
        { totals: totals('0'), removed: ['u/AAPL'] },
        { totals: totals('1'), upserted: [holding('u', 'AAPL', '195')] },
      ]),
      2,
    );
    expect(upsertedLast.removed).toEqual([]);
    expect(upsertedLast.upserted.map((h) => h.price)).toEqual(['195']);
  });

  it('within one change a removal wins over an upsert of the same holding', () => {
    const delta = toDelta(
      mergeAll([{ totals: totals('0'), upserted: [holding('u', 'AAPL', '190')], removed: ['u/AAPL'] }]),
      1,
    );
    expect(delta.upserted).toEqual([]);
    expect(delta.removed).toEqual(['u/AAPL']);
  });

  it('a delta that could not be sent is merged under the changes that came meanwhile', () => {
    const failed = mergeAll([
      { totals: totals('1'), upserted: [holding('u', 'AAPL', '190'), holding('u', 'MSFT', '400')] },
    ]);
    const meanwhile = mergeAll([{ totals: totals('2'), upserted: [holding('u', 'AAPL', '191')], removed: ['u/TSLA'] }]);
    const delta = toDelta(mergePending(failed, meanwhile), 3);
    expect(delta.totals.totalValue).toBe('2');
    expect(Object.fromEntries(delta.upserted.map((h) => [h.id, h.price]))).toEqual({ 'u/AAPL': '191', 'u/MSFT': '400' });
    expect(delta.removed).toEqual(['u/TSLA']);
    expect(toDelta(mergePending(failed, undefined), 4).upserted).toHaveLength(2);
  });

  it('applying the coalesced delta gives the same portfolio as applying every change in turn', () => {
    const ids = ['A', 'B', 'C', 'D'];
    const changeArb: fc.Arbitrary<PortfolioChange> = fc.record({
      totals: fc.integer({ min: 0, max: 1000 }).map((n) => totals(String(n))),
      upserted: fc.array(
        fc.record({ id: fc.constantFrom(...ids), price: fc.integer({ min: 1, max: 500 }) }).map(({ id, price }) =>
          holding('u', id, String(price)),
        ),
        { maxLength: 3 },
      ),
      repriced: fc.array(
        // As objects, or prepared as the tick path pushes them (their wire text written).
        fc
          .record({ id: fc.constantFrom(...ids), price: fc.integer({ min: 1, max: 500 }), prepared: fc.boolean() })
          .map(({ id, price, prepared }) => (prepared ? PreparedRepricing.of(repricing(`u/${id}`, String(price))) : repricing(`u/${id}`, String(price)))),
        { maxLength: 3 },
      ),
      removed: fc.array(fc.constantFrom(...ids.map((id) => `u/${id}`)), { maxLength: 2 }),
    });
    const stateArb = fc.uniqueArray(fc.constantFrom(...ids), { maxLength: 4 }).map((present) =>
      present.map((id) => holding('u', id, '100')),
    );
    /** Applies a change as a client applies a delta: upserts, then repricings of held holdings, then removals. */
    const applyTo = (held: Map<string, HoldingView>, change: Pick<PortfolioChange, 'upserted' | 'repriced' | 'removed'>) => {
      for (const h of change.upserted ?? []) held.set(h.id, h);
      for (const r of change.repriced ?? []) {
        const current = held.get(r.id);
        if (current) held.set(r.id, applyRepricing(current, r instanceof PreparedRepricing ? r.repricing() : r)!);
      }
      for (const id of change.removed ?? []) held.delete(id);
    };
    fc.assert(
      fc.property(stateArb, fc.array(changeArb, { minLength: 1, maxLength: 20 }), (initial, generated) => {
        // An actor only reprices what it holds: drop the repricings of holdings absent at that point.
        const present = new Set(initial.map((h) => h.id));
        const changes = generated.map((change) => {
          const valid = { ...change, repriced: (change.repriced ?? []).filter((r) => present.has(r.id) || change.upserted?.some((h) => h.id === r.id)) };
          for (const h of change.upserted ?? []) present.add(h.id);
          for (const id of change.removed ?? []) present.delete(id);
          return valid;
        });
        const oneByOne = new Map<string, HoldingView>(initial.map((h) => [h.id, h]));
        let lastTotals: PortfolioTotals | undefined;
        for (const change of changes) {
          applyTo(oneByOne, change);
          lastTotals = change.totals;
        }
        const pending = mergeAll(changes);
        const delta = toDelta(pending, 1);
        // The text a sender writes is the delta's JSON, whatever form its repricings came in.
        expect(`{"seq":1${deltaTextAfterSeq(pending)}`).toBe(JSON.stringify(delta));
        const ids = [...delta.upserted.map((h) => h.id), ...delta.repriced.map((r) => r[0]), ...delta.removed];
        expect(new Set(ids).size).toBe(ids.length);
        const coalesced = new Map<string, HoldingView>(initial.map((h) => [h.id, h]));
        // As the client reads it: each repricing from its wire tuple.
        const received = { upserted: delta.upserted, repriced: delta.repriced.map((t) => repricingOf(t)!), removed: delta.removed };
        applyTo(coalesced, received);
        expect(coalesced).toEqual(oneByOne);
        expect(delta.totals).toEqual(lastTotals);
        // Deltas carry absolute values: applying it a second time changes nothing.
        applyTo(coalesced, received);
        expect(coalesced).toEqual(oneByOne);
      }),
      { numRuns: 300 },
    );
  });
});

describe('a repricing on the wire', () => {
  const text = fc.option(fc.constantFrom('0', '1.5', '-2.25', '1000', '1000.00', '33.3333'), { nil: null });
  // Fields drawn from few values, so that base and listing figures are often the same text.
  const repricingArb = fc
    .record({
      price: text,
      marketValue: text,
      marketValueBase: text,
      unrealizedPl: text,
      dayChange: text,
      unrealizedPlBase: text,
      dayChangeBase: text,
      dayChangeMissing: fc.constantFrom(null, 'no-previous-close' as const, 'no-fx-rate' as const),
      accountValues: fc.array(text, { minLength: 1, maxLength: 3 }),
      sameInBase: fc.boolean(),
      soleAccount: fc.boolean(),
      // Ids are the user's and the security's: JSON must escape some of what they can hold.
      id: fc.constantFrom('u/AAPL', 'u/"quoted"', 'u/back\\slash', 'u/é€', 'u/😀', 'u/tab\t', 'u/\u007f'),
    })
    .map(({ sameInBase, soleAccount, id, ...r }): HoldingRepricing => {
      const accountValues = soleAccount ? [r.marketValue] : r.accountValues;
      return {
        id,
        priceAsOf: T0,
        ...r,
        ...(sameInBase ? { marketValueBase: r.marketValue, unrealizedPlBase: r.unrealizedPl, dayChangeBase: r.dayChange } : {}),
        accountValues,
        accountValuesBase: sameInBase ? [...accountValues] : accountValues.map((v) => (v === null ? '1' : null)),
      };
    });

  it('is read back equal to the repricing, in the shortest of its three forms', () => {
    const lengths = new Set<number>();
    fc.assert(
      fc.property(repricingArb, (r) => {
        const tuple = repricingTuple(r);
        lengths.add(tuple.length);
        expect(repricingOf(tuple)).toEqual(r);
        // Through JSON, as Redis, the web node and the browser carry it.
        expect(repricingOf(JSON.parse(JSON.stringify(tuple)) as RepricingTuple)).toEqual(r);
        const sameInBase = r.marketValueBase === r.marketValue && r.unrealizedPlBase === r.unrealizedPl && r.dayChangeBase === r.dayChange && r.accountValuesBase.every((v, i) => v === r.accountValues[i]);
        const sole = r.accountValues.length === 1 && r.accountValues[0] === r.marketValue;
        expect(tuple.length).toBe(!sameInBase ? 12 : sole ? 7 : 8);
        // The full form is read back equal too (a worker of the previous release sends it).
        expect(repricingOf(fullRepricingTuple(r))).toEqual(r);
      }),
      { numRuns: 2_000 },
    );
    expect([...lengths].sort()).toEqual([12, 7, 8]);
  });

  it("prepared from a holding's price text (the tick path), is the text of that text's view", () => {
    const lengths = new Set<number>();
    let soleForms = 0;
    fc.assert(
      fc.property(repricingArb, (r) => {
        const text: HoldingPriceText = {
          identityKey: r.id,
          price: r.price,
          priceAsOf: r.priceAsOf,
          marketValue: r.marketValue,
          baseMarketValue: r.marketValueBase,
          unrealizedPnl: r.unrealizedPl,
          dayChange: r.dayChange,
          baseUnrealizedPnl: r.unrealizedPlBase,
          baseDayChange: r.dayChangeBase,
          dayChangeMissing: r.dayChangeMissing,
          accountMarketValues: r.accountValues,
          accountBaseMarketValues: r.accountValuesBase,
        };
        const prepared = preparedRepricing(text);
        const expected = repricingTuple(repricingView(text));
        lengths.add(expected.length);
        expect(prepared.id).toBe(r.id);
        expect(prepared.json).toBe(JSON.stringify(expected));
        // The same holding as the tick path prices it when it is the usual one (its own figures only).
        // Its figures are numbers, printed canonically: drawn texts such as "1000.00" cannot be one.
        const canonical = [r.marketValue, r.unrealizedPl, r.dayChange].every((v) => v === null || formatScaled(parseScaled(v)) === v);
        if (expected.length === 7 && r.price !== null && r.priceAsOf !== null && r.marketValue !== null && canonical) {
          const [value, pnl, day] = [parseScaled(r.marketValue), scaledOrNull(r.unrealizedPl), scaledOrNull(r.dayChange)];
          const own = new SoleAccountPriceText(r.id, r.price, r.priceAsOf, Number(value.n), value.s, pnl && Number(pnl.n), pnl?.s ?? 0, day && Number(day.n), day?.s ?? 0, r.dayChangeMissing);
          expect(holdingPriceTextOf(own)).toEqual(text);
          expect(preparedRepricing(own).json).toBe(prepared.json);
          // As the sender writes it: the figures' digits straight from their numbers.
          const out = new RespWriter(1);
          preparedRepricing(own).writeJson(out);
          expect(out.bytes().toString('utf8')).toBe(prepared.json);
          soleForms++;
        }
      }),
      { numRuns: 2_000 },
    );
    expect([...lengths].sort()).toEqual([12, 7, 8]);
    expect(soleForms).toBeGreaterThan(50);
  });

  it('of no known form is read as nothing, not as a wrong repricing', () => {
    for (const t of [[], ['u/AAPL'], ['u/AAPL', '1', T0, '1', '1', '1', null, [], 'extra'], new Array(11).fill(null)]) {
      expect(repricingOf(t as unknown as RepricingTuple)).toBeNull();
    }
  });
});
