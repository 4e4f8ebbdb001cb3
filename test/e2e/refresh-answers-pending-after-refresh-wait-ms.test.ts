import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestEngine, type TestEngine } from '../support/engine.ts';
import { positionsSynced, snaptradeUnits, userSettled, userStream } from '../support/user-stream.ts';

/**
 * `REFRESH_WAIT_MS`: a refresh whose sync is slower than the wait answers `status: "pending"`
 * before the sync has landed (nothing of it is in the user's stream when the answer comes), and
 * the sync still lands afterwards: its positions are applied (the checkpoint passes them).
 * The brokerage is made slow by the sandbox's latency injection on the positions request.
 */
const USER = 'e2e-refresh-wait-user';
const POSITIONS = 'AccountInformation_getAllAccountPositions';
const WAIT_MS = 300;
const LATENCY_MS = 3_000;
let engine: TestEngine;
let accountId: string;

beforeAll(async () => {
  engine = await startTestEngine({ env: { REFRESH_WAIT_MS: String(WAIT_MS), REFRESH_COOLDOWN_MS: '0' } });
  const control = engine.sandbox.control;
  await control.settings({ refreshCooldownMs: 0, refreshDelayMs: 0 });
  expect((await engine.api(USER, 'POST', '/api/snaptrade/connection-url', {})).status).toBe(200);
  const auth = await control.connect(USER, {
    brokerage: 'QUESTRADE',
    accounts: [{ name: 'Margin', currency: 'USD', positions: [{ symbol: 'AAPL', units: 10 }] }],
  });
  accountId = auth.accounts[0]!.id;
  await control.waitForWebhooks((d) => d.filter((x) => x.state === 'delivered').length >= 3, { userId: USER });
  await userSettled(engine, USER);
});
afterAll(async () => {
  await engine?.stop();
});

interface RefreshBody {
  status: string;
  message: string;
  applied: boolean;
  accounts: number;
  coalesced: boolean;
}

const refreshSync = (e: Parameters<typeof positionsSynced>[0]) => {
  const synced = positionsSynced(e);
  return synced?.reason === 'refresh' && synced.accountId === accountId ? synced : undefined;
};

describe('a refresh slower than REFRESH_WAIT_MS', () => {
  it('answers "pending" before its sync lands, and the sync lands afterwards', async () => {
    const control = engine.sandbox.control;
    // The brokerage changed; the refresh is what brings it, slowly.
    await control.setPositions(accountId, { positions: [{ symbol: 'AAPL', units: 20 }], notify: false });
    await control.addFault({ kind: 'latency', latencyMs: LATENCY_MS, times: 1, match: { operationId: POSITIONS, accountId } });

    const answer = await engine.api<RefreshBody>(USER, 'POST', '/api/snaptrade/refresh');
    // Taken at once, before anything else: what the stream holds when the answer is in.
    const streamAtAnswer = await userStream(engine, USER);

    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ status: 'pending', applied: false, accounts: 0, coalesced: false });
    expect(answer.body.message).toMatch(/still running/);
    expect(streamAtAnswer.some((x) => refreshSync(x.envelope))).toBe(false);

    // Afterwards: the refresh's positions are appended and applied.
    await engine.applied(USER, (e) => refreshSync(e) !== undefined, 15_000);
    const landed = (await userStream(engine, USER)).map((x) => refreshSync(x.envelope)).find(Boolean)!;
    expect(snaptradeUnits(landed)).toEqual({ AAPL: 20 });
    const { body } = await engine.api<{ holdings: { symbol: string; quantity: string }[] }>(USER, 'GET', '/api/portfolio');
    expect(body.holdings.map((h) => [h.symbol, h.quantity])).toEqual([['AAPL', '20']]);
    // One refresh of the connection: the pending answer did not start another.
    expect(await control.requestCount({ operationId: 'Connections_refreshBrokerageAuthorization', userId: USER })).toBe(1);
  });
});
