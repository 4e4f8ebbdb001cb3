import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { aggregateHoldings } from '../../src/portfolio/aggregate-holdings.ts';
import { createFxTable } from '../../src/portfolio/currency.ts';
import { dec, str } from '../../src/portfolio/decimal.ts';
import { computeHolding, quotesFor } from '../../src/portfolio/holding.ts';
import { entryFor, holdingPriceText, holdingPriceTextOf, LiveTotals, priceEntry, RepriceCache, settleHolding, SoleAccountPriceText } from '../../src/portfolio/reprice.ts';
import { addScaled, formatScaled, mulScaled, parseScaled, SAFE_PARTS_MAX_BYTES, ScaledSum, subScaled, writeSafeParts } from '../../src/portfolio/scaled-decimal.ts';
import { applyLiveQuote, applyLiveQuoteAt, liveSlot, liveTotals, priceQuote, quoteAt, settlePrices, valuePortfolio, type LiveSlot } from '../../src/portfolio/valuation.ts';
import { accountsArb, baseCurrencyArb, fxArb, PRICE_KEYS, pricesArb } from './portfolio-arbitraries.ts';
import { normalizeAlpacaPositions } from '../../src/portfolio/normalize-alpaca.ts';
import { alpacaPosition, projection } from './provider-payloads.ts';

const decimalText = fc
  .tuple(fc.bigInt({ min: -(10n ** 30n), max: 10n ** 30n }), fc.integer({ min: 0, max: 24 }))
  .map(([n, s]) => str(dec(`${n}e-${s}`)));

describe('scaled-integer decimals', () => {
  it('print what big.js prints for the same sum, difference and product', () => {
    fc.assert(
      fc.property(decimalText, decimalText, (a, b) => {
        const x = parseScaled(a);
        const y = parseScaled(b);
        expect(formatScaled(x)).toBe(a);
        expect(formatScaled(addScaled(x, y))).toBe(str(dec(a).plus(b)));
        expect(formatScaled(subScaled(x, y))).toBe(str(dec(a).minus(b)));
        expect(formatScaled(mulScaled(x, y))).toBe(str(dec(a).times(b)));
      }),
      { numRuns: 2_000 },
    );
  });

  const safeInteger = fc.oneof(fc.maxSafeInteger(), fc.integer({ min: -1_000_000, max: 1_000_000 }), fc.constantFrom(Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER, 10 ** 15, -(10 ** 15)));

  it('print any safe integer at any scale as big.js does, the largest ones and scales past 10^22 included', () => {
    fc.assert(
      fc.property(safeInteger, fc.integer({ min: 0, max: 26 }), (n, s) => {
        expect(formatScaled({ n, s })).toBe(str(dec(`${n}e-${s}`)));
      }),
      { numRuns: 5_000 },
    );
  });

  it('write as bytes the very text they print, at any offset and in at most the bytes promised', () => {
    const into = new Uint8Array(SAFE_PARTS_MAX_BYTES + 8);
    fc.assert(
      fc.property(safeInteger, fc.integer({ min: 0, max: 22 }), fc.nat(8), (n, s, at) => {
        into.fill(0xff);
        const end = writeSafeParts(into, at, n, s);
        expect(end - at).toBeLessThanOrEqual(SAFE_PARTS_MAX_BYTES);
        expect(Buffer.from(into.subarray(at, end)).toString('latin1')).toBe(formatScaled({ n, s }));
        // Nothing written around them.
        expect(into.subarray(0, at).every((b) => b === 0xff) && into.subarray(end).every((b) => b === 0xff)).toBe(true);
      }),
      { numRuns: 5_000 },
    );
  });

  it('stay exact across 2^53, where doubles stop being exact and BigInt takes over', () => {
    // Digits within 2^20 of ±2^53 (sums cross it), and near 2^26.5 (products cross it).
    const near = (centre: bigint, spread: bigint) =>
      fc
        .tuple(fc.bigInt({ min: centre - spread, max: centre + spread }), fc.boolean(), fc.integer({ min: 0, max: 8 }))
        .map(([n, negative, s]) => str(dec(`${negative ? -n : n}e-${s}`)));
    const text = fc.oneof(near(2n ** 53n, 2n ** 20n), near(94_906_266n, 2_000_000n), decimalText);
    fc.assert(
      fc.property(text, text, text, (a, b, c) => {
        const [x, y, z] = [parseScaled(a), parseScaled(b), parseScaled(c)];
        expect(formatScaled(x)).toBe(a);
        expect(formatScaled(addScaled(x, y))).toBe(str(dec(a).plus(b)));
        expect(formatScaled(subScaled(x, y))).toBe(str(dec(a).minus(b)));
        expect(formatScaled(mulScaled(x, y))).toBe(str(dec(a).times(b)));
        const sum = new ScaledSum(x);
        sum.move(y.n, y.s, z.n, z.s);
        expect(formatScaled(sum)).toBe(str(dec(a).plus(dec(b).minus(c))));
        // Moved again, in place, from wherever the first move left it (number or BigInt, any scale).
        sum.move(z.n, z.s, x.n, x.s);
        expect(formatScaled(sum)).toBe(str(dec(a).plus(dec(b).minus(c)).plus(dec(c).minus(a))));
        // Results fed back in (a BigInt result that shrinks again, a number that grows past 2^53).
        expect(formatScaled(mulScaled(addScaled(x, y), z))).toBe(str(dec(a).plus(b).times(c)));
        expect(formatScaled(subScaled(mulScaled(x, y), mulScaled(x, y)))).toBe('0');
      }),
      { numRuns: 3_000 },
    );
  });

  it('refuse text that is not a canonical decimal', () => {
    for (const text of ['', '-', '1.', '.5', '1e3', 'abc', '1.2.3']) expect(() => parseScaled(text)).toThrow(RangeError);
  });
});

const liveTickArb = fc.record({
  key: fc.constantFrom(...PRICE_KEYS),
  price: fc.constantFrom('0.01', '1', '105.4', '227.51', '1.3725', '99999.9999', '0', '42.000001'),
  previousClose: fc.option(fc.constantFrom('100', '227.5', '1'), { nil: undefined }),
  settle: fc.boolean(),
  /** Made as the market-data path makes it (`quoteAt`: a `TickQuote` with its numbers), not by `priceQuote`. */
  fromTick: fc.boolean(),
  /** Applied through the key's live slot (as the worker does), not through the portfolio's maps. */
  viaSlot: fc.boolean(),
});

describe('live price ticks (each newer than every other price of its security)', () => {
  it('move numbers on the fast path, and after 1,000 of them the portfolio equals a full recomputation', () => {
    let fastTicks = 0;
    let slotTicks = 0;
    // Ticks priced as the usual holding's own figures (`SoleAccountPriceText`), and with every figure.
    let soleTicks = 0;
    let fullTicks = 0;
    fc.assert(
      fc.property(accountsArb, pricesArb, fxArb, baseCurrencyArb, fc.array(liveTickArb, { minLength: 1000, maxLength: 1000 }), (accounts, prices, fx, base, ticks) => {
        const context = { baseCurrency: base, fx };
        const lazy = aggregateHoldings(accounts, { baseCurrency: base, fx, prices: new Map(prices) });
        // The oracle: every holding a tick reaches is recomputed with computeHolding.
        const oracle = aggregateHoldings(accounts, { baseCurrency: base, fx, prices: new Map(prices) });
        // One slot per key for the portfolio's life, found on its first tick through a slot.
        const slots = new Map<string, LiveSlot | null>();
        let at = Date.parse('2026-06-02T16:00:00.000Z');
        for (const { key, settle, fromTick, viaSlot, ...tick } of ticks) {
          at += 250;
          const quote = fromTick
            ? quoteAt(Number(tick.price), at, tick.previousClose === undefined ? undefined : Number(tick.previousClose))
            : priceQuote({ ...tick, asOf: new Date(at).toISOString() });
          const holdingKey = lazy.keyByFacet.get(key) ?? key;
          const before = lazy.holdings.get(holdingKey);
          let text;
          if (viaSlot) {
            if (!slots.has(key)) slots.set(key, liveSlot(lazy, key));
            const slot = slots.get(key)!;
            // A key no holding has gets no slot; its quote is stored as applyLiveQuote stores it.
            text = slot === null ? applyLiveQuote(lazy, key, quote) : applyLiveQuoteAt(slot, quote);
            if (slot !== null) slotTicks++;
          } else {
            text = applyLiveQuote(lazy, key, quote);
          }

          oracle.prices.set(key, quote);
          const previous = oracle.holdings.get(holdingKey);
          if (previous) {
            const next = computeHolding(previous.security, previous.facets, previous.accounts, quotesFor(previous.facets, oracle.prices), context);
            oracle.holdings.set(holdingKey, next);
            if (text instanceof SoleAccountPriceText) soleTicks++;
            else if (text !== null) fullTicks++;
            expect(text && holdingPriceTextOf(text)).toEqual(holdingPriceText(next));
            // The fast path leaves the holding object as it was until settled.
            if (lazy.holdings.get(holdingKey) === before) fastTicks++;
          } else {
            expect(text).toBeNull();
          }
          expect(liveTotals(lazy)).toEqual(valuePortfolio(oracle));
          if (settle) {
            settlePrices(lazy);
            expect(lazy.holdings).toEqual(oracle.holdings);
            expect(lazy.totals).toEqual(valuePortfolio(oracle));
          }
        }
        settlePrices(lazy);
        expect(lazy.totals).toEqual(valuePortfolio(lazy));
        const full = aggregateHoldings(lazy.accounts, { baseCurrency: base, fx, prices: lazy.prices });
        expect(projection(lazy)).toEqual(projection(full));
      }),
      { numRuns: 25, endOnFailure: true },
    );
    expect(fastTicks).toBeGreaterThan(1_000);
    expect(slotTicks).toBeGreaterThan(1_000);
    expect(soleTicks).toBeGreaterThan(100);
    expect(fullTicks).toBeGreaterThan(100);
  });

  it('reach through a live slot the holding a full recomputation left, not the one it was found with', () => {
    const positions = normalizeAlpacaPositions([
      alpacaPosition({ symbol: 'AAPL', qty: '20', avg_entry_price: '180', current_price: '202', lastday_price: '198', exchange: 'NASDAQ' }),
    ]);
    const state = aggregateHoldings(new Map([['alpaca', { institution: 'Alpaca', currency: 'USD', asOf: '2026-06-02T15:00:00Z', positions }]]), { baseCurrency: 'USD', fx: createFxTable([]) });
    const key = 'listing:AAPL@XNAS:USD';
    const slot = liveSlot(state, key)!;
    expect(applyLiveQuoteAt(slot, priceQuote({ price: '205', asOf: '2026-06-02T15:01:00Z' }))).toMatchObject({ marketValue: '4100' });
    // A newer quote in another currency does not win outright: the holding is recomputed.
    const slow = applyLiveQuote(state, key, priceQuote({ price: '210', asOf: '2026-06-02T15:01:30Z', currency: 'CAD' }));
    const recomputed = state.holdings.get(key)!;
    expect(slow).toEqual(holdingPriceText(recomputed));
    expect(applyLiveQuoteAt(slot, priceQuote({ price: '206', asOf: '2026-06-02T15:02:00Z' }))).toMatchObject({ price: '206', marketValue: '4120', dayChange: '160' });
    settlePrices(state);
    expect(state.holdings.get(key)).not.toBe(recomputed);
    expect(state.holdings.get(key)).toMatchObject({ price: '206', marketValue: '4120', unrealizedPnl: '520' });
    expect(state.totals).toEqual(valuePortfolio(state));
    expect(liveSlot(state, 'listing:MSFT@XNAS:USD')).toBeNull();
  });

  it("keep one text per usual holding, moved to each tick's figures, while a copy keeps the tick it was taken at", () => {
    const positions = normalizeAlpacaPositions([
      alpacaPosition({ symbol: 'AAPL', qty: '20', avg_entry_price: '180', current_price: '202', lastday_price: '198', exchange: 'NASDAQ' }),
    ]);
    const state = aggregateHoldings(new Map([['alpaca', { institution: 'Alpaca', currency: 'USD', asOf: '2026-06-02T15:00:00Z', positions }]]), { baseCurrency: 'USD', fx: createFxTable([]) });
    const slot = liveSlot(state, 'listing:AAPL@XNAS:USD')!;
    const first = applyLiveQuoteAt(slot, priceQuote({ price: '205', asOf: '2026-06-02T15:01:00Z' }));
    expect(first).toBeInstanceOf(SoleAccountPriceText);
    const copy = holdingPriceTextOf(first!);
    const second = applyLiveQuoteAt(slot, priceQuote({ price: '206', asOf: '2026-06-02T15:02:00Z' }));
    expect(second).toBe(first);
    expect(holdingPriceTextOf(second!)).toMatchObject({ price: '206', priceAsOf: '2026-06-02T15:02:00.000Z', marketValue: '4120', dayChange: '160' });
    expect(copy).toMatchObject({ price: '205', priceAsOf: '2026-06-02T15:01:00.000Z', marketValue: '4100', dayChange: '140' });
  });

  it('leave a quote that is not newer than every other price, or is in another currency, to the full computation', () => {
    const positions = normalizeAlpacaPositions([
      alpacaPosition({ symbol: 'AAPL', qty: '20', avg_entry_price: '180', current_price: '202', lastday_price: '198', exchange: 'NASDAQ' }),
    ]);
    const state = aggregateHoldings(new Map([['alpaca', { institution: 'Alpaca', currency: 'USD', asOf: '2026-06-02T15:00:00Z', positions }]]), {
      baseCurrency: 'CAD',
      fx: createFxTable([{ from: 'USD', to: 'CAD', rate: '1.25' }]),
    });
    const key = 'listing:AAPL@XNAS:USD';
    const aapl = state.holdings.get(key)!;
    const context = { baseCurrency: state.baseCurrency, fx: state.fx };
    const at = (asOf: string, extra: object = {}) => priceQuote({ price: '205', asOf, ...extra });
    // Same time as the reported price: the tie rule decides, not the fast path.
    const priceLive = (cache: RepriceCache, quote: ReturnType<typeof at>) => priceEntry(entryFor(cache, key, aapl, context), key, quote, state.prices, new LiveTotals(state.totals));
    expect(priceLive(new RepriceCache(), at('2026-06-02T15:00:00Z'))).toBeNull();
    expect(priceLive(new RepriceCache(), at('2026-06-02T15:01:00Z', { currency: 'CAD' }))).toBeNull();
    const cache = new RepriceCache();
    const live = priceLive(cache, at('2026-06-02T15:01:00Z'));
    // A tick without a previous close keeps the reported one: 20 x (205 - 198) = 140 USD = 175 CAD.
    expect(live).toMatchObject({ price: '205', dayChange: '140', baseMarketValue: '5125' });
    expect(settleHolding(cache, key)).toMatchObject({ price: '205', previousClose: '198', dayChange: '140', base: { dayChange: '175', marketValue: '5125' } });
  });
});
