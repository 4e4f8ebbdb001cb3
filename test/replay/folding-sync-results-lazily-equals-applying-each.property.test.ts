import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  emptyProjection,
  fromSnapshot,
  isStaleSync,
  normalizeSynced,
  project,
  settle,
  toSnapshot,
  type PositionsSyncedPayload,
} from '../../actors/portfolio/portfolio-projection.ts';
import type { NormalizedAccountData } from '../../src/portfolio/index.ts';
import { ENVELOPE_SCHEMA_VERSION, type Envelope } from '../../streams/envelope.ts';
import { AAPL, snapBalance, snapPosition, snapPositionsBody } from '../portfolio/provider-payloads.ts';

/**
 * A replay's fold normalizes an account's sync results lazily (only the newest, when it decides
 * the outcome alone). Whatever the order of their as-of times, and with malformed results among
 * them, and with the account removed and listed again in between, the outcome equals the actor's
 * rule applied to each result in turn: normalize (a malformed one changes nothing), drop one
 * older than the applied positions, else replace. A snapshot taken midway and restored changes
 * nothing either, nor does giving the fold the entries' text (what a rebuild does: pending results
 * keep the text and are decoded again when settled).
 */
const USER = 'fold-user';
const TIMES = ['2026-11-02T14:30:00.000Z', '2026-11-02T14:31:00.000Z', '2026-11-02T14:32:00.000Z', '2026-11-02T14:33:00.000Z'];

type Step = { kind: 'sync'; account: 'a' | 'b'; time: number; units: number; malformed: boolean } | { kind: 'relist'; accounts: ('a' | 'b')[] } | { kind: 'snapshot' };

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  { weight: 8, arbitrary: fc.record({ kind: fc.constant('sync' as const), account: fc.constantFrom('a' as const, 'b' as const), time: fc.integer({ min: 0, max: 3 }), units: fc.integer({ min: 1, max: 50 }), malformed: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('relist' as const), accounts: fc.subarray(['a', 'b'] as ('a' | 'b')[]) }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'snapshot' as const }) },
);

let n = 0;
function envelope(type: string, payload: unknown): Envelope {
  return { id: `e${n++}`, type, user: USER, partition: 0, time: TIMES[0]!, schema: ENVELOPE_SCHEMA_VERSION, payload };
}

function listing(accounts: readonly string[]): Envelope {
  return envelope('accounts.synced', {
    provider: 'snaptrade',
    connections: [{ externalId: 'auth', brokerageSlug: 'QUESTRADE', brokerageName: 'Questrade', status: 'active' }],
    accounts: accounts.map((a) => ({ externalId: a, connectionExternalId: 'auth', name: a, numberMasked: null, institutionName: 'Questrade', currency: 'USD', tradingAllowed: true })),
  });
}

function sync(step: Extract<Step, { kind: 'sync' }>): PositionsSyncedPayload {
  const time = TIMES[step.time]!;
  return {
    provider: 'snaptrade',
    accountId: step.account,
    positions: step.malformed ? { results: 'not a list', data_freshness: { as_of: time } } : snapPositionsBody(time, [snapPosition(AAPL, { units: String(step.units), price: '100' })]),
    balances: [snapBalance('USD', step.units)],
    asOf: time,
    fetchedAt: time,
  };
}

describe('lazy normalization of sync results in the replay fold', () => {
  it('equals the actor applying each result in turn', () => {
    fc.assert(
      fc.property(fc.array(stepArb, { minLength: 1, maxLength: 25 }), (steps) => {
        let state = emptyProjection(USER);
        let fromText = emptyProjection(USER);
        const fold = (event: Envelope, id: string) => {
          project(state, event, id);
          // The text as a string or as a Buffer (what the partition folds pass), by turns.
          const text = JSON.stringify(event);
          project(fromText, event, id, {}, Number(id.split('-')[0]) % 2 ? text : Buffer.from(text));
        };
        fold(listing(['a', 'b']), '1-0');
        // The oracle: per account, the actor's rule applied eagerly.
        const listed = new Set(['a', 'b']);
        const applied = new Map<string, NormalizedAccountData>();
        const asOf = new Map<string, string | null>([['a', null], ['b', null]]);
        let seq = 2;
        for (const step of steps) {
          const id = `${seq++}-0`;
          if (step.kind === 'snapshot') {
            state = fromSnapshot(JSON.parse(JSON.stringify(toSnapshot(state))));
            fromText = fromSnapshot(JSON.parse(JSON.stringify(toSnapshot(fromText))));
            continue;
          }
          if (step.kind === 'relist') {
            fold(listing(step.accounts), id);
            for (const a of ['a', 'b']) {
              if (!step.accounts.includes(a as 'a')) {
                listed.delete(a);
                applied.delete(a);
              } else listed.add(a);
            }
            continue;
          }
          const payload = sync(step);
          fold(envelope('positions.synced', payload), id);
          if (!listed.has(step.account)) continue;
          let data: NormalizedAccountData;
          try {
            data = normalizeSynced(payload);
          } catch {
            continue;
          }
          if (isStaleSync(asOf.get(step.account) ?? null, data.asOf)) continue;
          applied.set(step.account, data);
          asOf.set(step.account, data.asOf);
        }
        for (const folded of [settle(state), settle(fromText)]) {
          for (const a of ['a', 'b']) {
            const key = `snaptrade:${a}`;
            expect(folded.accounts.has(key)).toBe(listed.has(a));
            if (!listed.has(a)) continue;
            expect(folded.accounts.get(key)!.positionsAsOf).toBe(asOf.get(a) ?? null);
            const expected = applied.get(a);
            const got = folded.positions.get(key);
            expect(got ? { asOf: got.asOf, positions: got.positions, balances: got.balances } : undefined).toEqual(expected ? { asOf: expected.asOf, positions: expected.positions, balances: expected.balances } : undefined);
          }
        }
      }),
      { numRuns: 300 },
    );
  });
});
