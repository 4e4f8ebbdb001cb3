import { describe, expect, it } from 'vitest';
import { createPriceBook } from '../../sandbox/market/price-book.ts';
import type { SandboxTick } from '../../sandbox/market/price-book.types.ts';
import { figiCheckDigit } from '../../sandbox/market/seeded-random.ts';

const DEFAULT_COUNT = createPriceBook({ seed: 0 }).securities().length;
const fixedClock = () => new Date('2025-01-02T15:00:00.000Z');

function walk(seed: number, steps: number): SandboxTick[] {
  const book = createPriceBook({ seed, now: fixedClock });
  const ticks: SandboxTick[] = [];
  book.onTick((tick) => ticks.push(tick));
  for (let i = 0; i < steps; i++) book.step();
  book.close();
  return ticks;
}

describe('price book', () => {
  it('gives the same ids and the same walk for the same seed', () => {
    const a = createPriceBook({ seed: 7 });
    const b = createPriceBook({ seed: 7 });
    expect(a.securities()).toEqual(b.securities());
    expect(walk(7, 25)).toEqual(walk(7, 25));
    a.close();
    b.close();
  });

  it('gives different ids and a different walk for a different seed', () => {
    const a = createPriceBook({ seed: 1 });
    const b = createPriceBook({ seed: 2 });
    expect(a.security('AAPL')!.snaptradeId).not.toBe(b.security('AAPL')!.snaptradeId);
    expect(a.security('AAPL')!.figi).not.toBe(b.security('AAPL')!.figi);
    const pricesA = walk(1, 10).map((t) => t.price);
    const pricesB = walk(2, 10).map((t) => t.price);
    expect(pricesA).not.toEqual(pricesB);
  });

  it('lists a realistic default universe: US stocks and ETFs, TSX listings in CAD, one money-market fund', () => {
    const book = createPriceBook({ seed: 3 });
    const all = book.securities();
    expect(all.length).toBeGreaterThanOrEqual(35);
    expect(book.security('AAPL')).toMatchObject({ exchangeMic: 'XNAS', currency: 'USD', typeCode: 'cs' });
    expect(book.security('SPY')).toMatchObject({ exchangeMic: 'ARCX', typeCode: 'et' });
    expect(book.security('JPM')).toMatchObject({ exchangeMic: 'XNYS' });
    expect(book.security('SHOP.TO')).toMatchObject({ exchangeMic: 'XTSE', currency: 'CAD' });
    expect(book.security('RY.TO')).toMatchObject({ exchangeMic: 'XTSE', currency: 'CAD' });
    const cash = all.filter((s) => s.cashEquivalent);
    expect(cash).toHaveLength(1);
    // Ids are unique per listing and well formed.
    const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
    expect(new Set(all.map((s) => s.snaptradeId)).size).toBe(all.length);
    expect(new Set(all.map((s) => s.alpacaAssetId)).size).toBe(all.length);
    expect(new Set(all.map((s) => s.figi)).size).toBe(all.length);
    for (const s of all) {
      expect(s.snaptradeId).toMatch(uuid);
      expect(s.alpacaAssetId).toMatch(uuid);
      expect(s.snaptradeId).not.toBe(s.alpacaAssetId);
      expect(s.figi).toMatch(/^BBG[0-9BCDFGHJKLMNPQRSTVWXYZ]{8}[0-9]$/);
      expect(Number(s.figi[11])).toBe(figiCheckDigit(s.figi.slice(0, 11)));
      expect(book.securityById(s.snaptradeId)).toBe(s);
    }
    book.close();
  });

  it('computes the FIGI check digit of real FIGIs', () => {
    expect(figiCheckDigit('BBG000BLNNH')).toBe(6); // IBM
    expect(figiCheckDigit('BBG000B9XRY')).toBe(4); // AAPL
  });

  it("walks one symbol the same way whichever other symbols are stepped", () => {
    const a = createPriceBook({ seed: 11 });
    const b = createPriceBook({ seed: 11 });
    for (let i = 0; i < 5; i++) {
      a.step(['AAPL']);
      b.step();
    }
    expect(a.quote('AAPL')!.price).toBe(b.quote('AAPL')!.price);
    expect(a.quote('MSFT')!.price).not.toBe(b.quote('MSFT')!.price);
    a.close();
    b.close();
  });

  it('keeps the money-market fund at 1.00 while stocks move', () => {
    const book = createPriceBook({ seed: 5 });
    const start = book.quote('NVDA')!.price;
    for (let i = 0; i < 20; i++) book.step();
    expect(book.quote('SWVXX')!.price).toBe(1);
    expect(book.quote('NVDA')!.price).not.toBe(start);
    book.close();
  });

  it('reports a previous close near the opening price and rounds prices to cents', () => {
    const book = createPriceBook({ seed: 9 });
    for (const s of book.securities()) {
      const q = book.quote(s.symbol)!;
      expect(Math.abs(q.previousClose / q.price - 1)).toBeLessThan(0.06);
    }
    for (let i = 0; i < 10; i++) book.step();
    const p = book.quote('TSLA')!.price;
    expect(Math.round(p * 100) / 100).toBe(p);
    book.close();
  });

  it('setPrice moves the quote and emits one tick with a monotonic id', () => {
    const book = createPriceBook({ seed: 4 });
    const ticks: SandboxTick[] = [];
    const off = book.onTick((t) => ticks.push(t));
    book.setPrice('AAPL', 250.25);
    book.setPrice('MSFT', 400);
    expect(book.quote('AAPL')!.price).toBe(250.25);
    expect(ticks.map((t) => [t.symbol, t.price, t.exchange])).toEqual([
      ['AAPL', 250.25, 'Q'],
      ['MSFT', 400, 'Q'],
    ]);
    expect(ticks[1]!.id).toBe(ticks[0]!.id + 1);
    off();
    book.setPrice('AAPL', 251);
    expect(ticks).toHaveLength(2);
    expect(() => book.setPrice('NOPE', 1)).toThrow(/unknown symbol/);
    expect(() => book.setPrice('AAPL', -1)).toThrow(/positive/);
    book.close();
  });

  it('registers a new security with seeded ids and the given fields', () => {
    const a = createPriceBook({ seed: 12, universe: [{ symbol: 'ABC', price: 10 }] });
    const b = createPriceBook({ seed: 12, universe: [] });
    expect(a.securities().map((s) => s.symbol)).toEqual(['ABC']);
    const added = b.addSecurity({ symbol: 'ABC', price: 10 });
    expect(added).toEqual(a.security('ABC'));
    const cad = b.addSecurity({ symbol: 'XYZ.TO', price: 20, description: 'XYZ Corp' });
    expect(cad).toMatchObject({ exchangeMic: 'XTSE', currency: 'CAD', description: 'XYZ Corp' });
    expect(() => b.addSecurity({ symbol: 'ABC', price: 3 })).toThrow(/already listed/);
    a.close();
    b.close();
  });

  it('scales to thousands of synthetic symbols', () => {
    const book = createPriceBook({ seed: 1, syntheticCount: 5000 });
    expect(book.securities()).toHaveLength(DEFAULT_COUNT + 5000);
    expect(book.security('SYN05000')).toMatchObject({ currency: 'USD' });
    let count = 0;
    book.onTick(() => count++);
    book.step();
    expect(count).toBe(DEFAULT_COUNT + 5000);
    book.close();
  });

  it('walks automatically at the tick rate with a timer, and stops at rate 0', async () => {
    const book = createPriceBook({ seed: 2, universe: [{ symbol: 'AAPL', price: 200 }], tickRateHz: 50 });
    const ticks: SandboxTick[] = [];
    book.onTick((t) => ticks.push(t));
    await new Promise((r) => setTimeout(r, 300));
    expect(ticks.length).toBeGreaterThanOrEqual(5);
    expect(ticks.length).toBeLessThanOrEqual(25);
    book.setTickRate(0);
    const stopped = ticks.length;
    await new Promise((r) => setTimeout(r, 100));
    expect(ticks.length).toBe(stopped);
    book.close();
  });
});
