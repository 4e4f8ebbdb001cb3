import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPortfolioStore, type StoreEvent } from '../../src/realtime/client/portfolio-store.ts';
import { fullRepricingTuple, repricingTuple, type HoldingView, type PortfolioDelta, type RepricingTuple } from '../../src/realtime/events.ts';
import {
  connected,
  createRealtimeHarness,
  holding,
  totalsOf,
  uniqueUser,
  until,
  type RealtimeHarness,
  type WebNode,
} from './realtime-harness.ts';

let h: RealtimeHarness;
let node: WebNode;

beforeAll(async () => {
  h = await createRealtimeHarness();
  node = await h.startWebNode();
});
afterAll(async () => {
  await h.close();
});

function deltaOf(seq: number, holdings: HoldingView[], removed: string[] = []): PortfolioDelta {
  return { seq, asOf: new Date().toISOString(), totals: totalsOf(holdings), upserted: holdings, repriced: [], removed };
}

const prices = (holdings: HoldingView[]) => Object.fromEntries(holdings.map((x) => [x.symbol, x.price]));

describe('the browser portfolio store', () => {
  it('applies deltas in order, ignores stale ones, and recovers from a gap with a snapshot', async () => {
    const user = uniqueUser('store');
    h.book.set(user, [holding(user, 'AAPL', '190.00'), holding(user, 'MSFT', '400.00')]);
    const socket = h.connect(node, { token: await h.token(user) });
    const store = createPortfolioStore(socket);
    const events: StoreEvent[] = [];
    store.subscribe((e) => events.push(e));
    await connected(socket);
    await until(() => store.state !== null, 'the first snapshot');
    expect(store.state?.seq).toBe(0);
    expect(prices(store.holdings())).toEqual({ AAPL: '190.00', MSFT: '400.00' });

    // seq 1: a price change; seq 2: MSFT sold, TSLA bought.
    await h.worker.emitter.delta(user, deltaOf(await h.worker.sequence.next(user), [holding(user, 'AAPL', '191.00')]));
    await h.worker.emitter.delta(
      user,
      deltaOf(await h.worker.sequence.next(user), [holding(user, 'TSLA', '250.00')], [`${user}/MSFT`]),
    );
    await until(() => store.state?.seq === 2, 'deltas 1 and 2');
    expect(prices(store.holdings())).toEqual({ AAPL: '191.00', TSLA: '250.00' });
    expect(store.totals()?.invested).toBe('2500.00');

    // A stale delta (seq 1 again, older values) changes nothing.
    await h.worker.emitter.delta(user, deltaOf(1, [holding(user, 'AAPL', '150.00')]));
    await until(() => store.stats().deltasStale === 1, 'the stale delta to be dropped');
    expect(prices(store.holdings())).toEqual({ AAPL: '191.00', TSLA: '250.00' });

    // seq 3 is lost on the way (numbered, never delivered); seq 4 arrives: a gap.
    // (The portfolio the snapshot will read already has both changes: they were committed first.)
    const lost = await h.worker.sequence.next(user);
    h.book.set(user, [holding(user, 'AAPL', '193.00'), holding(user, 'TSLA', '251.00'), holding(user, 'AMZN', '180.00')]);
    const builds = h.book.requested.length;
    const afterGap = await h.worker.sequence.next(user);
    expect(afterGap).toBe(lost + 1);
    await h.worker.emitter.delta(user, deltaOf(afterGap, [holding(user, 'AAPL', '193.00')]));
    await until(() => store.state?.seq === 4, 'the snapshot that closes the gap');
    expect(events).toContainEqual({ type: 'gap', expected: 3, received: 4 });
    expect(store.stats()).toMatchObject({ gaps: 1, snapshotRequests: 1, snapshots: 2 });
    expect(h.book.requested.length).toBe(builds + 1);
    expect(prices(store.holdings())).toEqual({ AAPL: '193.00', AMZN: '180.00', TSLA: '251.00' });

    // And it goes on from there.
    await h.worker.emitter.delta(user, deltaOf(await h.worker.sequence.next(user), [holding(user, 'AMZN', '181.00')]));
    await until(() => store.state?.seq === 5, 'delta 5');
    expect(store.holdings().find((x) => x.symbol === 'AMZN')?.price).toBe('181.00');
    store.dispose();
  });

  it('a delta that arrives before the connect snapshot is applied on top of it', async () => {
    const user = uniqueUser('early');
    h.book.set(user, [holding(user, 'AAPL', '100.00')]);
    let release!: () => void;
    h.book.gate = new Promise<void>((resolve) => (release = resolve));
    const socket = h.connect(node, { token: await h.token(user) });
    const store = createPortfolioStore(socket);
    try {
      await connected(socket);
      // The gateway joined the room and read seq 0, and is building the snapshot; a worker commits
      // a change the snapshot will not include and sends its delta, which overtakes the snapshot.
      await until(() => h.book.requested.includes(user), 'the snapshot build to start');
      const seq = await h.worker.sequence.next(user);
      const received = new Promise<void>((resolve) => socket.once('portfolio:delta', () => resolve()));
      await h.worker.emitter.delta(user, deltaOf(seq, [holding(user, 'AAPL', '105.00')]));
      // The delta reached the browser (the positive marker) and was held back, not applied alone.
      await received;
      expect(store.state).toBeNull();
    } finally {
      h.book.gate = undefined;
      release();
    }
    await until(() => store.state?.seq === 1, 'the snapshot plus the buffered delta');
    expect(store.holdings()[0]?.price).toBe('105.00');
    expect(store.stats()).toMatchObject({ snapshots: 1, deltasApplied: 1, gaps: 0, snapshotRequests: 0 });
    store.dispose();
  });

  it('applies repricings to its holdings, and one that does not fit its copy brings a fresh snapshot', async () => {
    const user = uniqueUser('reprice');
    const original = holding(user, 'AAPL', '190.00');
    h.book.set(user, [original]);
    const socket = h.connect(node, { token: await h.token(user) });
    const store = createPortfolioStore(socket);
    await connected(socket);
    await until(() => store.state !== null, 'the first snapshot');

    const moved = holding(user, 'AAPL', '192.00');
    const repricing = (of: HoldingView) => ({
      id: of.id,
      price: of.price,
      priceAsOf: of.priceAsOf,
      marketValue: of.marketValue,
      marketValueBase: of.marketValueBase,
      unrealizedPl: of.unrealizedPl,
      dayChange: of.dayChange,
      unrealizedPlBase: of.unrealizedPlBase,
      dayChangeBase: of.dayChangeBase,
      dayChangeMissing: of.dayChangeMissing,
      accountValues: of.accounts.map((a) => a.marketValue),
      accountValuesBase: of.accounts.map((a) => a.marketValueBase),
    });
    await h.worker.emitter.delta(user, { ...deltaOf(await h.worker.sequence.next(user), []), totals: totalsOf([moved]), repriced: [repricingTuple(repricing(moved))] });
    await until(() => store.state?.seq === 1, 'the repricing');
    const { price, priceAsOf, marketValue, marketValueBase, unrealizedPl, dayChange, unrealizedPlBase, dayChangeBase } = moved;
    expect(store.holdings()).toEqual([
      {
        ...original,
        ...{ price, priceAsOf, marketValue, marketValueBase, unrealizedPl, dayChange, unrealizedPlBase, dayChangeBase },
        accounts: original.accounts.map((a, i) => ({ ...a, marketValue: moved.accounts[i]!.marketValue, marketValueBase: moved.accounts[i]!.marketValueBase })),
      },
    ]);

    // The server reprices a holding this copy does not have (it missed the upsert): resync.
    const unknown = holding(user, 'TSLA', '250.00');
    h.book.set(user, [moved, unknown]);
    await h.worker.emitter.delta(user, { ...deltaOf(await h.worker.sequence.next(user), []), totals: totalsOf([moved, unknown]), repriced: [repricingTuple(repricing(unknown))] });
    await until(() => store.stats().snapshots === 2, 'the snapshot that replaces the diverged copy');
    expect(store.stats()).toMatchObject({ mismatches: 1, snapshotRequests: 1 });
    expect(prices(store.holdings())).toEqual({ AAPL: '192.00', TSLA: '250.00' });

    // A repricing in a form this page does not know (another release's, say) is not guessed at: resync.
    const later = holding(user, 'AAPL', '193.00');
    h.book.set(user, [later, unknown]);
    const unknownForm = [...fullRepricingTuple(repricing(later)), 'a field this page does not know'] as unknown as RepricingTuple;
    await h.worker.emitter.delta(user, { ...deltaOf(await h.worker.sequence.next(user), []), totals: totalsOf([later, unknown]), repriced: [unknownForm] });
    await until(() => store.stats().snapshots === 3, 'the snapshot after a repricing of an unknown form');
    expect(store.stats()).toMatchObject({ mismatches: 2, snapshotRequests: 2 });
    expect(prices(store.holdings())).toEqual({ AAPL: '193.00', TSLA: '250.00' });
    store.dispose();
  });

  it('a store created on an already connected socket asks for the snapshot it missed', async () => {
    const user = uniqueUser('late-store');
    h.book.set(user, [holding(user, 'NVDA', '900.00')]);
    const socket = h.connect(node, { token: await h.token(user) });
    await connected(socket);
    const store = createPortfolioStore(socket);
    await until(() => store.state !== null, 'the requested snapshot');
    expect(store.holdings().map((x) => x.symbol)).toEqual(['NVDA']);
    expect(store.stats().snapshotRequests).toBe(1);
    store.dispose();
  });
});
