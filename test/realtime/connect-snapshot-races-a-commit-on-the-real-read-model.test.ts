import { randomUUID } from 'node:crypto';
import { io as connectClient } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPortfolioStore } from '../../src/realtime/client/portfolio-store.ts';
import type { PortfolioDelta, PortfolioSnapshot, PortfolioSnapshotBody } from '../../src/realtime/events.ts';
import { ENVELOPE_SCHEMA_VERSION, type Envelope } from '../../streams/envelope.ts';
import { streamKeys } from '../../streams/keys.ts';
import { partitionOf } from '../../streams/partition.ts';
import { createStreamProducer } from '../../streams/producer.ts';
import { AAPL, snapBalance, snapPosition, snapPositionsBody, type SnapInstrument } from '../portfolio/provider-payloads.ts';
import { eventually, startTestEngine, type TestEngine } from '../support/engine.ts';
import { connected, until, type ClientSocket } from './realtime-harness.ts';

/**
 * The connect snapshot on the engine's own gateway and read model (`readPortfolio`, as the web
 * role passes it to `attachRealtimeGateway`), with rows written by the real portfolio actor.
 *
 * The race: the gateway reads the user's delta seq, then builds the snapshot from Postgres. A
 * sync result committed in between (after the snapshot read the positions) is not in the
 * snapshot, and its delta is numbered after the seq the snapshot carries: the browser must apply
 * it on top of the snapshot, once. The build is held at its last query (the FX rates, which the
 * actor's commit does not touch) by a lock this test takes, so the commit lands there every time.
 */
const USER = 'rt-race-user';
const MSFT: SnapInstrument = { id: '4b0f7e0c-0d55-4b4f-9a43-7f4f0f7f2c11', symbol: 'MSFT', currency: 'USD', exchange: 'XNAS', figi: 'BBG000BPH459', description: 'Microsoft Corporation' };
const TSLA: SnapInstrument = { id: '0a9b8c7d-6e5f-4a3b-8c1d-2e3f4a5b6c77', symbol: 'TSLA', currency: 'USD', exchange: 'XNAS', figi: 'BBG000N9MNX3', description: 'Tesla, Inc.' };
const SHOP: SnapInstrument = { id: 'c7d1a9e4-2f3b-4a5c-9e8d-1b2c3d4e5f33', symbol: 'SHOP', currency: 'CAD', exchange: 'XTSE', figi: 'BBG008HBD923', description: 'Shopify Inc.' };

let engine: TestEngine;

beforeAll(async () => {
  // No market role: no price ticks, so the only change in flight is the one this test makes.
  engine = await startTestEngine({ env: { ROLES: 'web,worker' } });
});
afterAll(async () => {
  await engine?.stop();
});

const margin = randomUUID();
const tfsa = randomUUID();
const authorization = randomUUID();

function envelope(type: Envelope['type'], payload: unknown): Envelope {
  return { id: randomUUID(), type, user: USER, partition: partitionOf(USER, engine.config.PARTITION_COUNT), time: new Date().toISOString(), schema: ENVELOPE_SCHEMA_VERSION, payload };
}

function positionsSynced(accountId: string, asOf: string, positions: Record<string, unknown>[], balances: Record<string, unknown>[]): Envelope {
  return envelope('positions.synced', { provider: 'snaptrade', accountId, positions: snapPositionsBody(asOf, positions), balances, asOf, fetchedAt: asOf, reason: 'holdings-updated' });
}

const at = (instrument: SnapInstrument, units: number, price: number, cost: number) => ({ ...snapPosition(instrument, { units: null }), units, price, cost_basis: cost });

type PortfolioResponse = PortfolioSnapshotBody & { completeness: unknown };

describe('the connect snapshot, built by the real read model, and a commit made while it is built', () => {
  it('the delta is neither lost nor applied twice: the browser ends equal to GET /api/portfolio, without gaps', async () => {
    // The engine's FX job has stored the rates, so the actor (which loads them on activation) and
    // the read model value CAD the same way.
    await eventually(async () => (Number((await engine.db.knex('fx_rates').count({ n: '*' }).first())?.n) > 0 ? true : undefined), 20_000, 'the FX rates');
    const producer = createStreamProducer(engine.redis.client, streamKeys(engine.namespace));
    const setup = [
      envelope('accounts.synced', {
        provider: 'snaptrade',
        connections: [{ externalId: authorization, brokerageSlug: 'QUESTRADE', brokerageName: 'Questrade', status: 'active' }],
        accounts: [
          { externalId: margin, connectionExternalId: authorization, name: 'Margin', numberMasked: '••1234', institutionName: 'Questrade', currency: 'USD', tradingAllowed: true },
          { externalId: tfsa, connectionExternalId: authorization, name: 'TFSA', numberMasked: '••5678', institutionName: 'Questrade', currency: 'CAD', tradingAllowed: true },
        ],
        fetchedAt: new Date().toISOString(),
      }),
      positionsSynced(margin, '2026-11-30T15:00:00.000Z', [at(AAPL, 10, 190.12, 150.5), at(MSFT, 5, 411.3, 300)], [snapBalance('USD', 1250.75)]),
      positionsSynced(tfsa, '2026-11-30T15:00:01.000Z', [at(SHOP, 12, 98.4, 70.25), at(AAPL, 3.5, 190.12, 170)], [snapBalance('CAD', 310.2), snapBalance('USD', 40)]),
    ];
    await producer.appendMany(setup);
    await engine.applied(USER, (e) => e.id === setup.at(-1)!.id);

    const socket: ClientSocket = connectClient(engine.url, {
      auth: { token: await engine.token(USER) },
      transports: ['websocket'],
      reconnection: false,
      autoConnect: false,
    });
    // The store's watchdog (a second snapshot when none comes in time) is kept out of this.
    const store = createPortfolioStore(socket, { snapshotTimeoutMs: 120_000 });
    const snapshots: PortfolioSnapshot[] = [];
    const deltas: PortfolioDelta[] = [];
    socket.on('portfolio:snapshot', (s) => snapshots.push(s));
    socket.on('portfolio:delta', (d) => deltas.push(d));
    const lock = await engine.db.knex.transaction();
    try {
      await lock.raw('LOCK TABLE fx_rates IN ACCESS EXCLUSIVE MODE');
      await connected(socket);
      // The gateway has read the seq and the read model has read the rows; it now waits for the FX rates.
      await eventually(
        async () => {
          const { rows } = await engine.db.knex.raw<{ rows: unknown[] }>(
            `SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%fx_rates%'`,
          );
          return rows.length > 0 ? true : undefined;
        },
        20_000,
        'the snapshot build to wait for the FX rates',
      );

      // A sync result arrives: AAPL bought, MSFT sold, TSLA bought, cash spent.
      const change = positionsSynced(margin, '2026-11-30T15:05:00.000Z', [at(AAPL, 25, 191.05, 170.2), at(TSLA, 4, 250.5, 240)], [snapBalance('USD', 80.1)]);
      await producer.append(change);
      await engine.applied(USER, (e) => e.id === change.id);
      // The commit's delta is the one that brings TSLA (a delta of the set-up may still be in flight).
      await until(() => deltas.some((d) => d.upserted.some((h) => h.symbol === 'TSLA')), 'the delta of the commit to reach the browser', 20_000);
      expect(snapshots).toEqual([]);
      expect(store.state).toBeNull();
    } finally {
      await lock.rollback();
    }

    // The store applies what it buffered as soon as the snapshot is in.
    await until(() => store.state !== null, 'the snapshot', 20_000);
    const quantities = (holdings: readonly { symbol: string; quantity: string }[]) => Object.fromEntries(holdings.map((h) => [h.symbol, Number(h.quantity)]));
    const { status, body } = await engine.api<PortfolioResponse>(USER, 'GET', '/api/portfolio');
    expect(status).toBe(200);
    expect(quantities(body.holdings)).toEqual({ AAPL: 28.5, SHOP: 12, TSLA: 4 });
    const byId = <T extends { id: string }>(items: readonly T[]) => Object.fromEntries(items.map((x) => [x.id, x]));
    expect(store.totals()).toEqual(body.totals);
    // The holdings the commit's delta upserted come without their cost at the purchase days' rates
    // (purchaseFx: the actor does not read activities); the snapshot asked for at the sync's end has it.
    await expect.poll(() => byId(store.holdings())).toEqual(byId(body.holdings));
    // The accounts' cash moved with the commit: deltas carry holdings and totals, and the sync's end
    // (pushed with it) has the store ask for the lists again, also when it came before the snapshot.
    await expect.poll(() => store.state!.accounts).toEqual(body.accounts);
    // A delta of the set-up still in flight when the socket connected arrives stale (its changes are
    // in the snapshot) and is dropped; every delta after the snapshot's seq is applied, in order,
    // without a gap, and the commit's delta (the one bringing TSLA) is among them.
    const seq = snapshots[0]!.seq;
    const after = deltas.filter((d) => d.seq > seq);
    expect(after.map((d) => d.seq)).toEqual(after.map((_, i) => seq + 1 + i));
    expect(after.some((d) => d.upserted.some((h) => h.symbol === 'TSLA'))).toBe(true);
    // One snapshot asked for: the lists after the sync's end, none for a gap or a mismatch.
    expect(store.stats()).toEqual({
      snapshots: 2,
      deltasApplied: after.length,
      deltasStale: deltas.length - after.length,
      gaps: 0,
      mismatches: 0,
      snapshotRequests: 1,
    });
    // The snapshot was built from the rows before the commit.
    expect(quantities(snapshots[0]!.holdings)).toEqual({ AAPL: 13.5, MSFT: 5, SHOP: 12 });
    store.dispose();
    socket.disconnect();
  });
});
