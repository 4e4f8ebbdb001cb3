import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createSymbolCollector, type SymbolCollector } from '../../src/market/symbol-collector.ts';
import { loadSymbolSnapshot, parseSymbolChange, type SymbolChange } from '../../src/market/symbol-changes.ts';
import { streamKeys, type StreamKeys } from '../../streams/keys.ts';
import { createTestRedis, type TestRedis } from '../support/redis.ts';

let redis: TestRedis;
let keys: StreamKeys;
let collector: SymbolCollector;

beforeEach(async () => {
  redis = await createTestRedis();
  keys = streamKeys(redis.prefix);
  collector = createSymbolCollector(redis.client, keys);
});

afterEach(async () => {
  await redis.cleanup();
});

async function changes(): Promise<Array<Pick<SymbolChange, 'op' | 'symbol'>>> {
  const entries = await redis.client.xrange(keys.symbolChanges(), '-', '+');
  return entries.map(([id, fields]) => {
    const change = parseSymbolChange(id, fields);
    if (!change) throw new Error(`not a symbol change: ${JSON.stringify(fields)}`);
    return { op: change.op, symbol: change.symbol };
  });
}

describe('symbol collector', () => {
  it('appends one add when two users hold the same symbol, no remove when one leaves, a remove when both have left', async () => {
    expect(await collector.setUserSymbols('u1', ['AAPL', 'MSFT'])).toEqual({
      added: ['AAPL', 'MSFT'],
      removed: [],
      appeared: ['AAPL', 'MSFT'],
      disappeared: [],
    });
    expect(await collector.setUserSymbols('u2', ['AAPL'])).toEqual({ added: ['AAPL'], removed: [], appeared: [], disappeared: [] });
    expect(await changes()).toEqual([
      { op: 'add', symbol: 'AAPL' },
      { op: 'add', symbol: 'MSFT' },
    ]);
    expect(Object.fromEntries(await collector.holderCounts())).toEqual({ AAPL: 2, MSFT: 1 });

    // u1 sells AAPL: u2 still holds it, so nothing is unsubscribed.
    expect(await collector.setUserSymbols('u1', ['MSFT'])).toEqual({ added: [], removed: ['AAPL'], appeared: [], disappeared: [] });
    expect(await changes()).toHaveLength(2);
    expect(await collector.currentSymbols()).toEqual(['AAPL', 'MSFT']);

    // u2 leaves: nobody holds AAPL any more.
    expect(await collector.removeUser('u2')).toEqual({ added: [], removed: ['AAPL'], appeared: [], disappeared: ['AAPL'] });
    expect((await changes()).at(-1)).toEqual({ op: 'remove', symbol: 'AAPL' });
    expect(await collector.currentSymbols()).toEqual(['MSFT']);
    expect(Object.fromEntries(await collector.holderCounts())).toEqual({ MSFT: 1 });
    expect(await collector.userSymbols('u2')).toEqual([]);

    await collector.removeUser('u1');
    expect(await changes()).toEqual([
      { op: 'add', symbol: 'AAPL' },
      { op: 'add', symbol: 'MSFT' },
      { op: 'remove', symbol: 'AAPL' },
      { op: 'remove', symbol: 'MSFT' },
    ]);
    expect(await collector.currentSymbols()).toEqual([]);
    // Nothing is left behind for users who hold nothing.
    expect(await redis.client.exists(keys.userSymbols('u1'), keys.userSymbols('u2'), keys.symbolHolders())).toBe(0);
  });

  it('changes nothing when called again with the same set (at-least-once callers)', async () => {
    await collector.setUserSymbols('u1', ['TSLA', 'NVDA', 'TSLA']);
    const before = await changes();
    const counts = Object.fromEntries(await collector.holderCounts());
    for (let i = 0; i < 3; i++) {
      expect(await collector.setUserSymbols('u1', ['NVDA', 'TSLA'])).toEqual({ added: [], removed: [], appeared: [], disappeared: [] });
    }
    expect(await changes()).toEqual(before);
    expect(Object.fromEntries(await collector.holderCounts())).toEqual(counts);
    expect(counts).toEqual({ NVDA: 1, TSLA: 1 });

    await collector.removeUser('u1');
    await collector.removeUser('u1');
    expect((await changes()).filter((c) => c.op === 'remove')).toHaveLength(2);
  });

  it('keeps counts exact under concurrent calls from many users', async () => {
    const users = Array.from({ length: 40 }, (_, i) => `user-${i}`);
    // Every user holds SPY; even users also hold QQQ. Calls race, each repeated twice.
    await Promise.all(users.flatMap((u, i) => [0, 1].map(() => collector.setUserSymbols(u, i % 2 === 0 ? ['SPY', 'QQQ'] : ['SPY']))));
    expect(Object.fromEntries(await collector.holderCounts())).toEqual({ SPY: 40, QQQ: 20 });
    expect(await changes()).toEqual([
      { op: 'add', symbol: 'QQQ' },
      { op: 'add', symbol: 'SPY' },
    ]);
    await Promise.all(users.map((u) => collector.removeUser(u)));
    expect(await collector.currentSymbols()).toEqual([]);
    expect((await changes()).slice(2).map((c) => c.op)).toEqual(['remove', 'remove']);
  });

  it('gives a snapshot whose last change id is where a reader picks up', async () => {
    expect(await loadSymbolSnapshot(redis.client, keys)).toEqual({ symbols: [], lastChangeId: '0-0' });
    await collector.setUserSymbols('u1', ['AMD', 'IBM']);
    const snapshot = await loadSymbolSnapshot(redis.client, keys);
    expect(snapshot.symbols).toEqual(['AMD', 'IBM']);
    await collector.setUserSymbols('u1', ['IBM', 'INTC']);
    const after = await redis.client.xrange(keys.symbolChanges(), `(${snapshot.lastChangeId}`, '+');
    expect(after.map(([id, fields]) => parseSymbolChange(id, fields)).map((c) => `${c?.op} ${c?.symbol}`)).toEqual(['add INTC', 'remove AMD']);
  });

  it('puts every key it writes under one cluster hash tag', async () => {
    await collector.setUserSymbols('u1', ['GLD']);
    const written = await redis.client.keys(`${redis.prefix}*`);
    expect(written.sort()).toEqual([keys.symbolChanges(), keys.symbolHolders(), keys.userSymbols('u1')].sort());
    for (const key of written) expect(key).toContain(':{symbols}:');
  });

  it('rejects malformed symbols and user ids without storing anything', async () => {
    await expect(collector.setUserSymbols('u1', ['aapl'])).rejects.toThrow(/bad symbol/);
    await expect(collector.setUserSymbols('u1', [''])).rejects.toThrow(/bad symbol/);
    await expect(collector.setUserSymbols('', ['AAPL'])).rejects.toThrow(/bad user id/);
    expect(await collector.currentSymbols()).toEqual([]);
    expect(await collector.setUserSymbols('u1', ['BRK.B'])).toMatchObject({ appeared: ['BRK.B'] });
  });
});
