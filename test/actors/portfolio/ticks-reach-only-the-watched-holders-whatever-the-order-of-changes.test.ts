import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { TickerHolders } from '../../../actors/portfolio/ticker-holders.ts';

/**
 * The watched-holders index a tick is routed through stays equal to its definition (the holders of
 * the ticker who are watched) after any sequence of loads, commits, passivations and presence
 * changes, in any order: a user who starts being watched is reached at once, one who stops is not,
 * and a watched user's new holdings are followed.
 */
const USERS = ['u1', 'u2', 'u3', 'u4', 'u5'];
const TICKERS = ['AAPL', 'MSFT', 'SHOP', 'RY'];

type Step = { kind: 'set'; user: string; tickers: string[] } | { kind: 'remove'; user: string } | { kind: 'watch'; users: string[] };

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ kind: fc.constant('set' as const), user: fc.constantFrom(...USERS), tickers: fc.subarray(TICKERS) }),
  fc.record({ kind: fc.constant('remove' as const), user: fc.constantFrom(...USERS) }),
  fc.record({ kind: fc.constant('watch' as const), users: fc.subarray(USERS) }),
);

const sorted = (users: ReadonlySet<string> | undefined) => [...(users ?? [])].sort();

describe('the watched holders of each ticker', () => {
  it('are the holders who are watched, after any order of loads, commits, passivations and presence changes', () => {
    fc.assert(
      fc.property(fc.array(stepArb, { maxLength: 60 }), (steps) => {
        const index = new TickerHolders();
        const held = new Map<string, string[]>();
        let watched = new Set<string>();
        for (const step of steps) {
          if (step.kind === 'set') {
            index.set(step.user, step.tickers);
            held.set(step.user, step.tickers);
          } else if (step.kind === 'remove') {
            index.remove(step.user);
            held.delete(step.user);
          } else {
            index.watch(step.users);
            watched = new Set(step.users);
          }
          for (const ticker of TICKERS) {
            const holders = USERS.filter((u) => held.get(u)?.includes(ticker));
            expect(sorted(index.holders(ticker))).toEqual(holders);
            expect(sorted(index.watchedHolders(ticker))).toEqual(holders.filter((u) => watched.has(u)));
          }
        }
      }),
      { numRuns: 500 },
    );
  });

  it('keeps its own copy of the watched users: a set changed later by its owner changes nothing', () => {
    const index = new TickerHolders();
    index.set('u1', ['AAPL']);
    const users = new Set(['u1']);
    index.watch(users);
    users.delete('u1');
    expect(sorted(index.watchedHolders('AAPL'))).toEqual(['u1']);
  });
});
