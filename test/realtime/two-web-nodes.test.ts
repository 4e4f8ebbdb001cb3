import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConnectionStatus, PortfolioDelta, SyncStatus } from '../../src/realtime/events.ts';
import {
  connected,
  createRealtimeHarness,
  holding,
  record,
  totalsOf,
  uniqueUser,
  until,
  type RealtimeHarness,
  type WebNode,
} from './realtime-harness.ts';

let h: RealtimeHarness;
let nodeA: WebNode;
let nodeB: WebNode;

beforeAll(async () => {
  h = await createRealtimeHarness();
  [nodeA, nodeB] = await Promise.all([h.startWebNode(), h.startWebNode()]);
});
afterAll(async () => {
  await h.close();
});

describe('two web nodes on one Redis', () => {
  it('a delta emitted by a worker reaches the user on both nodes, and nobody else', async () => {
    expect(nodeA.url).not.toBe(nodeB.url);
    const user = uniqueUser('ann');
    const other = uniqueUser('bob');
    h.book.set(user, [holding(user, 'AAPL', '190.00')]);
    h.book.set(other, [holding(other, 'AAPL', '190.00')]);
    const onA = h.connect(nodeA, { token: await h.token(user) });
    const onB = h.connect(nodeB, { token: await h.token(user) });
    const otherOnB = h.connect(nodeB, { token: await h.token(other) });
    const [a, b, o] = [record(onA), record(onB), record(otherOnB)];
    const statuses: { sync: SyncStatus[]; connection: ConnectionStatus[] }[] = [];
    for (const socket of [onA, onB]) {
      const seen = { sync: [] as SyncStatus[], connection: [] as ConnectionStatus[] };
      socket.on('sync:status', (s) => seen.sync.push(s));
      socket.on('connection:status', (s) => seen.connection.push(s));
      statuses.push(seen);
    }
    await Promise.all([connected(onA), connected(onB), connected(otherOnB)]);
    await until(() => a.snapshots.length + b.snapshots.length + o.snapshots.length === 3, 'three snapshots');

    const updated = holding(user, 'AAPL', '191.25');
    const delta: PortfolioDelta = {
      seq: await h.worker.sequence.next(user),
      asOf: new Date().toISOString(),
      totals: totalsOf([updated]),
      upserted: [updated],
      repriced: [],
      removed: [],
    };
    const nodesReached = await h.worker.emitter.delta(user, delta);
    expect(nodesReached).toBe(2);
    await until(() => a.deltas.length === 1 && b.deltas.length === 1, 'the delta on both nodes');
    expect(a.deltas[0]).toEqual(delta);
    expect(b.deltas[0]).toEqual(delta);

    const sync: SyncStatus = { state: 'syncing', accountId: `${user}-acct-1`, at: new Date().toISOString() };
    const connection: ConnectionStatus = {
      connectionId: 'conn-1',
      brokerage: 'Questrade',
      status: 'broken',
      message: 'reauthorize',
      at: new Date().toISOString(),
    };
    await h.worker.emitter.syncStatus(user, sync);
    await h.worker.emitter.connectionStatus(user, connection);
    await until(() => statuses.every((s) => s.sync.length === 1 && s.connection.length === 1), 'statuses on both nodes');
    expect(statuses.map((s) => [s.sync[0], s.connection[0]])).toEqual([
      [sync, connection],
      [sync, connection],
    ]);

    // A worker-built snapshot goes through the same rooms.
    const pushed = { ...(await h.book.snapshot(user)), seq: delta.seq };
    await h.worker.emitter.snapshot(user, pushed);
    await until(() => a.snapshots.length === 2 && b.snapshots.length === 2, 'the pushed snapshot on both nodes');

    // Bob, connected to node B too, got only his own connect snapshot. A status sent to him after
    // all of Ann's messages, on the same publisher, marks the point by which any of hers would have
    // reached him.
    const bobsMarker: SyncStatus[] = [];
    otherOnB.on('sync:status', (s) => bobsMarker.push(s));
    await h.worker.emitter.syncStatus(other, { state: 'idle', at: new Date().toISOString() });
    await until(() => bobsMarker.length === 1, "Bob's own marker");
    expect(o.deltas).toEqual([]);
    expect(o.snapshots).toHaveLength(1);
    expect(o.snapshots[0]?.holdings.map((x) => x.id)).toEqual([`${other}/AAPL`]);
  });

  it('a node that closes stops delivering; the other goes on', async () => {
    const user = uniqueUser('carl');
    h.book.set(user, [holding(user, 'MSFT', '400.00')]);
    const extra = await h.startWebNode();
    const onExtra = h.connect(extra, { token: await h.token(user) });
    const onA = h.connect(nodeA, { token: await h.token(user) });
    const [x, a] = [record(onExtra), record(onA)];
    const extraGone = new Promise((resolve) => onExtra.once('disconnect', resolve));
    await Promise.all([connected(onExtra), connected(onA)]);
    await extra.close();
    await extraGone;
    const m = holding(user, 'MSFT', '401.00');
    const seq = await h.worker.sequence.next(user);
    expect(
      await h.worker.emitter.delta(user, { seq, asOf: new Date().toISOString(), totals: totalsOf([m]), upserted: [m], repriced: [], removed: [] }),
    ).toBe(2); // nodes A and B are subscribed, the closed one is not
    await until(() => a.deltas.length === 1, 'the delta on node A');
    expect(x.deltas).toEqual([]);
  });
});
