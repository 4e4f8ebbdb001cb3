import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadDatedFx, storeFxRates } from '../../src/market/fx-rate-store.ts';
import { fxRateOn } from '../../src/portfolio/dated-fx.ts';
import { str } from '../../src/portfolio/decimal.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';

/*
 * The FX refresh's store: three refreshes, 2026-03-02 10:00 (USD -> CAD 1.25), 2026-03-02 23:00
 * (1.30, the same UTC day: it replaces the day's rate) and 2026-03-04 01:00 (1.40).
 *   fx_rates (the latest)   USD/CAD 1.40
 *   fx_rates_daily           03-02 1.30, 03-04 1.40
 *   read back: 03-01 none, 03-02 1.30, 03-03 1.30 (no refresh that day), 03-04 1.40
 */
describe("each day's FX rates are kept and read back by day", () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => {
    await db?.drop();
  });

  it("keeps a day's last rate beside the latest, and answers a day with the last on or before it", async () => {
    await storeFxRates(db.knex, [{ base: 'USD', quote: 'CAD', rate: '1.25' }], new Date('2026-03-02T10:00:00Z'));
    await storeFxRates(db.knex, [{ base: 'USD', quote: 'CAD', rate: '1.30' }], new Date('2026-03-02T23:00:00Z'));
    await storeFxRates(db.knex, [{ base: 'USD', quote: 'CAD', rate: '1.40' }], new Date('2026-03-04T01:00:00Z'));

    const latest = await db.knex('fx_rates').select('base', 'quote', db.knex.raw('rate::float AS rate'));
    expect(latest).toEqual([{ base: 'USD', quote: 'CAD', rate: 1.4 }]);
    const days = await db.knex('fx_rates_daily').orderBy('day').select(db.knex.raw(`to_char(day, 'YYYY-MM-DD') AS day`), db.knex.raw('rate::float AS rate'));
    expect(days).toEqual([
      { day: '2026-03-02', rate: 1.3 },
      { day: '2026-03-04', rate: 1.4 },
    ]);

    const dated = await loadDatedFx(db.knex, ['CAD']);
    const on = (day: string) => {
      const rate = fxRateOn(dated, 'USD', 'CAD', day).rate;
      return rate === null ? null : str(rate);
    };
    expect([on('2026-03-01'), on('2026-03-02'), on('2026-03-03'), on('2026-03-04')]).toEqual([null, '1.3', '1.3', '1.4']);
  });
});
