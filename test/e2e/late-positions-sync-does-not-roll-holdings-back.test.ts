import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENVELOPE_SCHEMA_VERSION } from '../../streams/envelope.ts';
import { streamKeys } from '../../streams/keys.ts';
import { partitionOf } from '../../streams/partition.ts';
import { createStreamProducer } from '../../streams/producer.ts';
import { startTestEngine, type TestEngine } from '../support/engine.ts';
import { positionsSynced, snaptradeUnits, userStream } from '../support/user-stream.ts';

/**
 * A sync's answer can reach the user's stream after a newer one (a slow job, a retried append, a
 * second worker): the actor keeps the newer holdings. The late answer here is the brokerage's
 * real earlier answer, taken from the stream, appended again after the newer one was applied.
 */
const USER = 'e2e-late-positions-user';
let engine: TestEngine;

beforeAll(async () => {
  engine = await startTestEngine();
});
afterAll(async () => {
  await engine?.stop();
});

interface PortfolioBody {
  holdings: { symbol: string; quantity: string; positionsAsOf: string | null; accounts: { accountId: string; quantity: string }[] }[];
}

async function holdingsOf(): Promise<Record<string, string>> {
  const { body } = await engine.api<PortfolioBody>(USER, 'GET', '/api/portfolio');
  return Object.fromEntries(body.holdings.map((h) => [h.symbol, h.quantity]));
}

describe('a positions.synced older than the applied one', () => {
  it('is ignored: holdings, positions and positionsAsOf stay at the newer answer', async () => {
    const control = engine.sandbox.control;
    expect((await engine.api(USER, 'POST', '/api/snaptrade/connection-url', {})).status).toBe(200);
    const auth = await control.connect(USER, {
      brokerage: 'QUESTRADE',
      accounts: [{ name: 'Margin', currency: 'USD', positions: [{ symbol: 'AAPL', units: 10 }, { symbol: 'MSFT', units: 4 }] }],
    });
    const accountId = auth.accounts[0]!.id;

    // The first answer, as the brokerage gave it: AAPL 10, MSFT 4.
    await engine.applied(USER, (e) => positionsSynced(e)?.accountId === accountId);
    const early = (await userStream(engine, USER)).map((x) => positionsSynced(x.envelope)).find((p) => p?.accountId === accountId)!;
    expect(snaptradeUnits(early)).toEqual({ AAPL: 10, MSFT: 4 });

    // The brokerage moves on (its holdings-updated webhook makes the engine sync): AAPL 25, no MSFT.
    await control.setPositions(accountId, { positions: [{ symbol: 'AAPL', units: 25 }], notify: true });
    await engine.applied(USER, (e) => {
      const p = positionsSynced(e);
      return p?.accountId === accountId && snaptradeUnits(p).AAPL === 25;
    });
    expect(await holdingsOf()).toEqual({ AAPL: '25' });
    const before = await engine.db.knex('accounts').where({ external_id: accountId }).first('id', 'positions_as_of');
    const newerAsOf = (before.positions_as_of as Date).toISOString();
    expect(Date.parse(newerAsOf)).toBeGreaterThan(Date.parse(early.asOf));

    // The early answer arrives late, on the path a sync job's append takes.
    const lateId = randomUUID();
    const producer = createStreamProducer(engine.redis.client, streamKeys(engine.namespace));
    const lateStreamId = await producer.append({
      id: lateId,
      type: 'positions.synced',
      user: USER,
      partition: partitionOf(USER, engine.config.PARTITION_COUNT),
      time: new Date().toISOString(),
      schema: ENVELOPE_SCHEMA_VERSION,
      payload: { ...early, fetchedAt: new Date().toISOString(), reason: 'late-answer' },
    });
    expect(await engine.applied(USER, (e) => e.id === lateId)).toBe(lateStreamId);

    // Applied (the checkpoint passed it), and nothing rolled back.
    expect(await holdingsOf()).toEqual({ AAPL: '25' });
    const positions = await engine.db
      .knex('account_positions as p')
      .join('securities as s', 's.id', 'p.security_id')
      .where({ 'p.account_id': before.id })
      .select('s.ticker', 'p.quantity');
    expect(positions.map((p) => [p.ticker, Number(p.quantity)])).toEqual([['AAPL', 25]]);
    const after = await engine.db.knex('accounts').where({ id: before.id }).first('positions_as_of');
    expect((after.positions_as_of as Date).toISOString()).toBe(newerAsOf);
  });
});
