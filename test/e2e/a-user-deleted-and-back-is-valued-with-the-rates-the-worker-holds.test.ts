import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startTestEngine, type TestEngine } from '../support/engine.ts';

/**
 * A user who deletes themselves (`DELETE /api/me`) and comes back while their actor is still in
 * memory is valued with the exchange rates the worker holds. The deletion used to leave the actor
 * with no rates at all, so until the next new rates (up to an hour) a CAD holding of the user who
 * came back had no value in their USD base and the totals left it out: what a second `npm run demo`
 * showed.
 */
let engine: TestEngine;

beforeAll(async () => {
  engine = await startTestEngine();
});
afterAll(async () => {
  await engine?.stop();
});

describe('a user deleted and back', () => {
  it('has their CAD holding valued in their USD base again, with the rates the worker holds', async () => {
    const user = `e2e-fx-back-${randomUUID().slice(0, 8)}`;
    const db = engine.db.knex;
    await eventually(async () => (await db('fx_rates').where({ base: 'USD', quote: 'CAD' }).orWhere({ base: 'CAD', quote: 'USD' }).first()) ?? undefined, 60_000, 'a USD/CAD rate stored');
    const connectCad = async () => {
      expect((await engine.api(user, 'POST', '/api/snaptrade/connection-url', {})).status).toBe(200);
      await engine.sandbox.control.connect(user, {
        brokerage: 'QUESTRADE',
        accounts: [{ name: 'TFSA', currency: 'CAD', cash: { CAD: 1000 }, positions: [{ symbol: 'SHOP.TO', units: 10, averageCost: 90 }] }],
      });
    };
    const cadHolding = () =>
      eventually(
        async () => {
          const row = (await db('holdings').where({ user_id: user }).first('market_value', 'market_value_base', 'base_currency')) as
            | { market_value: string | null; market_value_base: string | null; base_currency: string }
            | undefined;
          return row?.market_value ? row : undefined;
        },
        60_000,
        "the CAD holding's value",
      );

    await connectCad();
    const before = await cadHolding();
    expect(before.base_currency).toBe('USD');
    expect(before.market_value_base).not.toBeNull();

    expect((await engine.api(user, 'DELETE', '/api/me')).status).toBe(200);
    await eventually(async () => ((await db('users').where({ id: user }).first()) ? undefined : true), 30_000, 'the user deleted');

    await connectCad();
    const back = await cadHolding();
    expect(back.base_currency).toBe('USD');
    expect(back.market_value_base, 'the CAD holding of the user who came back has a USD value').not.toBeNull();
    // The same holding at the same rate: its value in USD is its value in CAD times that rate.
    expect(Number(back.market_value_base) / Number(back.market_value)).toBeCloseTo(Number(before.market_value_base) / Number(before.market_value), 6);
  });
});
