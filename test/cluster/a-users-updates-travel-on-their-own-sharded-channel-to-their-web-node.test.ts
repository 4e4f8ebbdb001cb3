import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { userRoom } from '../../src/realtime/events.ts';
import { realtimeKeys } from '../../src/realtime/realtime-keys.ts';
import { roomChannel } from '../../src/realtime/sharded-channels.ts';
import { connected, createRealtimeHarness, holding, record, totalsOf, uniqueUser, until, type RealtimeHarness, type WebNode } from '../realtime/realtime-harness.ts';
import { startTestRedisCluster, type TestRedisCluster } from '../support/redis-cluster.ts';

/**
 * Two web nodes and a worker on a Redis Cluster (3 masters, 3 replicas). socket.io uses sharded
 * pub/sub there: each user's room has a channel of its own, carried by the one master serving its
 * slot and heard only by the web nodes with a socket in the room. So the worker's delta reaches the
 * user's socket whichever node holds it, the publish counts exactly the nodes that heard it, no
 * node holds a classic (cluster-wide) subscription, and a user's session end reaches the tab
 * before the socket closes.
 */
let cluster: TestRedisCluster;
let h: RealtimeHarness;
let nodes: WebNode[];

beforeAll(async () => {
  cluster = await startTestRedisCluster();
  h = await createRealtimeHarness({ cluster });
  nodes = await Promise.all([h.startWebNode(), h.startWebNode()]);
});
afterAll(async () => {
  await h?.close();
});

const masters = () => cluster.clusterClient.nodes('master') as Redis[];

/** How many subscribers each master has on a sharded channel (only its slot's master can have any). */
async function shardSubscribers(channel: string): Promise<number[]> {
  return Promise.all(masters().map(async (m) => Number(((await m.call('PUBSUB', 'SHARDNUMSUB', channel)) as [string, number])[1])));
}

describe('realtime on a Redis Cluster', () => {
  it("delivers a worker's delta on the user's own sharded channel to their socket on the other node, and to no one else", async () => {
    const user = uniqueUser('cluster-rt');
    const other = uniqueUser('cluster-rt-other');
    const holdings = [holding(user, 'AAPL', '190.00')];
    h.book.set(user, holdings);
    h.book.set(other, [holding(other, 'MSFT', '410.00')]);
    const socket = h.connect(nodes[1]!, { token: await h.token(user) });
    const otherSocket = h.connect(nodes[0]!, { token: await h.token(other) });
    const received = record(socket);
    const otherReceived = record(otherSocket);
    await Promise.all([connected(socket), connected(otherSocket)]);
    await until(() => received.snapshots.length === 1 && otherReceived.snapshots.length === 1, 'both snapshots');

    // One node (the one holding the socket) listens on the user's channel, on one master; no
    // node listens the classic way (a PSUBSCRIBE every master would forward every message to).
    const channel = roomChannel(realtimeKeys(h.namespace).channelPrefix, userRoom(user));
    expect((await shardSubscribers(channel)).sort()).toEqual([0, 0, 1]);
    for (const master of masters()) expect(Number(await master.call('PUBSUB', 'NUMPAT'))).toBe(0);

    const updated = holding(user, 'AAPL', '195.25');
    const seq = await h.worker.sequence.next(user);
    const heardBy = await h.worker.emitter.delta(user, { seq, asOf: new Date().toISOString(), totals: totalsOf([updated]), upserted: [updated], repriced: [], removed: [] });
    expect(heardBy).toBe(1);
    await until(() => received.deltas.length === 1, "the user's delta on the other node");
    expect(received.deltas[0]!.seq).toBe(seq);
    expect(received.deltas[0]!.upserted[0]!.price).toBe('195.25');
    // Another node's socket of another user got nothing.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(otherReceived.deltas).toEqual([]);
  });

  it("ends a user's sessions: the tab is told why before its socket closes, and the room's channel is given up", async () => {
    const user = uniqueUser('cluster-rt-ended');
    h.book.set(user, [holding(user, 'AAPL', '190.00')]);
    const socket = h.connect(nodes[0]!, { token: await h.token(user) });
    const events: string[] = [];
    socket.on('session:ended', (ended) => events.push(`ended:${ended.reason}`));
    socket.on('disconnect', (reason) => events.push(`disconnect:${reason}`));
    const received = record(socket);
    await connected(socket);
    // The snapshot comes once the socket is in its room and the room's channel is heard.
    await until(() => received.snapshots.length === 1, 'the snapshot');
    const channel = roomChannel(realtimeKeys(h.namespace).channelPrefix, userRoom(user));

    await h.worker.emitter.endSessions(user, { reason: 'account_deleted', message: 'Your account was deleted.', at: new Date().toISOString() });
    await until(() => events.length === 2, 'the end and the disconnect');
    expect(events).toEqual(['ended:account_deleted', 'disconnect:io server disconnect']);
    // The last socket of the room left: the node unsubscribes its channel.
    await expect.poll(async () => (await shardSubscribers(channel)).reduce((a, b) => a + b, 0)).toBe(0);
  });
});
