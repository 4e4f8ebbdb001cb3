import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { aggregateHoldings, reaggregateSymbols, type AccountPositions } from '../../src/portfolio/aggregate-holdings.ts';
import { accountArb, accountsArb, ACCOUNT_IDS, baseCurrencyArb, fxArb, pricesArb } from './portfolio-arbitraries.ts';
import { projection } from './provider-payloads.ts';

/** A step: replace (or remove, with null) one or two accounts at once. */
const stepArb = fc.uniqueArray(fc.tuple(fc.constantFrom(...ACCOUNT_IDS), fc.option(accountArb, { nil: null })), {
  minLength: 1,
  maxLength: 2,
  selector: ([id]) => id,
});

describe('incremental re-aggregation equals full recomputation', () => {
  it('after any sequence of account replacements', () => {
    fc.assert(
      fc.property(accountsArb, pricesArb, fxArb, baseCurrencyArb, fc.array(stepArb, { maxLength: 8 }), (accounts, prices, fx, base, steps) => {
        const context = { baseCurrency: base, fx, prices };
        let state = aggregateHoldings(accounts, context);
        for (const step of steps) {
          const changed = new Map<string, AccountPositions | null>(step);
          const { state: next, changes } = reaggregateSymbols(state, changed);
          const full = aggregateHoldings(next.accounts, context);
          expect(projection(next)).toEqual(projection(full));
          // The reported change set is exactly the difference between the two states.
          for (const key of changes.removed) expect(next.holdings.has(key)).toBe(false);
          for (const holding of changes.upserted) expect(next.holdings.get(holding.identityKey)).toBe(holding);
          for (const [key, holding] of next.holdings) {
            if (state.holdings.get(key) !== holding) expect(changes.upserted).toContain(holding);
          }
          state = next;
        }
      }),
      { numRuns: 300 },
    );
  });
});
